package controller

// The lifecycle of a DittoServer that has what it needs: first sight,
// convergence, edits that must and must not restart the pods, and the status
// that describes it.

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/diff"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// First sight: the finalizer, one Created event, then every child, and the
// status written once.
func TestFirstSight(t *testing.T) {
	f := newFixture(t, false, newDittoServer())

	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(),
		"patch dittoservers nas",
		"create secrets nas-generated", "create secrets nas-ca", "create secrets nas-api-tls",
		"create configmaps nas-config",
		"create services nas-headless",
		"create services nas-file",
		"create services nas-api",
		"create statefulsets nas",
		"apply dittoservers/status nas",
	)
	expectEvents(t, f.events(), "Normal Created DittoServer created, finalizer added")

	var patch map[string]map[string]interface{}
	if err := json.Unmarshal(f.action("patch dittoservers nas").(clienttesting.PatchAction).GetPatch(), &patch); err != nil {
		t.Fatal(err)
	}
	if fin := patch["metadata"]["finalizers"]; !strings.Contains(jsonString(t, fin), Finalizer) || patch["metadata"]["resourceVersion"] == "" {
		t.Errorf("finalizer patch = %v, want the finalizer guarded by resourceVersion", patch)
	}

	ds := f.dittoServer()
	if !hasFinalizer(ds) {
		t.Errorf("finalizer not added: %v", ds.Finalizers)
	}
	expectStatus(t, ds, dittov1alpha1.PhasePending,
		"ConfigReady=True/InputsResolved", "Progressing=True/RolloutInProgress",
		"Available=False/ReplicasUnavailable", "Ready=False/NotReady")
	if c := condition(ds, ConditionDatabaseReady); c.Type != "" {
		t.Errorf("DatabaseReady on a SQLite server: %+v", c)
	}
	if ds.Status.ObservedGeneration != 1 || ds.Status.NFSEndpoint != "nas-file.storage.svc.cluster.local:2049" {
		t.Errorf("status = %+v", ds.Status)
	}
	if ds.Status.ConfigHash == "" || ds.Status.ConfigHash != f.podConfigHash() {
		t.Errorf("status.configHash %q, pod template %q", ds.Status.ConfigHash, f.podConfigHash())
	}

	// The generated Secrets: random values long enough for the server, kept
	// (no owner reference: they live as long as the volumes that remember them).
	for _, g := range []struct {
		name, key string
		minLen    int
	}{{"nas-generated", resources.JWTSecretKey, resources.JWTSecretLength}, {"nas-generated", resources.AdminPasswordKey, 8}} {
		s := f.get(f.kube, gvrSecrets, g.name).(*corev1.Secret)
		if n := len(s.Data[g.key]); n < g.minLen {
			t.Errorf("Secret %s key %s has %d characters, want at least %d", g.name, g.key, n, g.minLen)
		}
		if len(s.OwnerReferences) != 0 || !resources.KeptFor(s, ds) {
			t.Errorf("Secret %s: owners %v labels %v, want no owner and kept for %s", g.name, s.OwnerReferences, s.Labels, ds.Name)
		}
	}

	// Every child is what the builders make of the DittoServer and the
	// Secrets' versions.
	versions := map[string]string{}
	for _, name := range []string{"nas-generated", "nas-api-tls"} {
		versions[name] = f.get(f.kube, gvrSecrets, name).(*corev1.Secret).ResourceVersion
	}
	in := resources.Inputs{JWTSecret: resources.JWTSecretSelector(ds),
		AdminPassword: resources.AdminPasswordSelector(ds), SecretVersions: versions}
	configYAML, err := resources.ConfigYAML(ds, in)
	if err != nil {
		t.Fatal(err)
	}
	wantSTS, err := resources.StatefulSet(ds, in, resources.ConfigHash(configYAML, versions))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []runtime.Object{
		resources.ConfigMap(ds, configYAML), resources.HeadlessService(ds), resources.FileService(ds), resources.APIService(ds), wantSTS,
	} {
		expectBuilt(t, f, want)
	}
}

