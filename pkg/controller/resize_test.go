package controller

// Growing a running server's volumes: the claims' requests are raised when
// the StorageClass allows expansion, the StatefulSet is re-created with
// orphan deletion so that its claim templates match, and StorageResized
// follows the claims until their capacity matches. Without expansion nothing
// changes but a condition and one Warning. An operator stopped at any step
// resumes, and no claim is ever deleted.

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func storageClass(name string, expandable, isDefault bool) *storagev1.StorageClass {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: "csi.example.com"}
	if expandable {
		sc.AllowVolumeExpansion = ptr.To(true)
	}
	if isDefault {
		sc.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
	}
	return sc
}

func withStorageClass(name string) func(*dittov1alpha1.DittoServer) {
	return func(ds *dittov1alpha1.DittoServer) { ds.Spec.Storage.StorageClassName = ptr.To(name) }
}

// grow asks for a 2Gi metadata volume (from 1Gi) and an 8Gi content volume
// (contentSize, from the 5Gi default).
func grow(ds *dittov1alpha1.DittoServer) {
	ds.Spec.Storage.MetadataSize = resource.MustParse("2Gi")
	ds.Spec.Storage.ContentSize = ptr.To(resource.MustParse("8Gi"))
}

// runningServer is a converged server whose StatefulSet controller made and
// bound its claims, each with the capacity it requested.
func runningServer(t *testing.T, objects ...runtime.Object) *fixture {
	t.Helper()
	f := newFixture(t, false, objects...)
	f.converge()
	f.bindClaims()
	f.markReady()
	f.converge()
	f.clear()
	return f
}

// markReady plays the StatefulSet controller reporting its pod ready.
func (f *fixture) markReady() {
	f.t.Helper()
	sts := f.statefulSet()
	sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
		UpdatedReplicas: 1, CurrentReplicas: 1, CurrentRevision: "nas-1", UpdateRevision: "nas-1"}
	f.put(sts)
}

func (f *fixture) storageClass(name string) *storagev1.StorageClass {
	f.t.Helper()
	obj, err := f.kube.Get(gvrStorageClasses, "", name)
	if err != nil {
		f.t.Fatalf("get StorageClass %s: %v", name, err)
	}
	return obj.(*storagev1.StorageClass)
}

// bindClaims plays the StatefulSet controller and the provisioner: a bound
// claim for each of the StatefulSet's templates.
func (f *fixture) bindClaims() {
	f.t.Helper()
	sts := f.statefulSet()
	for _, tmpl := range sts.Spec.VolumeClaimTemplates {
		pvc := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: tmpl.Name + "-" + sts.Name + "-0", Namespace: testNamespace,
				UID: types.UID(tmpl.Name + "-claim-uid"), Labels: tmpl.Labels},
			Spec: *tmpl.Spec.DeepCopy(),
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound,
				Capacity: corev1.ResourceList{corev1.ResourceStorage: tmpl.Spec.Resources.Requests[corev1.ResourceStorage]}},
		}
		if err := f.kube.Create(gvrClaims, pvc, testNamespace); err != nil {
			f.t.Fatalf("create claim %s: %v", pvc.Name, err)
		}
	}
}

func (f *fixture) claim(name string) *corev1.PersistentVolumeClaim {
	f.t.Helper()
	return f.get(f.kube, gvrClaims, name).(*corev1.PersistentVolumeClaim)
}

func (f *fixture) claims() []runtime.Object {
	return f.list(f.kube, gvrClaims, "PersistentVolumeClaim")
}

// grown plays the storage side: the claim's capacity becomes size, with
// the given claim conditions.
func (f *fixture) grown(name, size string, conds ...corev1.PersistentVolumeClaimCondition) {
	f.t.Helper()
	pvc := f.claim(name).DeepCopy()
	pvc.Status.Capacity[corev1.ResourceStorage] = resource.MustParse(size)
	pvc.Status.Conditions = conds
	if err := f.kube.Update(gvrClaims, pvc, testNamespace); err != nil {
		f.t.Fatalf("update claim %s: %v", name, err)
	}
}

func expectRequest(t *testing.T, pvc *corev1.PersistentVolumeClaim, want string) {
	t.Helper()
	if got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; got.Cmp(resource.MustParse(want)) != 0 {
		t.Errorf("claim %s requests %s, want %s", pvc.Name, got.String(), want)
	}
}

