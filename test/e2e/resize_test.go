package e2e

// Growing a running server's volumes on the real API server: the claims'
// requests change, the StatefulSet is re-created with orphan deletion and
// adopts the same pod, and StorageResized follows the claims.
//
// The local cluster has no volume resizer (its volumes are static hostPath
// PersistentVolumes, and no CSI driver or external-resizer runs): nothing
// grows a volume after its claim asks for more. The test plays the storage
// side's completion itself, as a resizer would finish: it writes the
// PersistentVolume's capacity, then the claim's status.capacity through the
// status subresource.

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller"
	"github.com/dittofs/dittofs-operator/test/localcluster"
)

// expandableClass creates a StorageClass that allows volume expansion and
// two static 100Gi PersistentVolumes in it, removed when the test ends.
func (n *testNS) expandableClass() string {
	n.t.Helper()
	ctx := n.t.Context()
	name := "expandable-" + n.name
	mode := storagev1.VolumeBindingImmediate
	_, err := env.kube.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: name},
		Provisioner:          "kubernetes.io/no-provisioner",
		VolumeBindingMode:    &mode,
		AllowVolumeExpansion: ptr.To(true),
	}, metav1.CreateOptions{})
	if err != nil {
		n.t.Fatalf("create StorageClass %s: %v", name, err)
	}
	n.t.Cleanup(func() {
		_ = env.kube.StorageV1().StorageClasses().Delete(n.t.Context(), name, metav1.DeleteOptions{})
	})
	dir := n.t.TempDir() // nothing is written there: kwok runs no containers
	for i := range 2 {
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, i)},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(localcluster.PVSize)},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				StorageClassName:              name,
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: filepath.Join(dir, fmt.Sprint(i))},
				},
			},
		}
		if _, err := env.kube.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			n.t.Fatalf("create PersistentVolume %s: %v", pv.Name, err)
		}
		n.t.Cleanup(func() {
			_ = env.kube.CoreV1().PersistentVolumes().Delete(n.t.Context(), pv.Name, metav1.DeleteOptions{})
		})
	}
	return name
}

func (n *testNS) claim(name string) *corev1.PersistentVolumeClaim {
	n.t.Helper()
	pvc, err := env.kube.CoreV1().PersistentVolumeClaims(n.name).Get(n.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		n.t.Fatalf("get claim %s: %v", name, err)
	}
	return pvc
}

func claimTemplateSizes(sts *appsv1.StatefulSet) string {
	var parts []string
	for _, tmpl := range sts.Spec.VolumeClaimTemplates {
		q := tmpl.Spec.Resources.Requests[corev1.ResourceStorage]
		parts = append(parts, tmpl.Name+"="+q.String())
	}
	return strings.Join(parts, " ")
}

// finishResize plays the volume resizer the local cluster lacks: the
// claim's volume grows to the claim's request, then the claim's
// status.capacity says so (written through the status subresource).
func (n *testNS) finishResize(claim string) {
	n.t.Helper()
	ctx := n.t.Context()
	pvc := n.claim(claim)
	size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	pv, err := env.kube.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		n.t.Fatalf("get the volume of %s: %v", claim, err)
	}
	pv.Spec.Capacity[corev1.ResourceStorage] = size
	if _, err := env.kube.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}); err != nil {
		n.t.Fatalf("grow PersistentVolume %s: %v", pv.Name, err)
	}
	pvc.Status.Capacity[corev1.ResourceStorage] = size
	if _, err := env.kube.CoreV1().PersistentVolumeClaims(n.name).UpdateStatus(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		n.t.Fatalf("write the capacity of claim %s: %v", claim, err)
	}
}

