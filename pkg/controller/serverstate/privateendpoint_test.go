package serverstate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

func s3Objects(allowPrivate bool, endpoint string) []runtime.Object {
	objs := teamObjects()
	objs[0] = availableServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.S3 = &dittov1alpha1.S3Spec{Bucket: "files", Region: "eu-west-1", AllowPrivateEndpoint: allowPrivate,
			CredentialsSecretRef: &dittov1alpha1.S3CredentialsSecretRef{SecretName: "s3"}}
	})
	return append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s3", Namespace: testNamespace}, Data: map[string][]byte{
		"accessKeyId": []byte("AKIAEXAMPLE"), "secretAccessKey": []byte("s3-secret-value"), "endpoint": []byte(endpoint)}})
}

// The allowance for a private S3 endpoint is the DittoServer owner's
// explicit choice, never derived from the endpoint: without it a private
// endpoint is refused before the server is asked, naming the field and not
// the endpoint (a Secret's value).
func TestPrivateS3EndpointNeedsTheOwnersAllowance(t *testing.T) {
	const endpoint = "http://minio.minio.svc:9000"
	f := newFixture(t, s3Objects(false, endpoint)...)
	var texts []string
	for range 2 {
		if err := f.sync(); err != nil {
			texts = append(texts, err.Error())
		}
	}
	if _, ok := f.srv.blocks[dfsapi.BlockRemote][resources.RemoteBlockStoreName]; ok {
		t.Errorf("the remote store was created with a private endpoint and no allowance")
	}
	c := condition(f.server().Status.Conditions, ConditionStoresReady)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != ReasonInvalidSpec || !strings.Contains(c.Message, "spec.s3.allowPrivateEndpoint") {
		t.Fatalf("StoresReady = %+v, want False/%s naming spec.s3.allowPrivateEndpoint", c, ReasonInvalidSpec)
	}
	texts = append(texts, c.Message)
	texts = append(texts, f.events()...)
	for _, s := range f.server().Status.Conditions {
		texts = append(texts, s.Message)
	}
	for _, text := range texts {
		if strings.Contains(text, "minio.minio.svc") {
			t.Errorf("the endpoint from the Secret appears in %q", text)
		}
	}

	// The owner allows it: the store is created with the allowance.
	ds := f.server()
	ds.Spec.S3.AllowPrivateEndpoint = true
	f.update(ds, gvrDittoServers)
	f.converge()
	if got := f.srv.blocks[dfsapi.BlockRemote][resources.RemoteBlockStoreName].Config; got["allow_private_endpoint"] != true || got["endpoint"] != endpoint {
		t.Errorf("remote store config %v, want the endpoint with allow_private_endpoint true", got)
	}
	// And turned off again: the store is rewritten without it.
	ds = f.server()
	ds.Spec.S3.AllowPrivateEndpoint = false
	ds.Spec.S3.CredentialsSecretRef.EndpointKey = "public"
	f.update(ds, gvrDittoServers)
	sec, _ := f.kubeCS.CoreV1().Secrets(testNamespace).Get(f.ctx, "s3", metav1.GetOptions{})
	sec.Data["public"] = []byte("https://s3.eu-west-1.amazonaws.com")
	f.update(sec, gvrSecrets)
	f.converge()
	if got := f.srv.blocks[dfsapi.BlockRemote][resources.RemoteBlockStoreName].Config; got["allow_private_endpoint"] != false {
		t.Errorf("after the allowance was removed: %v", got)
	}
}

// A public endpoint needs no allowance and gets none.
func TestPublicS3EndpointGetsNoAllowance(t *testing.T) {
	f := newFixture(t, s3Objects(false, "https://s3.eu-west-1.amazonaws.com")...)
	f.converge()
	if got := f.srv.blocks[dfsapi.BlockRemote][resources.RemoteBlockStoreName].Config; got["allow_private_endpoint"] != false {
		t.Errorf("remote store config %v, want allow_private_endpoint false", got)
	}
}
