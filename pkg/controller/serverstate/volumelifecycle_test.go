package serverstate

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

var gvrPVCs = corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims")

// volumeObjects: teamObjects with spec.volume on the share, and the file
// Service with its cluster IP.
func volumeObjects(policy dittov1alpha1.DeletionPolicy) []runtime.Object {
	objs := teamObjects()
	for _, o := range objs {
		if s, ok := o.(*dittov1alpha1.DittoShare); ok {
			s.Spec.Volume = &dittov1alpha1.ShareVolume{ClaimName: "projects-data"}
			s.Spec.DeletionPolicy = policy
		}
	}
	svc := resources.FileService(availableServer())
	svc.Spec.ClusterIP = "10.96.0.42"
	return append(objs, svc)
}

func (f *fixture) pvc(name string) (*corev1.PersistentVolumeClaim, error) {
	return f.kubeCS.CoreV1().PersistentVolumeClaims(testNamespace).Get(f.ctx, name, metav1.GetOptions{})
}

func (f *fixture) pv(name string) (*corev1.PersistentVolume, error) {
	return f.kubeCS.CoreV1().PersistentVolumes().Get(f.ctx, name, metav1.GetOptions{})
}

// bind does what the PersistentVolume controller does to a pre-bound pair.
func (f *fixture) bind(claim string) {
	f.t.Helper()
	pvc, err := f.pvc(claim)
	if err != nil {
		f.t.Fatal(err)
	}
	pvc.Status.Phase = corev1.ClaimBound
	f.update(pvc, gvrPVCs)
}

func volumeCondition(t *testing.T, s *dittov1alpha1.DittoShare) metav1.Condition {
	t.Helper()
	c := condition(s.Status.Conditions, ConditionVolumeReady)
	if c == nil {
		t.Fatalf("DittoShare %s has no VolumeReady condition: %+v", s.Name, s.Status.Conditions)
	}
	return *c
}

func TestShareVolumeIsMadeBoundAndQuiet(t *testing.T) {
	f := newFixture(t, volumeObjects(dittov1alpha1.DeletionRetain)...)
	err := f.sync()
	if !errors.Is(err, errRequeue) {
		t.Fatalf("a claim waiting to bind must requeue with backoff, err = %v", err)
	}
	pv, err := f.pv(ShareVolumeName(f.share("projects")))
	if err != nil || pv.Spec.NFS.Server != "10.96.0.42" || pv.Spec.NFS.Path != "/projects" || pv.Spec.ClaimRef.Name != "projects-data" {
		t.Fatalf("PersistentVolume = %+v, %v", pv, err)
	}
	pvc, err := f.pvc("projects-data")
	if err != nil || pvc.Spec.VolumeName != pv.Name {
		t.Fatalf("claim = %+v, %v", pvc, err)
	}
	if c := volumeCondition(t, f.share("projects")); c.Status != metav1.ConditionFalse || c.Reason != ReasonVolumePending {
		t.Errorf("VolumeReady before binding = %+v, want False/VolumePending", c)
	}
	for _, e := range f.events() {
		if strings.HasPrefix(e, corev1.EventTypeWarning) {
			t.Errorf("waiting for the binding made a Warning: %s", e)
		}
	}

	f.bind("projects-data")
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	s := f.share("projects")
	if c := volumeCondition(t, s); c.Status != metav1.ConditionTrue || c.Reason != ReasonVolumeBound || !strings.Contains(c.Message, "10.96.0.42:/projects") {
		t.Errorf("VolumeReady once bound = %+v", c)
	}
	if v := s.Status.Volume; v == nil || v.PersistentVolumeUID != pv.UID || v.ClaimUID != pvc.UID || v.Phase != "Bound" || v.ClaimName != "projects-data" {
		t.Errorf("status.volume = %+v, want the UIDs of %s and projects-data", v, pv.Name)
	}
	// Converged: no write, no event.
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	if w, ev := f.kubeWrites(), f.events(); len(w) != 0 || len(ev) != 0 {
		t.Errorf("a converged share volume wrote %v, events %v", w, ev)
	}
}

func TestShareVolumeFollowsTheDeletionPolicy(t *testing.T) {
	for _, policy := range []dittov1alpha1.DeletionPolicy{dittov1alpha1.DeletionRetain, dittov1alpha1.DeletionDelete} {
		t.Run(string(policy), func(t *testing.T) {
			f := newFixture(t, volumeObjects(policy)...)
			_ = f.sync()
			f.bind("projects-data")
			if err := f.sync(); err != nil {
				t.Fatal(err)
			}
			pvName := ShareVolumeName(f.share("projects"))
			f.deleteObj(f.share("projects"), gvrDittoShares)
			if err := f.sync(); err != nil {
				t.Fatal(err)
			}
			_, pvErr := f.pv(pvName)
			_, pvcErr := f.pvc("projects-data")
			if policy == dittov1alpha1.DeletionRetain && (pvErr != nil || pvcErr != nil) {
				t.Errorf("Retain: the PV and the claim must stay: %v, %v", pvErr, pvcErr)
			}
			if policy == dittov1alpha1.DeletionDelete && (!apierrors.IsNotFound(pvErr) || !apierrors.IsNotFound(pvcErr)) {
				t.Errorf("Delete: the PV and the claim must go: %v, %v", pvErr, pvcErr)
			}
		})
	}
}