// A size grows on an expandable StorageClass: the claims ask for it, the
// StatefulSet is re-created with the grown templates and adopts the running
// pod (same UID, never restarted), StorageResized reports the claims until
// the storage side grew them. The operator deletes no claim.
func TestResizeGrowsVolumesWithoutRestartingThePod(t *testing.T) {
	n := newNamespace(t, nil)
	class := n.expandableClass()
	ds := sampleDittoServer(t, readSample(t, "minimal"))
	mergeSpec(t, ds, fmt.Sprintf(`storage: {storageClassName: %s}`, class))
	n.create(ds)
	name := ds.GetName()
	server := n.waitReady(name)
	pod := n.runningPod(name + "-0")
	oldSTS := n.statefulSet(name)
	if got := claimTemplateSizes(oldSTS); got != "metadata=10Gi content=5Gi" {
		t.Fatalf("claim templates before = %s", got)
	}
	metaClaim, contentClaim := "metadata-"+name+"-0", "content-"+name+"-0"
	since := time.Now()

	// Above the volumes' 100Gi, so that the claims wait for the storage side.
	n.patchDS(name, `{"spec":{"storage":{"metadataSize":"150Gi","contentSize":"120Gi"}}}`)

	eventually(t, waitShort, "the claims' requests raised on the API server", func() (bool, string) {
		m, c := n.claim(metaClaim), n.claim(contentClaim)
		mr, cr := m.Spec.Resources.Requests[corev1.ResourceStorage], c.Spec.Resources.Requests[corev1.ResourceStorage]
		return mr.String() == "150Gi" && cr.String() == "120Gi", fmt.Sprintf("%s requests %s, %s requests %s", metaClaim, mr.String(), contentClaim, cr.String())
	})
	var sts *appsv1.StatefulSet
	eventually(t, waitShort, "the StatefulSet re-created with the grown templates", func() (bool, string) {
		s, err := env.kube.AppsV1().StatefulSets(n.name).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		sts = s
		return s.UID != oldSTS.UID && claimTemplateSizes(s) == "metadata=150Gi content=120Gi",
			fmt.Sprintf("uid %s (was %s), templates %s", s.UID, oldSTS.UID, claimTemplateSizes(s))
	})
	eventually(t, waitShort, "the running pod adopted by the new StatefulSet", func() (bool, string) {
		p, err := env.kube.CoreV1().Pods(n.name).Get(t.Context(), name+"-0", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ref := metav1.GetControllerOf(p)
		return ref != nil && ref.UID == sts.UID, fmt.Sprintf("pod uid %s, controller %v", p.UID, ref)
	})
	ds2 := n.waitDS(name, "StorageResized=False/VolumesResizing naming both claims", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		c := resizeCondition(ds)
		return c != nil && c.Reason == controller.ReasonVolumesResizing &&
				strings.Contains(c.Message, metaClaim+" 100Gi of 150Gi") && strings.Contains(c.Message, contentClaim+" 100Gi of 120Gi"),
			fmt.Sprintf("%+v", c)
	})
	n.waitReady(name)

	// The pod was never replaced: one UID from before the change to now,
	// Running, its revision the new StatefulSet's.
	consistently(t, 5*time.Second, "the pod keeps running", func() (bool, string) {
		p, err := env.kube.CoreV1().Pods(n.name).Get(t.Context(), name+"-0", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return p.UID == pod.UID && podRunning(p), fmt.Sprintf("uid %s (was %s), phase %s", p.UID, pod.UID, p.Status.Phase)
	})
	eventually(t, waitShort, "the new StatefulSet counts the adopted pod as current", func() (bool, string) {
		s := n.statefulSet(name)
		return s.Status.ObservedGeneration == s.Generation && s.Status.ReadyReplicas == 1 && s.Status.UpdatedReplicas == 1 &&
				s.Status.CurrentRevision == s.Status.UpdateRevision,
			fmt.Sprintf("%+v", s.Status)
	})

	n.finishResize(metaClaim)
	n.finishResize(contentClaim)
	n.waitDS(name, "StorageResized=True/VolumesResized", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return hasCondition(ds, controller.ConditionStorageResized, metav1.ConditionTrue, controller.ReasonVolumesResized), statusSummary(ds)
	})
	evs := n.waitEvents(server.UID, controller.ReasonVolumesResized, 1)
	for reason, want := range map[string]int{controller.ReasonResizingVolumes: 1, controller.ReasonRecreatingStatefulSet: 1,
		controller.ReasonVolumesResized: 1, controller.ReasonVolumeExpansionNotAllowed: 0, controller.ReasonReconcileFailed: 0} {
		if got := countEvents(evs, reason); got != want {
			t.Errorf("%d %s events, want %d: %s", got, reason, want, eventSummary(evs))
		}
	}
	if p := n.pod(name + "-0"); p.UID != pod.UID {
		t.Errorf("pod %s replaced (uid %s, was %s)", p.Name, p.UID, pod.UID)
	}
	writes := operatorWrites(t, since)
	t.Logf("the operator's writes from the spec change to the end:\n%s", auditSummary(writes))
	for _, w := range writes {
		if w.Resource == "persistentvolumeclaims" && w.Verb != "patch" {
			t.Errorf("the operator wrote a claim with %s: %s", w.Verb, auditSummary([]localcluster.AuditEvent{w}))
		}
		if w.Resource == "pods" {
			t.Errorf("the operator wrote a pod: %s", auditSummary([]localcluster.AuditEvent{w}))
		}
	}
	t.Logf("while resizing: %s", statusSummary(ds2))
}

