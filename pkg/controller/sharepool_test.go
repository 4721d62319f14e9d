package controller

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

func sameMap[M ~map[K]V, K comparable, V any](a, b M) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func sameSlice[S ~[]E, E any](a, b S) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}

// The children of one DittoServer share equal label and selector maps in
// the caches; another DittoServer's, and maps of objects that are not the
// operator's, are left alone; a DittoServer that is gone is forgotten.
func TestSharePoolSharesEqualLabelSets(t *testing.T) {
	pool := newSharePool()
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
	var nilPool *sharePool
	l := labels("nas", "server")
	if !sameMap(nilPool.labels(l), l) {
		t.Error("a nil pool must share nothing")
	}
	nilPool.forget("nas")
}

// renderedChildren is what the caches hold of a DittoServer's StatefulSet,
// file Service and metadata claim, as the API server returns them.
func renderedChildren(t *testing.T, name string, uid types.UID) (*appsv1.StatefulSet, *corev1.Service, *corev1.PersistentVolumeClaim) {
	t.Helper()
	ds := newDittoServer(func(ds *dittov1alpha1.DittoServer) {
		ds.Name, ds.UID = name, uid
		ds.Spec.Storage.ContentSize = ptr.To(resource.MustParse("5Gi"))
	})
	in := resources.Inputs{JWTSecret: resources.JWTSecretSelector(ds),
		AdminPassword: resources.AdminPasswordSelector(ds)}
	sts, err := resources.StatefulSet(ds, in, "config-hash-"+name)
	if err != nil {
		t.Fatal(err)
	}
	svc := resources.FileService(ds)
	svc.Spec.ClusterIP = "10.0.0.1"
	svc.Spec.ClusterIPs = []string{"10.0.0.1"}
	svc.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
	tmpl := sts.Spec.VolumeClaimTemplates[0]
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: tmpl.Name + "-" + name + "-0", Namespace: testNamespace,
		Labels: tmpl.Labels}, Spec: *tmpl.Spec.DeepCopy(),
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: tmpl.Spec.Resources.Requests.DeepCopy()}}
	return sts, svc, claim
}

// Two DittoServers' children share what the servers render alike (probes,
// ports, mounts, security contexts, sizes, Service ports) and the children
// of one server share its owner reference; what names a server stays its
// own; sharing changes no object's content.
func TestSharePoolSharesCommonParts(t *testing.T) {
	pool := newSharePool()
	transform := pool.transform(dropManagedFields)
	stsA, svcA, claimA := renderedChildren(t, "nas", "uid-nas")
	stsB, svcB, claimB := renderedChildren(t, "web", "uid-web")
	before := []interface{}{stsA.DeepCopy(), svcA.DeepCopy(), claimA.DeepCopy(), stsB.DeepCopy(), svcB.DeepCopy(), claimB.DeepCopy()}
	after := []interface{}{stsA, svcA, claimA, stsB, svcB, claimB}
	for _, obj := range after {
		if _, err := transform(obj); err != nil {
			t.Fatal(err)
		}
	}
	for i := range before {
		if !reflect.DeepEqual(before[i], after[i]) {
			t.Errorf("sharing changed the content of %T %d", after[i], i)
		}
	}
	a, b := &stsA.Spec.Template.Spec.Containers[0], &stsB.Spec.Template.Spec.Containers[0]
	for _, c := range []struct {
		what string
		same bool
		want bool
	}{
		{"liveness probes", a.LivenessProbe == b.LivenessProbe, true},
		{"startup probes", a.StartupProbe == b.StartupProbe, true},
		{"container security contexts", a.SecurityContext == b.SecurityContext, true},
		{"pod security contexts", stsA.Spec.Template.Spec.SecurityContext == stsB.Spec.Template.Spec.SecurityContext, true},
		{"container ports", sameSlice(a.Ports, b.Ports), true},
		{"volume mounts", sameSlice(a.VolumeMounts, b.VolumeMounts), true},
		{"arguments", sameSlice(a.Args, b.Args), true},
		{"claim template sizes", sameMap(stsA.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests, stsB.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests), true},
		{"a claim's size and its template's", sameMap(claimA.Spec.Resources.Requests, stsA.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests), true},
		{"claim capacities", sameMap(claimA.Status.Capacity, claimB.Status.Capacity), true},
		{"metadata and content sizes (10Gi, 5Gi)", sameMap(stsA.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests, stsA.Spec.VolumeClaimTemplates[1].Spec.Resources.Requests), false},
		{"Service ports", sameSlice(svcA.Spec.Ports, svcB.Spec.Ports), true},
		{"a server's StatefulSet and Service owner references", sameSlice(stsA.OwnerReferences, svcA.OwnerReferences), true},
		{"two servers' owner references", sameSlice(stsA.OwnerReferences, stsB.OwnerReferences), false},
		{"environment (names the server's Secret)", sameSlice(a.Env, b.Env), false},
		{"cluster IPs", sameSlice(svcA.Spec.ClusterIPs, svcB.Spec.ClusterIPs), false},
	} {
		if c.same != c.want {
			t.Errorf("%s shared: %v, want %v", c.what, c.same, c.want)
		}
	}

	// A pooled part under the same key that is not deeply equal (a key
	// collision) is never handed out: the part stays its own.
	own := ptr.To[int64](1)
	pool.content[keyOf("int64", contentKey(own))] = ptr.To[int64](2)
	if got := sharedPart(pool, "int64", own); got != own {
		t.Errorf("a part was replaced by a pooled one of other content: %d for %d", *got, *own)
	}

	pool.forget("nas")
	if !sameSlice(pool.ownerRefs(stsB.OwnerReferences), stsB.OwnerReferences) {
		t.Error("forgetting nas dropped web's owner references")
	}
	fresh, _, _ := renderedChildren(t, "nas", "uid-nas")
	if sameSlice(pool.ownerRefs(fresh.OwnerReferences), stsA.OwnerReferences) {
		t.Error("nas's owner references outlived nas in the pool")
	}
}

