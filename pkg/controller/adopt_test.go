package controller

// Re-created with the same name after `kubectl delete --cascade=orphan`: the
// children the garbage collector left without owner are adopted — through
// their usual write path, one Adopted event each — and the server keeps its
// StatefulSet (so its pod and volumes); a child another owner controls, or
// one without the operator's labels for this name, is still refused.

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// orphanedChildren converges a DittoServer of testName under another UID,
// then removes every owner reference as the garbage collector does after an
// orphaning delete, and returns the children (no DittoServer) with mod
// applied to each.
func orphanedChildren(t *testing.T, mod func(obj metav1.Object)) []runtime.Object {
	t.Helper()
	earlier := newFixture(t, false, newDittoServer(withFinalizer, func(ds *dittov1alpha1.DittoServer) { ds.UID = "uid-of-the-earlier-one" }))
	earlier.converge()
	var out []runtime.Object
	for _, obj := range earlier.clusterObjects() {
		m, ok := obj.(metav1.Object)
		if !ok {
			t.Fatalf("%T has no metadata", obj)
		}
		if _, isDS := obj.(*dittov1alpha1.DittoServer); isDS {
			continue
		}
		if _, isSC := obj.(interface{ GetProvisioner() string }); isSC {
			continue
		}
		m.SetOwnerReferences(nil)
		if mod != nil {
			mod(m)
		}
		out = append(out, obj)
	}
	return out
}

func TestOrphanedChildrenAreAdopted(t *testing.T) {
	children := orphanedChildren(t, nil)
	f := newFixture(t, false, append([]runtime.Object{newDittoServer(withFinalizer)}, children...)...)
	hashBefore := f.podConfigHash()

	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(),
		// The kept credentials Secret is read once (its key names) to
		// check it holds every value the re-created server needs.
		"get secrets nas-generated",
		// The issued TLS Secrets are taken over but issued anew (a CA the
		// operator did not issue for this DittoServer is not trusted):
		// the CA's key is read to sign the serving certificate.
		"get secrets nas-ca", "patch secrets nas-ca", "patch secrets nas-api-tls",
		"update configmaps nas-config",
		"update services nas-headless", "update services nas-file", "update services nas-api",
		"update statefulsets nas",
		"apply dittoservers/status nas")
	expectEvents(t, f.events(),
		"Normal Adopted Adopted Secret nas-ca and issued the API's CA in it anew",
		"Normal Adopted Adopted Secret nas-api-tls and issued the API's certificate in it anew",
		"Normal Adopted Adopted ConfigMap nas-config",
		"Normal Adopted Adopted Service nas-headless", "Normal Adopted Adopted Service nas-file", "Normal Adopted Adopted Service nas-api",
		"Normal Adopted Adopted StatefulSet nas",
		"Normal ConfigUpdated Configuration updated, pods will restart")

	ds := f.dittoServer()
	for _, obj := range f.clusterObjects() {
		m := obj.(metav1.Object)
		switch obj.(type) {
		case *corev1.ConfigMap, *corev1.Service:
		default:
			continue
		}
		if !controlledBy(m, ds) {
			t.Errorf("%T %s not adopted: owner references %v", obj, m.GetName(), m.GetOwnerReferences())
		}
	}
	// Updated in place (no delete, no create above). The pod restarts
	// once, to serve the certificate issued anew.
	if sts := f.statefulSet(); !controlledBy(sts, ds) {
		t.Errorf("StatefulSet not adopted: owners %v", sts.OwnerReferences)
	}
	if got := f.podConfigHash(); got == hashBefore {
		t.Errorf("config hash %s unchanged: the pod would serve the orphan's certificate", got)
	}
	for _, name := range []string{"nas-ca", "nas-api-tls"} {
		if s := f.get(f.kube, gvrSecrets, name).(*corev1.Secret); !controlledBy(s, ds) {
			t.Errorf("Secret %s not adopted: owner references %v", name, s.OwnerReferences)
		}
	}
	// The generated Secrets were kept for the name: used as they are.
	for _, name := range []string{"nas-generated"} {
		if s := f.get(f.kube, gvrSecrets, name).(*corev1.Secret); !resources.KeptFor(s, ds) {
			t.Errorf("Secret %s is no longer kept for %s: %v %v", name, ds.Name, s.Labels, s.OwnerReferences)
		}
	}
	f.expectQuiet(t)
}

