package serverstate

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// queued drains the queue.
func (f *fixture) queued() []string {
	var out []string
	for f.c.queue.Len() > 0 {
		k, _ := f.c.queue.Get()
		out = append(out, k.String())
		f.c.queue.Done(k)
		f.c.queue.Forget(k)
	}
	return out
}

func TestEventsReachTheServersQueueKey(t *testing.T) {
	s3Server := availableServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Name = "s3nas"
		ds.Spec.S3 = &dittov1alpha1.S3Spec{Bucket: "b", CredentialsSecretRef: &dittov1alpha1.S3CredentialsSecretRef{SecretName: "s3-creds"}}
	})
	f := newFixture(t, append(teamObjects(), s3Server)...)
	f.queued()
	secretMeta := func(name string) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNamespace, ResourceVersion: "1"}}
	}
	share := f.share("projects")
	edited := share.DeepCopy()
	edited.Generation, edited.ResourceVersion = 2, "new"
	statusOnly := share.DeepCopy()
	statusOnly.ResourceVersion = "new"
	statusOnly.Status.ExportName = "/projects"
	ds := f.server()
	resync := ds.DeepCopy()
	rollout := ds.DeepCopy()
	rollout.ResourceVersion = "new"
	rollout.Status.ReadyReplicas = 7
	down := ds.DeepCopy()
	down.ResourceVersion = "new"
	down.Status.AvailableReplicas = 0

	for _, tc := range []struct {
		name string
		fire func()
		want []string
	}{
		{"a DittoShare names its server", func() { f.c.enqueueReferencedServer(share) }, []string{"storage/nas"}},
		{"a spec edit", func() { f.c.handleReferrerUpdate(share, edited) }, []string{"storage/nas"}},
		{"a status-only write is ours: no requeue", func() { f.c.handleReferrerUpdate(share, statusOnly) }, nil},
		{"a user's password Secret", func() { f.c.handleSecret(secretMeta("alice-password")) }, []string{"storage/nas"}},
		{"the S3 credentials Secret", func() { f.c.handleSecret(secretMeta("s3-creds")) }, []string{"storage/s3nas"}},
		{"an unrelated Secret", func() { f.c.handleSecret(secretMeta("other")) }, nil},
		{"a DittoServer resync: the periodic look at the server", func() { f.c.handleServerUpdate(ds, resync) }, []string{"storage/nas"}},
		{"a rollout status write of the other controller", func() { f.c.handleServerUpdate(ds, rollout) }, nil},
		{"the server stops being available", func() { f.c.handleServerUpdate(ds, down) }, []string{"storage/nas"}},
		{"a deleted DittoUser's tombstone", func() {
			f.c.enqueueReferencedServer(cache.DeletedFinalStateUnknown{Key: "storage/alice", Obj: f.user("alice")})
		}, []string{"storage/nas"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fire()
			got := f.queued()
			if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Errorf("queued %v, want %v", got, tc.want)
			}
		})
	}
}