func TestRemovingSpecVolumeDeletesOnlyTheOperatorsObjects(t *testing.T) {
	f := newFixture(t, volumeObjects(dittov1alpha1.DeletionRetain)...)
	_ = f.sync()
	f.bind("projects-data")
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	s := f.share("projects")
	pvName := ShareVolumeName(s)
	s.Spec.Volume = nil
	s.Generation++
	f.update(s, gvrDittoShares)
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pvc("projects-data"); !apierrors.IsNotFound(err) {
		t.Errorf("claim after removing spec.volume: %v, want NotFound", err)
	}
	if _, err := f.pv(pvName); !apierrors.IsNotFound(err) {
		t.Errorf("PV after removing spec.volume: %v, want NotFound", err)
	}
	s = f.share("projects")
	if s.Status.Volume != nil || condition(s.Status.Conditions, ConditionVolumeReady) != nil {
		t.Errorf("status after removing spec.volume: volume %+v, conditions %+v", s.Status.Volume, s.Status.Conditions)
	}
}

func TestShareVolumeLeavesAForeignClaimAlone(t *testing.T) {
	foreign := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "projects-data", Namespace: testNamespace, UID: "someone-elses"},
		Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "elsewhere"}}
	f := newFixture(t, append(volumeObjects(dittov1alpha1.DeletionDelete), foreign)...)
	_ = f.sync()
	c := volumeCondition(t, f.share("projects"))
	if c.Status != metav1.ConditionFalse || c.Reason != ReasonVolumeConflict {
		t.Errorf("VolumeReady = %+v, want False/VolumeConflict", c)
	}
	warnings := 0
	for _, e := range f.events() {
		if strings.HasPrefix(e, "Warning "+ReasonVolumeConflict) {
			warnings++
		}
	}
	if warnings != 1 {
		t.Errorf("%d VolumeConflict Warnings, want 1", warnings)
	}
	_ = f.sync()
	if ev := f.events(); len(ev) != 0 {
		t.Errorf("the conflict was reported again: %v", ev)
	}
	// Deleting the share (policy Delete) leaves the foreign claim.
	f.deleteObj(f.share("projects"), gvrDittoShares)
	_ = f.sync()
	if got, err := f.pvc("projects-data"); err != nil || got.UID != "someone-elses" {
		t.Errorf("the foreign claim must stay: %v", err)
	}
}

// The namespaced install may not make PersistentVolumes: a condition and one
// Warning, no requeue loop.
func TestShareVolumeNotPermitted(t *testing.T) {
	f := newFixture(t, volumeObjects(dittov1alpha1.DeletionRetain)...)
	f.kubeCS.PrependReactor("*", "persistentvolumes", func(a clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "persistentvolumes"}, "", errors.New("namespaced install"))
	})
	var events []string
	for range 2 { // one Warning over both passes
		if err := f.sync(); err != nil {
			t.Fatalf("a forbidden PV must not requeue: %v", err)
		}
		events = append(events, f.events()...)
	}
	if n := strings.Count(strings.Join(events, "\n"), "Warning "+ReasonVolumeNotPermitted); n != 1 {
		t.Errorf("%d VolumeNotPermitted Warnings, want 1: %v", n, events)
	}
	c := volumeCondition(t, f.share("projects"))
	if c.Status != metav1.ConditionFalse || c.Reason != ReasonVolumeNotPermitted {
		t.Errorf("VolumeReady = %+v, want False/VolumeNotPermitted", c)
	}
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	if w, ev := f.kubeWrites(), f.events(); len(w) != 0 || len(ev) != 0 {
		t.Errorf("second pass: writes %v, events %v, want none", w, ev)
	}
}

// A re-created file Service has a new cluster IP: the PV's NFS source cannot
// change in place, so the PV is deleted and made again for the new address.
func TestShareVolumeFollowsANewServiceAddress(t *testing.T) {
	f := newFixture(t, volumeObjects(dittov1alpha1.DeletionRetain)...)
	_ = f.sync()
	f.bind("projects-data")
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	svc, err := f.kubeCS.CoreV1().Services(testNamespace).Get(f.ctx, resources.FileServiceName(f.server()), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.ClusterIP = "10.96.0.99"
	f.update(svc, corev1.SchemeGroupVersion.WithResource("services"))
	pvName := ShareVolumeName(f.share("projects"))
	if err := f.sync(); !errors.Is(err, errRequeue) {
		t.Fatalf("replacing the PV must requeue, err = %v", err)
	}
	if !hasEvent(f.events(), "Normal "+ReasonVolumeReplaced) {
		t.Errorf("no %s event", ReasonVolumeReplaced)
	}
	if err := f.sync(); err != nil {
		t.Fatal(err)
	}
	pv, err := f.pv(pvName)
	if err != nil || pv.Spec.NFS.Server != "10.96.0.99" {
		t.Fatalf("PV after the Service's new address: %+v, %v", pv, err)
	}
	if c := volumeCondition(t, f.share("projects")); c.Reason != ReasonVolumeBound {
		t.Errorf("VolumeReady = %+v, want VolumeBound", c)
	}
}
