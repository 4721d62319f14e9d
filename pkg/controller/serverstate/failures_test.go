package serverstate

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// Failures: an unreachable or refusing server, missing Secrets and
// Kubernetes errors are reported once, retried with backoff, and never
// blamed on the wrong party.

func TestUnreachableServerReportsOnceAndBacksOff(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.converge()
	f.srv.down = errConnRefused
	var warnings int
	for i := range 4 {
		err := f.sync()
		if !errors.Is(err, errRequeue) {
			t.Fatalf("pass %d: err = %v, want a backoff requeue", i, err)
		}
		for _, e := range f.events() {
			if strings.HasPrefix(e, "Warning") {
				warnings++
			}
		}
		if i > 0 && len(f.kubeWrites()) != 0 {
			t.Errorf("pass %d: Kubernetes writes %v while nothing changed", i, f.kubeWrites())
		}
	}
	if warnings != 1 {
		t.Errorf("%d Warning events across 4 passes, want exactly 1", warnings)
	}
	ds := f.server()
	c := condition(ds.Status.Conditions, ConditionStoresReady)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != ReasonServerUnreachable || !strings.Contains(c.Message, "connection refused") {
		t.Errorf("StoresReady = %+v, want False/ServerUnreachable with the error", c)
	}
	if c := condition(f.share("projects").Status.Conditions, ConditionReady); c.Reason != ReasonServerUnreachable {
		t.Errorf("share Ready = %+v", c)
	}
	if len(ds.Status.Stores) != 2 {
		t.Errorf("the stores last seen must be kept while unreachable: %+v", ds.Status.Stores)
	}
	f.srv.down = nil
	f.converge()
	if c := condition(f.server().Status.Conditions, ConditionStoresReady); c.Status != metav1.ConditionTrue {
		t.Errorf("StoresReady after recovery = %+v", c)
	}
}

// Over HTTPS, whose certificate the operator verifies, a refused account is
// set up again with the admin login (a restored volume).
func TestOperatorAccountFallsBackToTheAdminLogin(t *testing.T) {
	objs := teamObjects()
	objs[0] = availableServer(withAPITLS)
	objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "nas-cert", Namespace: testNamespace}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": []byte("cert"), "tls.key": []byte("key")}})
	f := newFixture(t, objs...)
	f.converge()
	// The server's database was restored: the account has another password.
	f.srv.passwords[OperatorUsername] = "an-old-password"
	f.c.sessions.forget(cacheKey())
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	want := []string{"POST login " + OperatorUsername, "POST login admin", "POST password " + OperatorUsername, "POST login " + OperatorUsername}
	if got := f.srv.writes(); !slices.Equal(got, want) {
		t.Errorf("REST writes:\n got %v\nwant %v", got, want)
	}
	if !hasEvent(f.events(), "Normal "+ReasonOperatorAccountSet) {
		t.Errorf("the reset must be marked by an event")
	}
}

func TestServerNotAvailableWaits(t *testing.T) {
	objs := teamObjects()
	objs[0] = availableServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Status.AvailableReplicas = 0
		ds.Status.Conditions[1].Status = metav1.ConditionFalse
	})
	f := newFixture(t, objs...)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if len(f.srv.calls) != 0 {
		t.Errorf("REST calls %v to a server that is not available", f.srv.calls)
	}
	if c := condition(f.share("projects").Status.Conditions, ConditionReady); c == nil || c.Reason != ReasonServerNotReady {
		t.Errorf("share Ready = %+v", c)
	}
	if e := f.events(); len(e) != 0 {
		t.Errorf("events %v: a server still starting is not a warning", e)
	}
}

func TestS3SecretMissing(t *testing.T) {
	objs := teamObjects()
	objs[0] = availableServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.S3 = &dittov1alpha1.S3Spec{Bucket: "files", CredentialsSecretRef: &dittov1alpha1.S3CredentialsSecretRef{SecretName: "s3"}}
	})
	f := newFixture(t, objs...)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	c := condition(f.server().Status.Conditions, ConditionStoresReady)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != ReasonSecretNotFound {
		t.Errorf("StoresReady = %+v, want False/SecretNotFound", c)
	}
	if _, ok := f.srv.blocks[dfsapi.BlockRemote]["s3"]; ok {
		t.Errorf("no remote store without credentials")
	}
	if c := condition(f.share("projects").Status.Conditions, ConditionReady); c == nil || c.Reason != ReasonStoresNotReady {
		t.Errorf("a share that needs the remote store waits: %+v", c)
	}
	if f.srv.metadata["default"].Type != "badger" {
		t.Errorf("the other stores are created meanwhile")
	}
}