// expectBuilt compares the object in the cluster with the builder's: the
// content, the labels and the controller reference.
func expectBuilt(t *testing.T, f *fixture, want runtime.Object) {
	t.Helper()
	var got runtime.Object
	var gotContent, wantContent interface{}
	switch w := want.(type) {
	case *corev1.ConfigMap:
		g := f.get(f.kube, gvrConfigMaps, w.Name).(*corev1.ConfigMap)
		got, gotContent, wantContent = g, g.Data, w.Data
	case *corev1.Service:
		g := f.get(f.kube, gvrServices, w.Name).(*corev1.Service)
		got, gotContent, wantContent = g, g.Spec, w.Spec
	case *appsv1.StatefulSet:
		g := f.statefulSet()
		got, gotContent, wantContent = g, g.Spec, w.Spec
	default:
		t.Fatalf("expectBuilt: %T", want)
	}
	g, _ := meta.Accessor(got)
	w, _ := meta.Accessor(want)
	if !equality.Semantic.DeepEqual(gotContent, wantContent) {
		t.Errorf("%T %s differs from the builder's:\n%s", got, w.GetName(), diff.Diff(wantContent, gotContent))
	}
	if !equality.Semantic.DeepEqual(g.GetLabels(), w.GetLabels()) || !equality.Semantic.DeepEqual(g.GetOwnerReferences(), w.GetOwnerReferences()) {
		t.Errorf("%T %s: labels %v owners %v, want %v %v", got, w.GetName(), g.GetLabels(), g.GetOwnerReferences(), w.GetLabels(), w.GetOwnerReferences())
	}
}

func jsonString(t *testing.T, v interface{}) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Quiet when converged: once the informers have seen what the operator
// wrote, a resync costs no request and says nothing — also for a restarted
// operator with empty in-memory caches.
func TestConvergedResyncIsQuiet(t *testing.T) {
	jwt := newSecret("user-jwt", map[string]string{"secret": strings.Repeat("k", 40)})
	for _, tc := range []struct {
		name    string
		percona bool
		objects []runtime.Object
		// reads a restarted operator may make: the key names of the user's
		// Secrets, which it keeps in memory only.
		restartReads []string
	}{
		{name: "defaults", objects: []runtime.Object{newDittoServer()}},
		{name: "metrics, SMB and a LoadBalancer", objects: []runtime.Object{newDittoServer(withMetrics, func(ds *dittov1alpha1.DittoServer) {
			ds.Spec.SMB = &dittov1alpha1.SMBSpec{Enabled: true}
			ds.Spec.Service = &dittov1alpha1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Annotations: map[string]string{"lb": "internal"}}
		})}},
		{name: "stopped", objects: []runtime.Object{newDittoServer(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Replicas = ptr.To[int32](0) })}},
		{name: "user JWT Secret", objects: []runtime.Object{newDittoServer(withJWTSecret("user-jwt", "secret")), jwt},
			restartReads: []string{"get secrets user-jwt"}},
		{name: "Percona", percona: true, objects: []runtime.Object{
			newDittoServer(withPercona(false)), perconaCluster(newDittoServer(), "ready"), postgresSecret("nas-postgres-pguser-dittofs")},
			restartReads: []string{"get secrets nas-postgres-pguser-dittofs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.percona, tc.objects...)
			expectErr(t, f.sync(), nil)
			f.expectQuiet(t)

			f.clock = f.clock.Add(10 * time.Minute)
			expectErr(t, f.sync(), nil)
			expectActions(t, f.actions())
			expectEvents(t, f.events())

			restarted := newFixture(t, tc.percona, f.clusterObjects()...)
			expectErr(t, restarted.sync(), nil)
			expectActions(t, restarted.actions(), tc.restartReads...)
			expectEvents(t, restarted.events())
		})
	}
}

// A change of what the pod sees updates the ConfigMap and the StatefulSet and
// says so once, with the new hash.
func TestSpecEditRollsThePods(t *testing.T) {
	for _, tc := range []struct {
		name    string
		initial func(*dittov1alpha1.DittoServer)
		edit    func(*dittov1alpha1.DittoServer)
	}{
		{name: "shutdownTimeout", initial: func(*dittov1alpha1.DittoServer) {}, edit: func(ds *dittov1alpha1.DittoServer) {
			ds.Spec.ShutdownTimeout = &metav1.Duration{Duration: time.Minute}
		}},
		{name: "metrics port", initial: withMetrics, edit: func(ds *dittov1alpha1.DittoServer) {
			ds.Spec.Metrics.Port = ptr.To[int32](9100)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, false, newDittoServer(withFinalizer, tc.initial))
			f.converge()
			oldHash := f.podConfigHash()

			f.edit(tc.edit, true)
			f.catchUp()
			expectErr(t, f.sync(), nil)
			want := []string{"update configmaps nas-config", "update statefulsets nas", "apply dittoservers/status nas"}
			if tc.name == "metrics port" {
				want = append(want, "update services nas-metrics")
			}
			expectActions(t, f.actions(), want...)
			newHash := f.podConfigHash()
			if newHash == oldHash {
				t.Fatalf("pod template hash unchanged (%s)", newHash)
			}
			expectEvents(t, f.events(), "Normal ConfigUpdated Configuration updated, pods will restart (hash: "+newHash[:8]+")")
			ds := f.dittoServer()
			if ds.Status.ConfigHash != newHash || ds.Status.ObservedGeneration != 2 {
				t.Errorf("status.configHash %q observedGeneration %d, want %q and 2", ds.Status.ConfigHash, ds.Status.ObservedGeneration, newHash)
			}
			f.expectQuiet(t)
		})
	}
}