// On a StorageClass without allowVolumeExpansion (the cluster's default
// "standard"), a grown size changes nothing: one Warning and the condition
// say why, the claims and the StatefulSet stay as they are.
func TestResizeWithoutExpansionWarnsOnce(t *testing.T) {
	n := newNamespace(t, nil)
	name := n.applySample("minimal")
	server := n.waitReady(name)
	pod := n.runningPod(name + "-0")
	sts := n.statefulSet(name)

	n.patchDS(name, `{"spec":{"storage":{"metadataSize":"20Gi"}}}`)
	n.waitDS(name, "StorageResized=False/VolumeExpansionNotAllowed", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return hasCondition(ds, controller.ConditionStorageResized, metav1.ConditionFalse, controller.ReasonVolumeExpansionNotAllowed), statusSummary(ds)
	})
	msg := ""
	for _, e := range n.waitEvents(server.UID, controller.ReasonVolumeExpansionNotAllowed, 1) {
		if e.Reason == controller.ReasonVolumeExpansionNotAllowed {
			msg = e.Message
		}
	}
	if !strings.Contains(msg, `StorageClass "standard" does not allow volume expansion`) ||
		!strings.Contains(msg, "metadata-"+name+"-0 10Gi (spec asks 20Gi)") {
		t.Errorf("Warning %q does not name the class and the claim", msg)
	}
	consistently(t, resyncPeriod+5*time.Second, "one Warning, nothing changed", func() (bool, string) {
		evs := n.events(server.UID)
		s := n.statefulSet(name)
		p := n.pod(name + "-0")
		req := n.claim("metadata-" + name + "-0").Spec.Resources.Requests[corev1.ResourceStorage]
		ok := countEvents(evs, controller.ReasonVolumeExpansionNotAllowed) == 1 && s.UID == sts.UID &&
			claimTemplateSizes(s) == claimTemplateSizes(sts) && p.UID == pod.UID && req.String() == "10Gi"
		return ok, fmt.Sprintf("events %s; StatefulSet %s %s; pod %s; claim requests %s", eventSummary(evs), s.UID, claimTemplateSizes(s), p.UID, req.String())
	})
	if ds := n.ds(name); !hasCondition(ds, controller.ConditionReady, metav1.ConditionTrue, controller.ReasonReady) {
		t.Errorf("a resize that cannot happen made the server not ready: %s", statusSummary(ds))
	}
}

