package backup

import (
	"context"
	"github.com/dittofs/dittofs-operator/test/harness/fakeapi"
	"testing"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapfake "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned/fake"
	snapinformers "github.com/kubernetes-csi/external-snapshotter/client/v8/informers/externalversions"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	dittofake "github.com/dittofs/dittofs-operator/pkg/generated/clientset/versioned/fake"
	dittoinformers "github.com/dittofs/dittofs-operator/pkg/generated/informers/externalversions"
)

const ns = "team"

var t0 = time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)

// fixture is a cluster of fake clientsets whose objects refresh() copies
// into the controller's caches, as informers would deliver them.
type fixture struct {
	t        *testing.T
	kube     *kubefake.Clientset
	ditto    *dittofake.Clientset
	snap     *snapfake.Clientset
	c        *Controller
	recorder *record.FakeRecorder
	now      time.Time
	missing  []string
	refresh  func()
}

func newFixture(t *testing.T, kubeObjs, dittoObjs, snapObjs []runtime.Object) *fixture {
	return newFixtureOn(t, kubefake.NewClientset(kubeObjs...), dittofake.NewSimpleClientset(dittoObjs...),
		// The snapshot client generates no applyconfigurations, so no NewClientset.
		snapfake.NewSimpleClientset(snapObjs...)) //nolint:staticcheck // no alternative in client/v8
}

// newFixtureOn builds a controller over existing clientsets: a restarted
// operator finds the cluster as the last one left it.
func newFixtureOn(t *testing.T, kube *kubefake.Clientset, ditto *dittofake.Clientset, snap *snapfake.Clientset) *fixture {
	f := &fixture{t: t, kube: kube, ditto: ditto, snap: snap, recorder: record.NewFakeRecorder(100), now: t0}
	// Every write gets a new resourceVersion, as on an API server, so that
	// read-your-writes sees the cache catch up.
	fakeapi.ServeFrom(&ditto.Fake, fakeapi.NewTracker(ditto.Tracker()))
	ki := kubeinformers.NewSharedInformerFactory(f.kube, 0)
	di := dittoinformers.NewSharedInformerFactory(f.ditto, 0)
	si := snapinformers.NewSharedInformerFactory(f.snap, 0)
	inf := Informers{
		DittoBackups: di.Dittofs().V1alpha1().DittoBackups(), DittoServers: di.Dittofs().V1alpha1().DittoServers(),
		StatefulSets: ki.Apps().V1().StatefulSets(), Pods: ki.Core().V1().Pods(), StorageClasses: ki.Storage().V1().StorageClasses(),
		Snapshots: si.Snapshot().V1().VolumeSnapshots(), SnapshotClass: si.Snapshot().V1().VolumeSnapshotClasses(),
	}
	c, err := New(context.Background(), f.kube, f.ditto, f.snap, inf, Options{Recorder: f.recorder, Now: func() time.Time { return f.now },
		SnapshotCRDsMissing: func() []string { return f.missing }})
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	c.snapSynced = func() bool { return true }
	ctx := context.Background()
	f.refresh = func() {
		replace := func(i cache.SharedIndexInformer, objs []interface{}) {
			if err := i.GetIndexer().Replace(objs, ""); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := f.ditto.DittofsV1alpha1().DittoBackups("").List(ctx, metav1.ListOptions{})
		replace(inf.DittoBackups.Informer(), items(b.Items))
		s, _ := f.ditto.DittofsV1alpha1().DittoServers("").List(ctx, metav1.ListOptions{})
		replace(inf.DittoServers.Informer(), items(s.Items))
		st, _ := f.kube.AppsV1().StatefulSets("").List(ctx, metav1.ListOptions{})
		replace(inf.StatefulSets.Informer(), items(st.Items))
		p, _ := f.kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		replace(inf.Pods.Informer(), items(p.Items))
		sc, _ := f.kube.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
		replace(inf.StorageClasses.Informer(), items(sc.Items))
		vs, _ := f.snap.SnapshotV1().VolumeSnapshots("").List(ctx, metav1.ListOptions{})
		replace(inf.Snapshots.Informer(), items(vs.Items))
		vc, _ := f.snap.SnapshotV1().VolumeSnapshotClasses().List(ctx, metav1.ListOptions{})
		replace(inf.SnapshotClass.Informer(), items(vc.Items))
	}
	f.refresh()
	return f
}

func items[T any](list []T) []interface{} {
	out := make([]interface{}, 0, len(list))
	for i := range list {
		out = append(out, &list[i])
	}
	return out
}

// pass refreshes the caches, clears the recorded actions, runs one sync
// and returns its outcome and the writes it made.
func (f *fixture) pass(name string) ([]k8stesting.Action, error) {
	f.refresh()
	f.kube.ClearActions()
	f.ditto.ClearActions()
	f.snap.ClearActions()
	err := f.c.sync(context.Background(), cache.ObjectName{Namespace: ns, Name: name})
	var writes []k8stesting.Action
	for _, a := range append(append(f.kube.Actions(), f.ditto.Actions()...), f.snap.Actions()...) {
		if a.GetVerb() != "get" && a.GetVerb() != "list" && a.GetVerb() != "watch" {
			writes = append(writes, a)
		}
	}
	return writes, err
}

// events drains the recorded events.
func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func (f *fixture) backup(name string) *dittov1alpha1.DittoBackup {
	b, err := f.ditto.DittofsV1alpha1().DittoBackups(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) server() *dittov1alpha1.DittoServer {
	s, err := f.ditto.DittofsV1alpha1().DittoServers(ns).Get(context.Background(), "fs", metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// --- objects ---

func newServer() *dittov1alpha1.DittoServer {
	return &dittov1alpha1.DittoServer{
		ObjectMeta: metav1.ObjectMeta{Name: "fs", Namespace: ns, UID: "ds-uid"},
		Spec:       dittov1alpha1.DittoServerSpec{Storage: dittov1alpha1.StorageSpec{MetadataSize: resource.MustParse("1Gi")}},
	}
}

func newBackup(name string) *dittov1alpha1.DittoBackup {
	return &dittov1alpha1.DittoBackup{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: "b-uid", Generation: 1},
		Spec:       dittov1alpha1.DittoBackupSpec{Server: dittov1alpha1.LocalServerReference{Name: "fs"}},
	}
}

func newStatefulSet(ready int32) *appsv1.StatefulSet {
	tmpl := func(name, size string) corev1.PersistentVolumeClaim {
		return corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("csi"), Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}}}
	}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "fs", Namespace: ns},
		Spec:       appsv1.StatefulSetSpec{VolumeClaimTemplates: []corev1.PersistentVolumeClaim{tmpl("metadata", "1Gi"), tmpl("content", "5Gi")}},
		Status:     appsv1.StatefulSetStatus{Replicas: ready, ReadyReplicas: ready},
	}
}

