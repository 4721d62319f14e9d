package audit

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// record is one audit line as the kube-apiserver writes it.
func record(stage, userAgent, verb, resource, name string, code int) string {
	return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","stage":"` + stage +
		`","requestURI":"/apis/apps/v1/namespaces/storage/` + resource + `/` + name + `","verb":"` + verb +
		`","user":{"username":"admin"},"userAgent":"` + userAgent +
		`","objectRef":{"resource":"` + resource + `","namespace":"storage","name":"` + name +
		`","apiGroup":"apps","apiVersion":"v1"},"responseStatus":{"code":` + strconv.Itoa(code) +
		`},"requestReceivedTimestamp":"2026-03-01T12:00:00.000000Z","stageTimestamp":"2026-03-01T12:00:00.250000Z"}` + "\n"
}

func TestParseKeepsCompletedRequestsAndIgnoresALineBeingWritten(t *testing.T) {
	log := record(ResponseStarted, "dittofs-operator/v1", "watch", "statefulsets", "", 200) +
		record(ResponseComplete, "dittofs-operator/v1", "update", "statefulsets", "nas", 409) +
		record(ResponseComplete, "kube-scheduler/v1", "get", "statefulsets", "nas", 200) +
		`{"kind":"Event","stage":"ResponseComplete","verb":"cre` // still being written
	got, err := Parse(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	received := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	want := Event{
		Stage: ResponseComplete, Timestamp: received.Add(250 * time.Millisecond), Received: received,
		UserAgent: "dittofs-operator/v1", User: "admin", Verb: "update", APIGroup: "apps", APIVersion: "v1",
		Resource: "statefulsets", Namespace: "storage", Name: "nas",
		RequestURI: "/apis/apps/v1/namespaces/storage/statefulsets/nas", Code: 409,
	}
	if len(got) != 2 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("Parse = %+v, want 2 events, the first %+v", got, want)
	}
	mine := Filter(got, ByUserAgentPrefix("dittofs-operator/"))
	if len(mine) != 1 || mine[0].Verb != "update" {
		t.Errorf("the operator's requests = %+v, want the update only", mine)
	}
}

func TestParseRejectsACorruptLine(t *testing.T) {
	if _, err := Parse(strings.NewReader("not json\n")); err == nil {
		t.Error("Parse accepted a line that is not JSON")
	}
}

func TestTailFollowsOneClientFromWhereItOpened(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	write := func(s string) {
		t.Helper()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	before := record(ResponseComplete, "dittofs-operator/v1", "create", "statefulsets", "before", 201)
	write(before + before[:40]) // a line being written when the tail opens
	tail, err := OpenTail(path, "dittofs-operator/")
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()
	write(before[40:])

	watch := record(ResponseStarted, "dittofs-operator/v1", "watch", "statefulsets", "", 200)
	patch := record(ResponseComplete, "dittofs-operator/v1", "patch", "statefulsets", "nas", 200)
	write(watch + record(ResponseComplete, "kubectl/v1", "get", "statefulsets", "nas", 200) + patch[:30])
	got, err := tail.Poll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Stage != ResponseStarted || got[0].Verb != "watch" {
		t.Fatalf("first poll = %+v, want the operator's watch only", got)
	}
	write(patch[30:])
	got, err = tail.Poll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Verb != "patch" || got[0].Name != "nas" {
		t.Fatalf("second poll = %+v, want the patch completed across two writes", got)
	}
	if got, _ := tail.Poll(); len(got) != 0 {
		t.Errorf("a poll with nothing new = %+v", got)
	}
}