// A server that answers with an error about one object: that object says so
// with the server's own message, once, and the pass is retried with backoff;
// nothing else is held back.
func TestServerRefusesOneShare(t *testing.T) {
	objs := append(teamObjects(), dittoShare("scratch"))
	f := newFixture(t, objs...)
	refusal := apiError(http.MethodPost, "/api/v1/shares", http.StatusBadRequest, "Invalid quota_bytes: too large")
	f.srv.refuse = map[string]error{"POST share /scratch": refusal}
	var warnings []string
	for i := range 3 {
		err := f.sync()
		if !errors.Is(err, errRequeue) {
			t.Fatalf("pass %d: err = %v, want a backoff requeue", i, err)
		}
		for _, e := range f.events() {
			if strings.HasPrefix(e, "Warning") {
				warnings = append(warnings, e)
			}
		}
	}
	c := condition(f.share("scratch").Status.Conditions, ConditionReady)
	if c == nil || c.Reason != ReasonServerError || !strings.Contains(c.Message, "Invalid quota_bytes: too large") {
		t.Errorf("Ready = %+v, want ServerError with the server's message", c)
	}
	if len(warnings) != 1 {
		t.Errorf("Warnings %v, want exactly one", warnings)
	}
	if c := condition(f.share("projects").Status.Conditions, ConditionReady); c.Status != metav1.ConditionTrue {
		t.Errorf("the other share must not be held back: %+v", c)
	}
	ds := f.server()
	if c := condition(ds.Status.Conditions, ConditionSharesReady); c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "scratch (ServerError)") || ds.Status.SharesReady != 1 {
		t.Errorf("SharesReady = %+v (%d ready)", c, ds.Status.SharesReady)
	}
}

// A remote store update the server refuses does not record the new
// credentials as given: the next pass gives them again.
func TestRefusedCredentialsAreRetried(t *testing.T) {
	objs := teamObjects()
	objs[0] = availableServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.S3 = &dittov1alpha1.S3Spec{Bucket: "files", CredentialsSecretRef: &dittov1alpha1.S3CredentialsSecretRef{SecretName: "s3"}}
	})
	objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s3", Namespace: testNamespace},
		Data: map[string][]byte{"accessKeyId": []byte("AKIA"), "secretAccessKey": []byte("first")}})
	f := newFixture(t, objs...)
	f.converge()
	before := f.server().Status.S3CredentialsVersion
	cur, _ := f.kubeCS.CoreV1().Secrets(testNamespace).Get(f.ctx, "s3", metav1.GetOptions{})
	cur.Data["secretAccessKey"] = []byte("second")
	f.update(cur, gvrSecrets)
	f.srv.refuse = map[string]error{"PUT remote-store s3": apiError(http.MethodPut, "/api/v1/store/block/remote/s3", http.StatusInternalServerError, "Failed to update block store")}
	if err := f.sync(); !errors.Is(err, errRequeue) {
		t.Fatalf("err = %v, want a backoff requeue", err)
	}
	if got := f.server().Status.S3CredentialsVersion; got != before {
		t.Errorf("s3CredentialsVersion moved to %q on a refused update", got)
	}
	f.srv.refuse = nil
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if f.srv.blocks[dfsapi.BlockRemote]["s3"].Config["secret_access_key"] != "second" {
		t.Errorf("the new credentials must be given once the server accepts them")
	}
}

// A Kubernetes API failure is not blamed on the server.
func TestKubernetesFailureIsNotTheServers(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.kubeCS.PrependReactor("get", "secrets", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("etcd is gone"))
	})
	if err := f.sync(); !errors.Is(err, errRequeue) {
		t.Fatalf("err = %v, want a backoff requeue", err)
	}
	c := condition(f.server().Status.Conditions, ConditionStoresReady)
	if c == nil || c.Reason != ReasonReconcileFailed || !strings.Contains(c.Message, "etcd is gone") {
		t.Errorf("StoresReady = %+v, want ReconcileFailed with the Kubernetes error", c)
	}
	if len(f.srv.calls) != 0 {
		t.Errorf("REST calls %v without the operator's password", f.srv.calls)
	}
}

// A user's password Secret that goes leaves the user on the server and says
// so once; the Secret's return sets the password again.
func TestPasswordSecretDeletedAndRecreated(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	f.converge()
	if err := f.kubeCS.CoreV1().Secrets(testNamespace).Delete(f.ctx, "alice-password", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var warnings int
	for range 3 {
		if err := f.sync(); err != nil {
			t.Fatalf("sync: %v", err)
		}
		for _, e := range f.events() {
			if strings.HasPrefix(e, "Warning "+ReasonSecretNotFound) {
				warnings++
			}
		}
		if w := f.srv.writes(); len(w) != 0 {
			t.Errorf("REST writes %v: the user stays as it is", w)
		}
	}
	if warnings != 1 {
		t.Errorf("%d SecretNotFound Warnings, want 1", warnings)
	}
	if _, ok := f.srv.users["alice"]; !ok {
		t.Errorf("alice must stay on the server")
	}
	f.add(passwordSecret("alice-password", "alice-third-pw"))
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got := f.srv.writes(); !slices.Equal(got, []string{"POST password alice"}) || f.srv.passwords["alice"] != "alice-third-pw" {
		t.Errorf("writes %v; the recreated Secret's password must be set", got)
	}
	if c := condition(f.user("alice").Status.Conditions, ConditionReady); c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %+v", c)
	}
}
