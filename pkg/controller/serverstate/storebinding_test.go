package serverstate

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// A share's stores are bound when it is created and never after: the CRD
// refuses removing spec.s3, but a server whose spec lost it (an object from
// before that rule, or a forced write) must not detach a share from the
// bucket its blocks live in on the next share edit, nor update the share on
// every pass because its bindings differ from the spec.
func TestShareKeepsItsRemoteStoreWhenSpecS3Goes(t *testing.T) {
	objs := teamObjects()
	objs[0] = availableServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.S3 = &dittov1alpha1.S3Spec{Bucket: "files", Region: "eu-west-1",
			CredentialsSecretRef: &dittov1alpha1.S3CredentialsSecretRef{SecretName: "s3"}}
	})
	objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s3", Namespace: testNamespace}, Data: map[string][]byte{
		"accessKeyId": []byte("AKIAEXAMPLE"), "secretAccessKey": []byte("s3-secret-value")}})
	f := newFixture(t, objs...)
	f.converge()
	if s := f.srv.shares["/projects"]; s.RemoteBlockStore != resources.RemoteBlockStoreName {
		t.Fatalf("share remote store = %q, want %q", s.RemoteBlockStore, resources.RemoteBlockStoreName)
	}

	ds := f.server()
	ds.Spec.S3 = nil
	f.update(ds, gvrDittoServers)
	share := f.share("projects")
	share.Spec.Quota = ptr.To(resource.MustParse("20Gi"))
	f.update(share, gvrDittoShares)
	if err := f.sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got := f.srv.writes(); !slices.Equal(got, []string{"PUT share /projects"}) {
		t.Errorf("REST writes %v, want the quota update only", got)
	}
	s := f.srv.shares["/projects"]
	if s.RemoteBlockStore != resources.RemoteBlockStoreName || s.LocalBlockStore != resources.LocalBlockStoreName {
		t.Errorf("after spec.s3 was removed and the quota edited: stores %q/%q, want the share still bound to %q/%q",
			s.LocalBlockStore, s.RemoteBlockStore, resources.LocalBlockStoreName, resources.RemoteBlockStoreName)
	}
	if s.QuotaBytes != 20<<30 {
		t.Errorf("quota = %d, want 20Gi", s.QuotaBytes)
	}
	f.converge()
	if err := f.sync(); err != nil || len(f.srv.writes()) != 0 {
		t.Errorf("a share whose stores differ from the spec must not be updated every pass: %v %v", err, f.srv.writes())
	}
	if _, ok := f.srv.blocks[dfsapi.BlockRemote][resources.RemoteBlockStoreName]; !ok {
		t.Errorf("the remote store was removed from the server")
	}
}