// Generated Secrets made by an operator version that owned them, orphaned
// since, are adopted as kept Secrets (one guarded patch each adds the
// kept-for label), not created again: the server remembers them.
func TestOrphanedLegacySecretsAreKept(t *testing.T) {
	children := orphanedChildren(t, func(m metav1.Object) {
		l := m.GetLabels()
		delete(l, resources.KeptForLabel)
		m.SetLabels(l)
	})
	f := newFixture(t, false, append([]runtime.Object{newDittoServer(withFinalizer)}, children...)...)
	expectErr(t, f.sync(), nil)
	for _, a := range f.actions() {
		if a == "create secrets nas-generated" {
			t.Errorf("generated Secret created again: %s", a)
		}
	}
	ds := f.dittoServer()
	for _, name := range []string{"nas-generated"} {
		if s := f.get(f.kube, gvrSecrets, name).(*corev1.Secret); !resources.KeptFor(s, ds) {
			t.Errorf("Secret %s not kept for %s: %v", name, ds.Name, s.Labels)
		}
	}
	f.converge()
	f.expectQuiet(t)
}

// Only orphans of this name are adopted. A child controlled by anyone else,
// or without the operator's labels for this DittoServer, is refused: it is
// not written, and the DittoServer reports ResourceNotOwned.
func TestOrphanAdoptionIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(m metav1.Object)
	}{
		{"controlled by another owner", func(m metav1.Object) {
			m.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "example.com/v1", Kind: "Other", Name: "x",
				UID: types.UID("other-uid"), Controller: ptr.To(true)}})
		}},
		{"still controlled by the deleted DittoServer", func(m metav1.Object) {
			m.SetOwnerReferences([]metav1.OwnerReference{resources.OwnerReference(newDittoServer(func(ds *dittov1alpha1.DittoServer) {
				ds.UID = "uid-of-the-earlier-one"
			}))})
		}},
		{"labelled for another DittoServer", func(m metav1.Object) {
			l := m.GetLabels()
			l[resources.InstanceLabel] = "other"
			m.SetLabels(l)
		}},
		{"not managed by this operator", func(m metav1.Object) {
			l := m.GetLabels()
			l[resources.ManagedByLabel] = "someone-else"
			m.SetLabels(l)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			children := orphanedChildren(t, func(m metav1.Object) {
				if m.GetName() == "nas-config" {
					tc.mod(m)
				}
			})
			f := newFixture(t, false, append([]runtime.Object{newDittoServer(withFinalizer)}, children...)...)
			before := f.get(f.kube, gvrConfigMaps, "nas-config").(metav1.Object).GetResourceVersion()

			expectErr(t, f.sync(), errWaiting)
			for _, a := range f.actions() {
				if a == "update configmaps nas-config" || a == "update statefulsets nas" {
					t.Errorf("unexpected request %q", a)
				}
			}
			expectEvents(t, f.events(), "Normal Adopted Adopted Secret nas-ca", "Normal Adopted Adopted Secret nas-api-tls",
				"Warning ResourceNotOwned ConfigMap storage/nas-config exists but is not controlled by this DittoServer")
			expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseFailed, "ConfigReady=False/ResourceNotOwned")
			if after := f.get(f.kube, gvrConfigMaps, "nas-config").(metav1.Object).GetResourceVersion(); after != before {
				t.Errorf("the refused ConfigMap was written: resourceVersion %s → %s", before, after)
			}
		})
	}
}