// Sizes grow and never shrink (an unset contentSize is its 5Gi default); the
// StorageClass cannot change. Each refusal names the field.
func TestAdmissionStorageGrowsNeverShrinks(t *testing.T) {
	n := newNamespace(t, nil)
	ds := sampleDittoServer(t, readSample(t, "minimal"))
	mergeSpec(t, ds, `{replicas: 0, storage: {metadataSize: 10Gi, contentSize: 8Gi}}`) // no pod needed to test admission
	n.create(ds)
	client := env.dyn.Resource(dittoServerGVR).Namespace(n.name)

	for _, tc := range []struct{ name, patch, field, msg string }{
		{"metadataSize shrinks", `{"spec":{"storage":{"metadataSize":"5Gi"}}}`, "spec.storage.metadataSize", "spec.storage.metadataSize cannot shrink"},
		{"metadataSize shrinks, in bytes", `{"spec":{"storage":{"metadataSize":1073741824}}}`, "spec.storage.metadataSize", "cannot shrink"},
		{"contentSize shrinks", `{"spec":{"storage":{"contentSize":"4Gi"}}}`, "spec.storage.contentSize", "spec.storage.contentSize cannot shrink"},
		{"contentSize removed (back to the 5Gi default)", `{"spec":{"storage":{"contentSize":null}}}`, "spec.storage.contentSize", "cannot shrink"},
		{"storageClassName added", `{"spec":{"storage":{"storageClassName":"standard"}}}`, "spec.storage.storageClassName", "spec.storage.storageClassName is immutable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.Patch(t.Context(), ds.GetName(), types.MergePatchType, []byte(tc.patch), metav1.PatchOptions{DryRun: dryRun})
			assertInvalid(t, err, tc.field, tc.msg)
		})
	}
	for _, tc := range []struct{ name, patch string }{
		{"every size grows", `{"spec":{"storage":{"metadataSize":"20Gi","contentSize":"16Gi"}}}`},
		{"a size grows, in bytes", `{"spec":{"storage":{"metadataSize":21474836480}}}`},
		{"the same size, written differently", `{"spec":{"storage":{"metadataSize":"10240Mi"}}}`},
		{"other fields with the sizes kept", `{"spec":{"shutdownTimeout":"45s","storage":{"metadataSize":"10Gi"}}}`},
	} {
		t.Run(tc.name+" is accepted", func(t *testing.T) {
			if _, err := client.Patch(t.Context(), ds.GetName(), types.MergePatchType, []byte(tc.patch), metav1.PatchOptions{DryRun: dryRun}); err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}

	t.Run("contentSize set at creation", func(t *testing.T) {
		withContent := sampleDittoServer(t, readSample(t, "minimal"))
		withContent.SetName("with-content")
		mergeSpec(t, withContent, `{replicas: 0, storage: {contentSize: 50Gi}}`)
		n.create(withContent)
		_, err := client.Patch(t.Context(), "with-content", types.MergePatchType, []byte(`{"spec":{"storage":{"contentSize":"40Gi"}}}`), metav1.PatchOptions{DryRun: dryRun})
		assertInvalid(t, err, "spec.storage.contentSize", "spec.storage.contentSize cannot shrink")
		_, err = client.Patch(t.Context(), "with-content", types.MergePatchType, []byte(`{"spec":{"storage":{"contentSize":null}}}`), metav1.PatchOptions{DryRun: dryRun})
		assertInvalid(t, err, "spec.storage.contentSize", "cannot shrink")
		if _, err := client.Patch(t.Context(), "with-content", types.MergePatchType, []byte(`{"spec":{"storage":{"contentSize":"60Gi"}}}`), metav1.PatchOptions{DryRun: dryRun}); err != nil {
			t.Errorf("growing contentSize rejected: %v", err)
		}
	})
}

func resizeCondition(ds *dittov1alpha1.DittoServer) *metav1.Condition {
	typ := controller.ConditionStorageResized
	for i := range ds.Status.Conditions {
		if ds.Status.Conditions[i].Type == typ {
			return &ds.Status.Conditions[i]
		}
	}
	return nil
}

// An operator that stopped between deleting the StatefulSet (orphan) and
// creating it again resumes on its first pass: it creates the StatefulSet
// with the grown templates, which adopts the pod that kept running, and
// writes no claim again. The test leaves the cluster as that operator
// would have: the claims' requests raised and the StatefulSet deleted with
// orphan propagation, done while the operator is down.
func TestResizeResumesAfterAnOperatorRestart(t *testing.T) {
	n := newNamespace(t, nil)
	class := n.expandableClass()
	ds := sampleDittoServer(t, readSample(t, "minimal"))
	mergeSpec(t, ds, fmt.Sprintf(`storage: {storageClassName: %s}`, class))
	n.create(ds)
	name := ds.GetName()
	n.waitReady(name)
	pod := n.runningPod(name + "-0")
	oldSTS := n.statefulSet(name)

	waitGarbageCollector(t) // before the operator stops, not while it is down
	t.Cleanup(func() {
		if !env.operatorRunning() { // the test failed before the restart
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := env.startOperator(ctx); err != nil {
				t.Errorf("restart the operator: %v", err)
			}
		}
	})
	if code := env.stopOperator(); code != 0 {
		t.Errorf("operator exited with %d on SIGTERM, want 0", code)
	}
	n.patchDS(name, `{"spec":{"storage":{"metadataSize":"150Gi"}}}`)
	_, err := env.kube.CoreV1().PersistentVolumeClaims(n.name).Patch(t.Context(), "metadata-"+name+"-0", types.MergePatchType,
		[]byte(`{"spec":{"resources":{"requests":{"storage":"150Gi"}}}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("raise the claim's request: %v", err)
	}
	err = env.kube.AppsV1().StatefulSets(n.name).Delete(t.Context(), name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan), Preconditions: &metav1.Preconditions{UID: &oldSTS.UID}})
	if err != nil {
		t.Fatalf("delete the StatefulSet with orphan propagation: %v", err)
	}
	eventually(t, waitShort, "the StatefulSet gone and its pod orphaned", func() (bool, string) {
		_, err := env.kube.AppsV1().StatefulSets(n.name).Get(t.Context(), name, metav1.GetOptions{})
		p := n.pod(name + "-0")
		return err != nil && metav1.GetControllerOf(p) == nil, fmt.Sprintf("StatefulSet: %v; pod owners %v", err, p.OwnerReferences)
	})

	since := time.Now()
	if err := env.startOperator(t.Context()); err != nil {
		t.Fatal(err)
	}
	var sts *appsv1.StatefulSet
	eventually(t, waitShort, "the StatefulSet re-created with the grown template", func() (bool, string) {
		s, err := env.kube.AppsV1().StatefulSets(n.name).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		sts = s
		return claimTemplateSizes(s) == "metadata=150Gi content=5Gi", claimTemplateSizes(s)
	})
	eventually(t, waitShort, "the pod adopted, never replaced", func() (bool, string) {
		p := n.pod(name + "-0")
		ref := metav1.GetControllerOf(p)
		return p.UID == pod.UID && ref != nil && ref.UID == sts.UID && podRunning(p), fmt.Sprintf("pod uid %s (was %s), controller %v", p.UID, pod.UID, ref)
	})
	n.waitDS(name, "StorageResized=False/VolumesResizing", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return hasCondition(ds, controller.ConditionStorageResized, metav1.ConditionFalse, controller.ReasonVolumesResizing), statusSummary(ds)
	})
	for _, w := range operatorWrites(t, since) {
		if w.Resource == "persistentvolumeclaims" || (w.Resource == "statefulsets" && w.Verb != "create") {
			t.Errorf("after the restart the operator wrote %s", auditSummary([]localcluster.AuditEvent{w}))
		}
	}
}
