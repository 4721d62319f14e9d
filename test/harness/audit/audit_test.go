package audit

import (
	"os"
	"path/filepath"
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

// Parse reads the lines a kube-apiserver writes: completed requests only,
// and never a last line that is still being written.
func TestParseKeepsCompletedRequestsAndIgnoresALineBeingWritten(t *testing.T) {
	log := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a","stage":"ResponseStarted","requestURI":"/api/v1/pods?watch=true","verb":"watch","user":{"username":"admin"},"userAgent":"x/1","objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-01-02T03:04:05.000001Z","stageTimestamp":"2026-01-02T03:04:05.000002Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"b","stage":"ResponseComplete","requestURI":"/apis/apps/v1/namespaces/ns/statefulsets/web/status","verb":"update","user":{"username":"admin","groups":["system:masters"]},"userAgent":"dittofs-operator/v0.1 (linux/amd64)","objectRef":{"resource":"statefulsets","namespace":"ns","name":"web","apiGroup":"apps","apiVersion":"v1","subresource":"status"},"responseStatus":{"metadata":{},"code":409},"requestReceivedTimestamp":"2026-01-02T03:04:05.000001Z","stageTimestamp":"2026-01-02T03:04:06Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"c","stage":"ResponseComplete","requestURI":"/healthz","verb":"get","user":{"username":"admin"},"userAgent":"curl","responseStatus":{"code":200},"requestReceivedTimestamp":"2026-01-02T03:04:05Z","stageTimestamp":"2026-01-02T03:04:05Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseCompl`
	events, err := Parse(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Fatalf("got %d events, want 2: %+v", len(events), events)
	}
	e := events[0]
	want := Event{
		Stage:     ResponseComplete,
		Timestamp: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC), Received: time.Date(2026, 1, 2, 3, 4, 5, 1000, time.UTC),
		UserAgent: "dittofs-operator/v0.1 (linux/amd64)", User: "admin", Verb: "update", APIGroup: "apps",
		APIVersion: "v1", Resource: "statefulsets", Subresource: "status", Namespace: "ns", Name: "web",
		RequestURI: "/apis/apps/v1/namespaces/ns/statefulsets/web/status", Code: 409,
	}
	if !e.Timestamp.Equal(want.Timestamp) || !e.Received.Equal(want.Received) {
		t.Errorf("timestamps %v %v", e.Timestamp, e.Received)
	}
	e.Timestamp, e.Received = want.Timestamp, want.Received
	if e != want {
		t.Errorf("event\n got %+v\nwant %+v", e, want)
	}
	if n := len(Filter(events, ByUserAgentPrefix("dittofs-operator/"))); n != 1 {
		t.Errorf("ByUserAgentPrefix: %d events, want 1", n)
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
	defer func() { _ = f.Close() }()
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
	defer func() { _ = tail.Close() }()
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

// A 403 is an RBAC denial only when the authorizer said forbid; a write into
// a terminating namespace is allowed by RBAC and refused by admission.
func TestForbiddenTellsAnRBACDenialFromAnAdmissionRefusal(t *testing.T) {
	log := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/other/secrets/db","verb":"get","user":{"username":"system:serviceaccount:team-a:dittofs-operator"},"userAgent":"dittofs-operator/v0.1","objectRef":{"resource":"secrets","namespace":"other","name":"db","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","reason":"Forbidden","code":403},"requestReceivedTimestamp":"2026-01-02T03:04:05Z","stageTimestamp":"2026-01-02T03:04:05Z","annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":""}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/gone/configmaps","verb":"create","user":{"username":"system:serviceaccount:dittofs-system:dittofs-operator"},"userAgent":"dittofs-operator/v0.1","objectRef":{"resource":"configmaps","namespace":"gone","name":"web","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","reason":"Forbidden","code":403},"requestReceivedTimestamp":"2026-01-02T03:04:05Z","stageTimestamp":"2026-01-02T03:04:05Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"dittofs-operator\""}}
`
	events, err := Parse(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Fatalf("got %d events, want 2", len(events))
	}
	if !events[0].Forbidden() || events[0].Code != 403 {
		t.Errorf("RBAC denial not reported as forbidden: %+v", events[0])
	}
	if events[1].Forbidden() || events[1].Authorization != "allow" {
		t.Errorf("admission refusal reported as an RBAC denial: %+v", events[1])
	}
	if got := Filter(events, ByUser("system:serviceaccount:team-a:dittofs-operator")); len(got) != 1 || got[0].Namespace != "other" {
		t.Errorf("ByUser selected %+v", got)
	}
}