func newPod() *corev1.Pod {
	ds := newServer()
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "fs-0", Namespace: ns, Labels: resources.SelectorLabels(ds)}}
}

func storageClass() *storagev1.StorageClass {
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "csi"}, Provisioner: "dir.csi.test"}
}

func snapshotClass(name string, isDefault bool) *snapv1.VolumeSnapshotClass {
	c := &snapv1.VolumeSnapshotClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Driver: "dir.csi.test", DeletionPolicy: snapv1.VolumeSnapshotContentDelete}
	if isDefault {
		c.Annotations = map[string]string{defaultClassAnnotation: "true"}
	}
	return c
}

func adminSecret() *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "fs-generated", Namespace: ns},
		Data: map[string][]byte{"admin-password": []byte("s3cret-admin"), "jwt-secret": []byte("jwt")}}
}

// cluster is a running server with a default snapshot class for its driver.
func cluster(backups ...*dittov1alpha1.DittoBackup) (kube, ditto, snap []runtime.Object) {
	kube = []runtime.Object{newStatefulSet(1), newPod(), storageClass(), adminSecret()}
	ditto = []runtime.Object{newServer()}
	for _, b := range backups {
		ditto = append(ditto, b)
	}
	snap = []runtime.Object{snapshotClass("csi-snap", true)}
	return kube, ditto, snap
}

// clusterFixture is a fixture on cluster(backups...).
func clusterFixture(t *testing.T, backups ...*dittov1alpha1.DittoBackup) *fixture {
	k, d, s := cluster(backups...)
	return newFixture(t, k, d, s)
}
