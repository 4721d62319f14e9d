package controller

// Objects in the way: a child's name taken by an object this DittoServer does
// not control is never adopted, updated or deleted (ConfigReady=False,
// ResourceNotOwned, one Warning); the operator's own object missing from a
// stale cache is recognised without fuss.

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

func TestForeignObjectInTheWay(t *testing.T) {
	namesakeSTS := func() runtime.Object {
		sts, err := resources.StatefulSet(newDittoServer(func(ds *dittov1alpha1.DittoServer) { ds.UID = "uid-of-a-deleted-namesake" }),
			resources.Inputs{}, "old")
		if err != nil {
			t.Fatal(err)
		}
		return sts
	}()
	for _, tc := range []struct {
		name    string
		foreign runtime.Object
		// requests of the first pass (the status write aside); later passes
		// repeat the reads of uncached objects and nothing else.
		actions    []string
		laterReads []string
		message    string
	}{
		{
			name:    "labelled Service in the cache",
			foreign: foreignService("nas-file", true),
			actions: []string{"create secrets nas-generated", "create secrets nas-ca", "create secrets nas-api-tls", "create configmaps nas-config",
				"create services nas-headless"},
			message: "Service storage/nas-file exists but is not controlled by this DittoServer; delete or rename it",
		},
		{
			name:    "unlabelled Service outside the cache",
			foreign: foreignService("nas-file", false),
			actions: []string{"create secrets nas-generated", "create secrets nas-ca", "create secrets nas-api-tls", "create configmaps nas-config",
				"create services nas-headless", "create services nas-file", "get services nas-file"},
			laterReads: []string{"create services nas-file", "get services nas-file"},
			message:    "Service storage/nas-file exists but is not controlled by this DittoServer",
		},
		{
			name:    "StatefulSet of a deleted namesake",
			foreign: namesakeSTS,
			actions: []string{"create secrets nas-generated", "create secrets nas-ca", "create secrets nas-api-tls", "create configmaps nas-config",
				"create services nas-headless", "create services nas-file", "create services nas-api"},
			message: "StatefulSet storage/nas exists but is not controlled by this DittoServer",
		},
		{
			name:    "someone else's JWT Secret",
			foreign: newSecret("nas-generated", map[string]string{"jwt-secret": "theirs"}),
			message: "Secret storage/nas-generated exists but is not controlled by this DittoServer",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, false, newDittoServer(withFinalizer), tc.foreign)
			fm, _ := meta.Accessor(tc.foreign)
			gvr := gvrFor(tc.foreign)
			before, _ := meta.Accessor(f.get(f.kube, gvr, fm.GetName()))
			beforeRV := before.GetResourceVersion()

			for pass := 1; pass <= 3; pass++ {
				expectErr(t, f.sync(), errWaiting)
				if pass == 1 {
					expectActions(t, f.actions(), append(tc.actions, "apply dittoservers/status nas")...)
					expectEvents(t, f.events(), "Warning ResourceNotOwned "+tc.message)
				} else {
					expectActions(t, f.actions(), tc.laterReads...)
					expectEvents(t, f.events())
				}
				f.catchUp()
			}
			expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseFailed, "ConfigReady=False/ResourceNotOwned", "Ready=False/NotReady")
			if f.exists(f.kube, gvrStatefulSets, testName) && tc.name != "StatefulSet of a deleted namesake" {
				t.Error("StatefulSet created while a child is in the way")
			}
			after, _ := meta.Accessor(f.get(f.kube, gvr, fm.GetName()))
			if after.GetUID() != before.GetUID() || after.GetResourceVersion() != beforeRV {
				t.Errorf("the foreign %s was replaced or written", gvr.Resource)
			}
		})
	}
}

// The operator's own object missing from a stale cache: the Create fails
// with AlreadyExists, one GET shows it is ours and unchanged, and nothing
// else happens.
func TestOwnObjectMissingFromStaleCache(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	for _, name := range []string{"nas-config"} {
		cm := f.get(f.kube, gvrConfigMaps, name)
		if err := f.inf.ConfigMaps.Informer().GetIndexer().Delete(cm); err != nil {
			t.Fatal(err)
		}
	}
	svc := f.get(f.kube, gvrServices, "nas-api")
	if err := f.inf.Services.Informer().GetIndexer().Delete(svc); err != nil {
		t.Fatal(err)
	}

	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "create configmaps nas-config", "get configmaps nas-config",
		"create services nas-api", "get services nas-api")
	expectEvents(t, f.events())
}