// DittoServers share the spec parts the API server defaults alike; a part
// one server sets its own way stays its own; sharing changes no content.
func TestSharePoolSharesDittoServerDefaults(t *testing.T) {
	pool := newSharePool()
	transform := pool.transform(dropManagedFields)
	defaulted := func(name string, db dittov1alpha1.DatabaseType) *dittov1alpha1.DittoServer {
		return newDittoServer(func(ds *dittov1alpha1.DittoServer) {
			ds.Name, ds.UID = name, types.UID("uid-"+name)
			ds.Spec.Image = "marmos91c/dittofs:" + "v0.29.0"
			ds.Spec.Database = &dittov1alpha1.DatabaseSpec{Type: db}
			ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{Port: ptr.To[int32](8080)}
			ds.Spec.Identity = &dittov1alpha1.IdentitySpec{JWT: &dittov1alpha1.JWTSpec{}}
		})
	}
	a, b, c := defaulted("nas", dittov1alpha1.DatabaseSQLite), defaulted("web", dittov1alpha1.DatabaseSQLite), defaulted("db", "postgres")
	before := []*dittov1alpha1.DittoServer{a.DeepCopy(), b.DeepCopy(), c.DeepCopy()}
	for i, ds := range []*dittov1alpha1.DittoServer{a, b, c} {
		if _, err := transform(ds); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(before[i], ds) {
			t.Errorf("sharing changed DittoServer %s", ds.Name)
		}
	}
	if a.Spec.ControlPlane != b.Spec.ControlPlane || a.Spec.ControlPlane != c.Spec.ControlPlane || a.Spec.Identity != b.Spec.Identity {
		t.Error("equal defaulted parts are not shared")
	}
	if a.Spec.Database != b.Spec.Database || a.Spec.Database == c.Spec.Database {
		t.Errorf("databases shared: sqlite/sqlite %v, sqlite/postgres %v; want true, false",
			a.Spec.Database == b.Spec.Database, a.Spec.Database == c.Spec.Database)
	}
}

// Parts shared by content are bounded: past maxContentParts the pool of
// them starts afresh, and sharing goes on with new entries.
func TestSharePoolContentIsBounded(t *testing.T) {
	pool := newSharePool()
	first := ptr.To[int64](0)
	if got := sharedPart(pool, "int64", first); got != first {
		t.Fatal("the first value is not pooled as it is")
	}
	for i := int64(1); i < maxContentParts; i++ {
		sharedPart(pool, "int64", ptr.To(i))
	}
	if got := sharedPart(pool, "int64", ptr.To[int64](0)); got != first {
		t.Error("a value pooled before the bound is not shared")
	}
	sharedPart(pool, "int64", ptr.To[int64](maxContentParts)) // one past the bound: the pool starts afresh
	if n := len(pool.content); n != 1 {
		t.Errorf("content pool holds %d parts after passing its bound, want 1", n)
	}
	fresh := ptr.To[int64](0)
	if got := sharedPart(pool, "int64", fresh); got != fresh {
		t.Error("a value from before the fresh start is still pooled")
	}
	if got := sharedPart(pool, "int64", ptr.To[int64](0)); got != fresh {
		t.Error("sharing does not go on after a fresh start")
	}
}