// templateSizes are the StatefulSet's claim templates as "name=size".
func templateSizes(sts *appsv1.StatefulSet) string {
	var parts []string
	for _, tmpl := range sts.Spec.VolumeClaimTemplates {
		q := tmpl.Spec.Resources.Requests[corev1.ResourceStorage]
		parts = append(parts, tmpl.Name+"="+q.String())
	}
	return strings.Join(parts, " ")
}

func expectNoClaimDeleted(t *testing.T, f *fixture, want int) {
	t.Helper()
	for _, a := range f.actions() {
		if strings.HasPrefix(a, "delete persistentvolumeclaims") {
			t.Errorf("a claim was deleted: %s", a)
		}
	}
	if n := len(f.claims()); n != want {
		t.Errorf("%d claims in the cluster, want %d", n, want)
	}
}

// With an expandable StorageClass: the claims are raised, the StatefulSet is
// deleted with orphan propagation and created again with the grown
// templates, and StorageResized follows the claims to their new capacity.
func TestResizeGrowsClaimsAndRecreatesTheStatefulSet(t *testing.T) {
	f := runningServer(t, newDittoServer(withFinalizer, withStorageClass("fast")), storageClass("fast", true, false))
	if got := templateSizes(f.statefulSet()); got != "metadata=1Gi content=5Gi" {
		t.Fatalf("templates before = %s", got)
	}
	oldUID := f.statefulSet().UID
	if c := condition(f.dittoServer(), ConditionStorageResized); c.Type != "" {
		t.Errorf("a server that never grew has %+v", c)
	}

	f.edit(grow, true)
	f.catchUp()
	expectErr(t, f.sync(), errWaiting)
	expectActions(t, f.actions(),
		"patch persistentvolumeclaims metadata-nas-0",
		"patch persistentvolumeclaims content-nas-0",
		"delete statefulsets nas",
		"apply dittoservers/status nas",
	)
	expectEvents(t, f.events(),
		`Normal ResizingVolumes Raised the requests of volume claims (StorageClass "fast" allows expansion): metadata-nas-0 1Gi → 2Gi, content-nas-0 5Gi → 8Gi`,
		"Normal RecreatingStatefulSet Re-creating StatefulSet nas without restarting its pod",
	)
	del := f.action("delete statefulsets nas").(clienttesting.DeleteActionImpl)
	if p := del.DeleteOptions.PropagationPolicy; p == nil || *p != metav1.DeletePropagationOrphan {
		t.Errorf("StatefulSet deleted with propagation %v, want Orphan (the pod keeps running)", p)
	}
	if pre := del.DeleteOptions.Preconditions; pre == nil || pre.UID == nil || *pre.UID != oldUID {
		t.Errorf("StatefulSet deleted without its UID as precondition: %+v", pre)
	}
	expectRequest(t, f.claim("metadata-nas-0"), "2Gi")
	expectRequest(t, f.claim("content-nas-0"), "8Gi")
	ds := f.dittoServer()
	expectStatus(t, ds, dittov1alpha1.PhaseRunning, "StorageResized=False/VolumesResizing", "Ready=True/Ready")
	if msg := condition(ds, ConditionStorageResized).Message; !strings.Contains(msg, "metadata-nas-0 1Gi of 2Gi") || !strings.Contains(msg, "content-nas-0 5Gi of 8Gi") {
		t.Errorf("StorageResized message %q does not name both claims with their progress", msg)
	}

	// The next pass finds the StatefulSet gone and creates it with the grown
	// templates; the claims are not written again.
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "create statefulsets nas", "apply dittoservers/status nas")
	expectEvents(t, f.events())
	if got := templateSizes(f.statefulSet()); got != "metadata=2Gi content=8Gi" {
		t.Errorf("templates after = %s", got)
	}
	// The StatefulSet controller adopts the running pod (see the e2e test).
	f.markReady()

	// The storage side grows the metadata volume; the content volume waits
	// for the node to grow its file system.
	f.grown("metadata-nas-0", "2Gi")
	f.grown("content-nas-0", "8Gi", corev1.PersistentVolumeClaimCondition{Type: corev1.PersistentVolumeClaimFileSystemResizePending,
		Status: corev1.ConditionTrue, Message: "Waiting for user to (re-)start a pod to finish file system resize of volume on node."})
	f.grown("content-nas-0", "5Gi", corev1.PersistentVolumeClaimCondition{Type: corev1.PersistentVolumeClaimFileSystemResizePending,
		Status: corev1.ConditionTrue, Message: "Waiting for user to (re-)start a pod to finish file system resize of volume on node."})
	f.catchUp()
	expectErr(t, f.sync(), nil)
	ds = f.dittoServer()
	msg := condition(ds, ConditionStorageResized).Message
	if strings.Contains(msg, "metadata-nas-0") || !strings.Contains(msg, "content-nas-0 5Gi of 8Gi (FileSystemResizePending: Waiting for user") {
		t.Errorf("StorageResized message %q: want only content-nas-0, with its FileSystemResizePending condition", msg)
	}

	f.grown("content-nas-0", "8Gi")
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "apply dittoservers/status nas")
	expectEvents(t, f.events(), "Normal VolumesResized Every volume claim has the size the spec asks for")
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseRunning, "StorageResized=True/VolumesResized", "Ready=True/Ready")
	f.expectQuiet(t)
	expectNoClaimDeleted(t, f, 2)
}