// A stale cache holding an older version of our own object: the update is
// guarded by the cached resourceVersion, so it fails with a Conflict instead
// of overwriting a newer object — not a failure: requeued without a Warning —
// and the next pass succeeds.
func TestStaleCacheUpdateConflicts(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	stale := f.get(f.kube, gvrConfigMaps, "nas-config").(*corev1.ConfigMap)
	newer := stale.DeepCopy()
	newer.Labels["someone"] = "else"
	f.put(newer)
	f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.ShutdownTimeout = &metav1.Duration{Duration: 45e9} }, true)
	f.catchUp()
	if err := f.inf.ConfigMaps.Informer().GetIndexer().Update(stale); err != nil {
		t.Fatal(err)
	}

	expectErr(t, f.sync(), errWaiting)
	// A pass that stopped midway leaves the status as the last completed pass wrote it.
	expectActions(t, f.actions(), "update configmaps nas-config")
	expectEvents(t, f.events())

	f.converge()
	cm := f.get(f.kube, gvrConfigMaps, "nas-config").(*corev1.ConfigMap)
	if cm.Labels["someone"] != "else" {
		t.Errorf("a label someone else added was dropped: %v", cm.Labels)
	}
	// 5 s preStop + 3 × 45 s + 10 s
	if g := f.statefulSet().Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g != 150 {
		t.Errorf("grace period = %v after the edit, want 150", ptr.Deref(g, 0))
	}
}

// Edits made to a child behind the operator's back are undone on the next
// pass, while fields the API server defaults never cause a write.
func TestDriftedChildIsRestored(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()

	sts := f.statefulSet().DeepCopy()
	sts.Spec.Replicas = ptr.To[int32](0)
	sts.Spec.Template.Spec.Containers[0].Image = "example.com/other:latest"
	f.put(sts)
	svc := f.get(f.kube, gvrServices, "nas-file").(*corev1.Service).DeepCopy()
	svc.Spec.Ports[0].Port = 9999
	svc.Spec.ClusterIP = "10.0.0.42" // allocated by the API server: kept
	f.put(svc)
	f.catchUp()

	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "update statefulsets nas", "update services nas-file")
	expectEvents(t, f.events())
	got := f.statefulSet()
	if *got.Spec.Replicas != 1 || got.Spec.Template.Spec.Containers[0].Image != resources.DefaultImage {
		t.Errorf("StatefulSet not restored: replicas %d, image %s", *got.Spec.Replicas, got.Spec.Template.Spec.Containers[0].Image)
	}
	gotSvc := f.get(f.kube, gvrServices, "nas-file").(*corev1.Service)
	if gotSvc.Spec.Ports[0].Port != 2049 || gotSvc.Spec.ClusterIP != "10.0.0.42" {
		t.Errorf("Service not restored with its cluster IP kept: %+v", gotSvc.Spec)
	}
	f.expectQuiet(t)
}

// The ConfigMap cache holds digests of the values (caches.DigestConfigMap): an edit
// of config.yaml behind the operator's back is still seen and undone, and an
// untouched ConfigMap still costs no write.
func TestDriftedConfigMapIsRestored(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()

	cm := f.get(f.kube, gvrConfigMaps, "nas-config").(*corev1.ConfigMap).DeepCopy()
	want := cm.Data["config.yaml"]
	cm.Data["config.yaml"] = want + "\n# edited by hand\n"
	f.put(cm)
	f.catchUp()

	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "update configmaps nas-config")
	expectEvents(t, f.events())
	if got := f.get(f.kube, gvrConfigMaps, "nas-config").(*corev1.ConfigMap).Data["config.yaml"]; got != want {
		t.Errorf("config.yaml not restored:\n%s", got)
	}
	f.expectQuiet(t)
}
