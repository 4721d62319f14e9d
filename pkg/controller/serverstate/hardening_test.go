package serverstate

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// Over plain HTTP the operator cannot tell its server from another endpoint
// answering at the same address. Once the server has accepted the operator
// account, an endpoint that refuses it is not sent the admin password: the
// pass stops with LoginFailed and a message that says what to do.
func TestAdminPasswordIsWithheldFromAnUnverifiedEndpoint(t *testing.T) {
	objs := teamObjects()
	withPlainHTTP(objs[0].(*dittov1alpha1.DittoServer))
	f := newFixture(t, objs...)
	f.converge()
	s, err := f.kubeCS.CoreV1().Secrets(testNamespace).Get(f.ctx, OperatorSecretName(f.server()), metav1.GetOptions{})
	if err != nil || s.Annotations[AccountConfirmedAnnotation] != string(f.server().UID) {
		t.Fatalf("the operator Secret does not record the confirmed account: %v %v", s.Annotations, err)
	}
	// Another endpoint answers at the server's address and refuses the account.
	f.srv.passwords[OperatorUsername] = "not-the-operators"
	f.c.sessions.forget(cacheKey())
	f.catchUp()
	err = f.sync()
	if slices.Contains(f.srv.calls, "POST login admin") {
		t.Fatalf("the admin password was sent to an endpoint that refused the account over plain HTTP: %v", f.srv.calls)
	}
	if err == nil || !strings.Contains(err.Error(), "does not send the admin password") {
		t.Errorf("sync: %v, want the refusal", err)
	}
	c := condition(f.share("projects").Status.Conditions, ConditionReady)
	if c == nil || c.Reason != ReasonLoginFailed || !strings.Contains(c.Message, "spec.controlPlane.tls") {
		t.Errorf("share Ready = %+v, want %s naming spec.controlPlane.tls", c, ReasonLoginFailed)
	}
}

// The first setup of a DittoServer (no account confirmed for its UID yet)
// still uses the admin login over plain HTTP: nothing else can create the
// operator account.
func TestFirstSetupUsesTheAdminLoginOverPlainHTTP(t *testing.T) {
	objs := teamObjects()
	withPlainHTTP(objs[0].(*dittov1alpha1.DittoServer))
	f := newFixture(t, objs...)
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(f.srv.calls, "POST login admin") || f.srv.users[OperatorUsername].Role != "admin" {
		t.Errorf("the operator account was not set up: %v", f.srv.calls)
	}
}

// deadlineAPI records the deadline of the context its first call is given.
type deadlineAPI struct {
	dfsapi.API
	deadline *time.Time
}

func (d deadlineAPI) ListMetadataStores(ctx context.Context) ([]dfsapi.Store, error) {
	if dl, ok := ctx.Deadline(); ok && d.deadline.IsZero() {
		*d.deadline = dl
	}
	return d.API.ListMetadataStores(ctx)
}

// Every REST call of a pass runs under one deadline, PassTimeout.
func TestAPassHasADeadline(t *testing.T) {
	f := newFixture(t, teamObjects()...)
	var deadline time.Time
	factory := f.c.newAPI
	f.c.newAPI = func(baseURL string, rt http.RoundTripper) dfsapi.API {
		return deadlineAPI{factory(baseURL, rt), &deadline}
	}
	start := time.Now()
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	if deadline.IsZero() || deadline.After(start.Add(PassTimeout+time.Second)) {
		t.Errorf("the pass's REST calls had deadline %v, want at most %v from the start", deadline, PassTimeout)
	}
}

// HTTP_PROXY and HTTPS_PROXY are never used for a server's API, with TLS or
// without: the proxy would see the operator's credentials.
func TestTheServersAPIIsReachedWithoutAProxy(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://proxy.invalid:3128")
	t.Setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
	tlsServer := availableServer(withAPITLS)
	f := newFixture(t, tlsServer, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "nas-cert", Namespace: testNamespace}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": []byte("cert"), "tls.key": []byte("key")}}, issuedTLSSecret(t, availableServer()))
	for name, ds := range map[string]*dittov1alpha1.DittoServer{"plain HTTP": availableServer(withPlainHTTP), "HTTPS": tlsServer, "issued HTTPS": availableServer()} {
		rt, _, err := f.c.apiTransport(f.ctx, ds)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tr, ok := rt.(*http.Transport)
		if !ok {
			t.Fatalf("%s: transport %T", name, rt)
		}
		if tr.Proxy != nil {
			t.Errorf("%s: the transport has a Proxy function", name)
		}
	}
}