// Without expansion, nothing changes: the claims keep their requests, the
// StatefulSet its templates; one Warning and the condition say why, and
// the passes that follow are quiet. Allowing expansion on the class resumes.
func TestResizeWithoutExpansionChangesNothing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mod     func(*dittov1alpha1.DittoServer)
		classes []runtime.Object
		message string
	}{
		{name: "class without allowVolumeExpansion", mod: withStorageClass("manual"),
			classes: []runtime.Object{storageClass("manual", false, false)},
			message: `StorageClass "manual" does not allow volume expansion (allowVolumeExpansion is not true): volume claims metadata-nas-0 1Gi (spec asks 2Gi), content-nas-0 5Gi (spec asks 8Gi) keep their size`},
		{name: "default class without allowVolumeExpansion", mod: func(*dittov1alpha1.DittoServer) {},
			classes: []runtime.Object{storageClass("standard", false, true), storageClass("fast", true, false)},
			message: `StorageClass "standard" does not allow volume expansion`},
		{name: "no class known", mod: func(*dittov1alpha1.DittoServer) {},
			classes: []runtime.Object{storageClass("fast", true, false)},
			message: "No StorageClass is known for the volumes (spec.storage.storageClassName is unset and the cluster has no default StorageClass)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := runningServer(t, append(tc.classes, newDittoServer(withFinalizer, tc.mod))...)
			sts := f.statefulSet()

			f.edit(grow, true)
			f.catchUp()
			expectErr(t, f.sync(), nil)
			expectActions(t, f.actions(), "apply dittoservers/status nas")
			events := f.events()
			expectEvents(t, events, "Warning VolumeExpansionNotAllowed "+tc.message)
			expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseRunning, "StorageResized=False/VolumeExpansionNotAllowed", "Ready=True/Ready")
			if msg := condition(f.dittoServer(), ConditionStorageResized).Message; !strings.HasPrefix(msg, tc.message) {
				t.Errorf("message %q, want it to start with %q", msg, tc.message)
			}
			if got := f.statefulSet(); got.ResourceVersion != sts.ResourceVersion || templateSizes(got) != "metadata=1Gi content=5Gi" {
				t.Errorf("StatefulSet changed: %s (version %s, was %s)", templateSizes(got), got.ResourceVersion, sts.ResourceVersion)
			}
			expectRequest(t, f.claim("metadata-nas-0"), "1Gi")
			expectRequest(t, f.claim("content-nas-0"), "5Gi")
			f.expectQuiet(t)
		})
	}

	t.Run("an edit that keeps the sizes still rolls out", func(t *testing.T) {
		f := runningServer(t, newDittoServer(withFinalizer, withStorageClass("manual")), storageClass("manual", false, false))
		f.edit(grow, true)
		f.catchUp()
		expectErr(t, f.sync(), nil)
		f.events()
		f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.ShutdownTimeout = &metav1.Duration{Duration: 45e9} }, true)
		f.catchUp()
		expectErr(t, f.sync(), nil)
		expectActions(t, f.actions(), "update configmaps nas-config", "update statefulsets nas", "apply dittoservers/status nas")
		expectEvents(t, f.events(), "Normal ConfigUpdated")
		if got := templateSizes(f.statefulSet()); got != "metadata=1Gi content=5Gi" {
			t.Errorf("templates = %s, want the existing ones", got)
		}
	})

	t.Run("allowing expansion resumes", func(t *testing.T) {
		f := runningServer(t, newDittoServer(withFinalizer, withStorageClass("manual")), storageClass("manual", false, false))
		f.edit(grow, true)
		f.catchUp()
		expectErr(t, f.sync(), nil)
		f.events()

		old := f.storageClass("manual")
		f.put(storageClass("manual", true, false))
		f.catchUp()
		f.c.handleStorageClassUpdate(old, f.storageClass("manual"))
		if n := f.c.queue.Len(); n != 1 {
			t.Errorf("queue holds %d keys after the class allowed expansion, want the waiting server", n)
		}
		expectErr(t, f.sync(), errWaiting)
		expectActions(t, f.actions(),
			"patch persistentvolumeclaims metadata-nas-0",
			"patch persistentvolumeclaims content-nas-0",
			"delete statefulsets nas",
			"apply dittoservers/status nas",
		)
	})
}