// Edits that change nothing the pod sees do not restart it.
func TestNoOpEditDoesNotRestart(t *testing.T) {
	for _, tc := range []struct {
		name       string
		edit       func(*dittov1alpha1.DittoServer)
		specChange bool
		actions    []string
	}{
		{name: "label", edit: func(ds *dittov1alpha1.DittoServer) { ds.Labels = map[string]string{"team": "storage"} }},
		{name: "annotation", edit: func(ds *dittov1alpha1.DittoServer) { ds.Annotations = map[string]string{"note": "x"} }},
		{name: "generation bump without change", edit: func(*dittov1alpha1.DittoServer) {}, specChange: true,
			actions: []string{"apply dittoservers/status nas"}},
		{name: "file Service annotations", specChange: true, edit: func(ds *dittov1alpha1.DittoServer) {
			ds.Spec.Service = &dittov1alpha1.ServiceSpec{Annotations: map[string]string{"lb": "internal"}}
		}, actions: []string{"update services nas-file", "apply dittoservers/status nas"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, false, newDittoServer(withFinalizer))
			f.converge()
			oldHash := f.podConfigHash()

			f.edit(tc.edit, tc.specChange)
			f.catchUp()
			expectErr(t, f.sync(), nil)
			expectActions(t, f.actions(), tc.actions...)
			expectEvents(t, f.events())
			if h := f.podConfigHash(); h != oldHash {
				t.Errorf("pod template hash changed: %s → %s", oldHash, h)
			}
			f.expectQuiet(t)
		})
	}
}

// A new version of a Secret the pod reads rolls the pods; the ConfigMap,
// which holds no secret, stays.
func TestReferencedSecretChangeRollsThePods(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer, withJWTSecret("user-jwt", "secret")),
		newSecret("user-jwt", map[string]string{"secret": strings.Repeat("a", 40)}),
		newSecret("unrelated", map[string]string{"x": "y"}))
	f.converge()
	oldHash := f.podConfigHash()

	f.put(newSecret("unrelated", map[string]string{"x": "z"}))
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions())
	expectEvents(t, f.events())

	f.put(newSecret("user-jwt", map[string]string{"secret": strings.Repeat("b", 40)}))
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "get secrets user-jwt", "update statefulsets nas", "apply dittoservers/status nas")
	newHash := f.podConfigHash()
	if newHash == oldHash {
		t.Fatalf("pod template hash unchanged after the Secret changed")
	}
	expectEvents(t, f.events(), "Normal ConfigUpdated Configuration updated, pods will restart (hash: "+newHash[:8]+")")
	f.expectQuiet(t)
}

// replicas 0: the server is stopped, which is what was asked, so it is available.
func TestReplicasZeroIsStopped(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer, func(ds *dittov1alpha1.DittoServer) { ds.Spec.Replicas = ptr.To[int32](0) }))
	f.converge()
	if r := f.statefulSet().Spec.Replicas; r == nil || *r != 0 {
		t.Errorf("StatefulSet replicas = %v, want 0", r)
	}
	expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseStopped,
		"ConfigReady=True/InputsResolved", "Available=True/ScaledToZero", "Progressing=False/RolloutComplete", "Ready=True/Ready")
}

