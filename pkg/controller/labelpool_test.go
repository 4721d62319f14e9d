package controller

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

func sameMap(a, b map[string]string) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// The children of one DittoServer share equal label and selector maps in
// the caches; another DittoServer's, and maps of objects that are not the
// operator's, are left alone; a DittoServer that is gone is forgotten.
func TestLabelPoolSharesEqualLabelSets(t *testing.T) {
	pool := newLabelPool()
	labels := func(instance, component string) map[string]string {
		return map[string]string{resources.ManagedByLabel: resources.ManagedByValue, resources.InstanceLabel: instance,
			resources.NameLabel: "dittofs", resources.ComponentLabel: component}
	}
	selector := func(instance string) map[string]string {
		return map[string]string{resources.InstanceLabel: instance, resources.NameLabel: "dittofs"}
	}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "nas", Labels: labels("nas", "server")},
		Spec: appsv1.StatefulSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: selector("nas")},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels("nas", "server")}},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{
				{ObjectMeta: metav1.ObjectMeta{Name: "metadata", Labels: labels("nas", "storage")}},
				{ObjectMeta: metav1.ObjectMeta{Name: "content", Labels: labels("nas", "storage")}},
			}}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "nas-file", Labels: labels("nas", "server")},
		Spec: corev1.ServiceSpec{Selector: selector("nas")}}
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "metadata-nas-0", Labels: labels("nas", "storage")}}
	other := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web-file", Labels: labels("web", "server")},
		Spec: corev1.ServiceSpec{Selector: selector("web")}}
	foreign := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db", Labels: map[string]string{"app": "db"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "db"}}}
	foreignCopy := foreign.DeepCopy()

	transform := pool.transform(dropManagedFields)
	for _, obj := range []interface{}{sts, svc, claim, other, foreign, foreignCopy} {
		if _, err := transform(obj); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		what string
		a, b map[string]string
		same bool
	}{
		{"StatefulSet and its pod template", sts.Labels, sts.Spec.Template.Labels, true},
		{"StatefulSet and its Service", sts.Labels, svc.Labels, true},
		{"the two claim templates", sts.Spec.VolumeClaimTemplates[0].Labels, sts.Spec.VolumeClaimTemplates[1].Labels, true},
		{"a claim template and the claim", sts.Spec.VolumeClaimTemplates[0].Labels, claim.Labels, true},
		{"the StatefulSet's and the Service's selectors", sts.Spec.Selector.MatchLabels, svc.Spec.Selector, true},
		{"server and storage labels", sts.Labels, claim.Labels, false},
		{"two DittoServers", svc.Labels, other.Labels, false},
		{"objects that are not the operator's", foreign.Labels, foreignCopy.Labels, false},
		{"selectors of objects that are not the operator's", foreign.Spec.Selector, foreignCopy.Spec.Selector, false},
	} {
		if got := sameMap(c.a, c.b); got != c.same {
			t.Errorf("%s share a map: %v, want %v", c.what, got, c.same)
		}
	}
	if !reflect.DeepEqual(sts.Spec.Template.Labels, labels("nas", "server")) || !reflect.DeepEqual(svc.Spec.Selector, selector("nas")) {
		t.Errorf("shared maps changed content: %v, %v", sts.Spec.Template.Labels, svc.Spec.Selector)
	}
	if n := pool.len(); n != 5 {
		t.Errorf("pool holds %d sets, want 5 (nas: server, storage, selector; web: server, selector)", n)
	}

	pool.forget("nas")
	if n := pool.len(); n != 2 {
		t.Errorf("after forgetting nas the pool holds %d sets, want web's 2", n)
	}
	var nilPool *labelPool
	l := labels("nas", "server")
	if !sameMap(nilPool.share(l), l) {
		t.Error("a nil pool must share nothing")
	}
	nilPool.forget("nas")
}