// An operator stopped at any step resumes where it stopped, from the
// cluster alone (a new fixture is a restarted operator: empty memory, fresh
// caches).
func TestResizeResumesAfterARestart(t *testing.T) {
	start := func(t *testing.T) *fixture {
		f := runningServer(t, newDittoServer(withFinalizer, withStorageClass("fast")), storageClass("fast", true, false))
		f.edit(grow, true)
		return f
	}
	restart := func(f *fixture, change func(objs []runtime.Object) []runtime.Object) *fixture {
		objs := append(f.clusterObjects(), f.claims()...)
		return newFixture(f.t, false, change(objs)...)
	}

	t.Run("claims raised, StatefulSet not deleted yet", func(t *testing.T) {
		f := start(t)
		for _, name := range []string{"metadata-nas-0", "content-nas-0"} {
			pvc := f.claim(name).DeepCopy()
			pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse(map[string]string{"metadata-nas-0": "2Gi", "content-nas-0": "8Gi"}[name])
			if err := f.kube.Update(gvrClaims, pvc, testNamespace); err != nil {
				t.Fatal(err)
			}
		}
		r := restart(f, func(objs []runtime.Object) []runtime.Object { return objs })
		expectErr(t, r.sync(), errWaiting)
		// A restarted operator facing a spec it has not acted on yet
		// reads the generated Secret's key names once.
		expectActions(t, r.actions(), "get secrets nas-generated", "delete statefulsets nas", "apply dittoservers/status nas")
		expectEvents(t, r.events(), "Normal RecreatingStatefulSet")
	})

	t.Run("StatefulSet deleted, not re-created yet", func(t *testing.T) {
		f := start(t)
		f.catchUp()
		expectErr(t, f.sync(), errWaiting)
		r := restart(f, func(objs []runtime.Object) []runtime.Object { return objs })
		if r.exists(r.kube, gvrStatefulSets, testName) {
			t.Fatal("the StatefulSet should be gone before the restart")
		}
		expectErr(t, r.sync(), nil)
		expectActions(t, r.actions(), "create statefulsets nas", "apply dittoservers/status nas")
		if got := templateSizes(r.statefulSet()); got != "metadata=2Gi content=8Gi" {
			t.Errorf("re-created templates = %s", got)
		}
		expectNoClaimDeleted(t, r, 2)
	})

	t.Run("StatefulSet still being deleted", func(t *testing.T) {
		f := start(t)
		r := restart(f, func(objs []runtime.Object) []runtime.Object {
			for _, o := range objs {
				if sts, ok := o.(*appsv1.StatefulSet); ok {
					sts.DeletionTimestamp = &metav1.Time{Time: t0}
					sts.Finalizers = []string{metav1.FinalizerOrphanDependents}
				}
			}
			return objs
		})
		err := r.sync()
		expectErr(t, err, errWaiting)
		if err == nil || !strings.Contains(err.Error(), "StatefulSet nas is being deleted") {
			t.Errorf("outcome %v, want a wait for the deletion", err)
		}
		for _, a := range r.actions() {
			if strings.Contains(a, "statefulsets") || strings.Contains(a, "persistentvolumeclaims") {
				t.Errorf("wrote %s while the StatefulSet is being deleted", a)
			}
		}
	})
}

// A smaller size (an object stored before admission refused shrinking)
// changes nothing: volumes never shrink.
func TestResizeNeverShrinks(t *testing.T) {
	f := runningServer(t, newDittoServer(withFinalizer, withStorageClass("fast"), func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.Storage.MetadataSize = resource.MustParse("3Gi")
	}), storageClass("fast", true, false))
	f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Storage.MetadataSize = resource.MustParse("2Gi") }, true)
	f.catchUp()
	expectErr(t, f.sync(), nil)
	for _, a := range f.actions() {
		if strings.Contains(a, "statefulsets") || strings.Contains(a, "persistentvolumeclaims") {
			t.Errorf("a smaller size wrote %s", a)
		}
	}
	if got := templateSizes(f.statefulSet()); got != "metadata=3Gi content=5Gi" {
		t.Errorf("templates = %s", got)
	}
	expectRequest(t, f.claim("metadata-nas-0"), "3Gi")
}