// All replicas ready: Ready and Running. A condition that does not flip keeps
// its lastTransitionTime; one that flips takes the clock's time.
func TestReadyStatefulSetIsRunning(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.converge()
	before := f.dittoServer()
	expectStatus(t, before, dittov1alpha1.PhasePending, "Ready=False/NotReady", "Progressing=True/RolloutInProgress")

	sts := f.statefulSet()
	sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
		UpdatedReplicas: 1, CurrentReplicas: 1, CurrentRevision: "nas-1", UpdateRevision: "nas-1"}
	f.put(sts)
	f.clock = t0.Add(time.Minute)
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "apply dittoservers/status nas")
	expectEvents(t, f.events())

	ds := f.dittoServer()
	expectStatus(t, ds, dittov1alpha1.PhaseRunning, "ConfigReady=True/InputsResolved", "Available=True/ReplicasAvailable",
		"Progressing=False/RolloutComplete", "Ready=True/Ready")
	if ds.Status.ReadyReplicas != 1 || ds.Status.AvailableReplicas != 1 || ds.Status.Replicas != 1 {
		t.Errorf("replica counts = %+v", ds.Status)
	}
	for typ, want := range map[string]time.Time{ConditionConfigReady: t0, ConditionReady: f.clock, ConditionAvailable: f.clock, ConditionProgressing: f.clock} {
		if got := condition(ds, typ).LastTransitionTime.Time; !got.Equal(want) {
			t.Errorf("%s lastTransitionTime = %v, want %v", typ, got, want)
		}
	}

	f.clock = t0.Add(time.Hour)
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions())
	if got := condition(f.dittoServer(), ConditionReady).LastTransitionTime.Time; !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("Ready lastTransitionTime moved to %v without a flip", got)
	}
}

// A grace-period override too short for the server to drain is refused:
// ConfigReady=False, phase Failed, no StatefulSet — and an existing one is
// left as it is.
func TestInvalidGracePeriodOverride(t *testing.T) {
	tooShort := func(ds *dittov1alpha1.DittoServer) { ds.Spec.TerminationGracePeriodSeconds = ptr.To[int64](10) }

	t.Run("new server", func(t *testing.T) {
		f := newFixture(t, false, newDittoServer(withFinalizer, tooShort))
		for pass := 1; pass <= 3; pass++ {
			expectErr(t, f.sync(), errWaiting)
			if pass == 1 {
				expectActions(t, f.actions(), "apply dittoservers/status nas")
				expectEvents(t, f.events(), "Warning InvalidSpec termination grace period too short: spec.terminationGracePeriodSeconds is 10")
			} else {
				expectActions(t, f.actions())
				expectEvents(t, f.events())
			}
			f.catchUp()
		}
		expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseFailed,
			"ConfigReady=False/InvalidSpec", "Progressing=False/InvalidSpec", "Ready=False/NotReady")
		if f.exists(f.kube, gvrStatefulSets, testName) {
			t.Error("StatefulSet created for an invalid spec")
		}
	})

	t.Run("running server", func(t *testing.T) {
		f := newFixture(t, false, newDittoServer(withFinalizer))
		f.converge()
		f.edit(tooShort, true)
		f.catchUp()
		expectErr(t, f.sync(), errWaiting)
		expectActions(t, f.actions(), "apply dittoservers/status nas")
		expectEvents(t, f.events(), "Warning InvalidSpec termination grace period too short")
		expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseFailed, "ConfigReady=False/InvalidSpec")
	})
}

// Metrics disabled: the metrics Service goes, guarded by its UID; a
// namesake this DittoServer does not control stays.
func TestMetricsDisabledDeletesTheMetricsService(t *testing.T) {
	t.Run("ours", func(t *testing.T) {
		f := newFixture(t, false, newDittoServer(withFinalizer, withMetrics))
		f.converge()
		uid := f.get(f.kube, gvrServices, "nas-metrics").(*corev1.Service).UID

		f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Metrics.Enabled = false }, true)
		f.catchUp()
		expectErr(t, f.sync(), nil)
		expectActions(t, f.actions(), "update configmaps nas-config", "update statefulsets nas",
			"delete services nas-metrics", "apply dittoservers/status nas")
		expectEvents(t, f.events(), "Normal ConfigUpdated ")
		del := f.action("delete services nas-metrics").(clienttesting.DeleteAction).GetDeleteOptions()
		if del.Preconditions == nil || del.Preconditions.UID == nil || *del.Preconditions.UID != uid {
			t.Errorf("delete preconditions = %+v, want UID %s", del.Preconditions, uid)
		}
		if f.exists(f.kube, gvrServices, "nas-metrics") {
			t.Error("metrics Service still exists")
		}
		f.expectQuiet(t)
	})

	t.Run("not ours", func(t *testing.T) {
		f := newFixture(t, false, newDittoServer(withFinalizer), foreignService("nas-metrics", true))
		f.converge()
		if !f.exists(f.kube, gvrServices, "nas-metrics") {
			t.Error("a metrics Service this DittoServer does not control was deleted")
		}
		expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "ConfigReady=True/InputsResolved")
	})
}
