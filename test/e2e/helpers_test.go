package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/test/localcluster"
	"github.com/dittofs/dittofs-operator/test/operator"
)

// Bounds of the polling waits: generous, since a loaded two-core machine
// runs the whole control plane, kwok and the operator.
const (
	waitShort = time.Minute
	waitLong  = 3 * time.Minute
	pollEvery = 250 * time.Millisecond
)

var (
	dittoServerGVR = dittov1alpha1.SchemeGroupVersion.WithResource("dittoservers")
	secretGVR      = corev1.SchemeGroupVersion.WithResource("secrets")
	gvrByKind      = map[string]schema.GroupVersionResource{
		"DittoServer":      dittoServerGVR,
		"DittoShare":       dittoShareGVR,
		"DittoUser":        dittoUserGVR,
		"Secret":           secretGVR,
		"PerconaPGCluster": resources.PerconaGVR,
	}
)

// testNS is the namespace a test works in.
type testNS struct {
	t    *testing.T
	name string
}

// newNamespace creates a namespace named after the test. When the test ends
// it dumps the namespace if the test failed, then deletes the namespace and
// waits until it is gone, so that the next test starts from a quiet cluster.
func newNamespace(t *testing.T, labels map[string]string) *testNS {
	t.Helper()
	n := &testNS{t: t, name: namespaceName(t.Name())}
	_, err := env.kube.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: labels},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", n.name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			n.dump()
		}
		n.deleteAndWait()
	})
	return n
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

func namespaceName(test string) string {
	s := strings.Trim(notDNS.ReplaceAllString(strings.ToLower(test), "-"), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return s + "-" + hex.EncodeToString(b)
}

func (n *testNS) deleteAndWait() {
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	err := env.kube.CoreV1().Namespaces().Delete(ctx, n.name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		n.t.Errorf("delete namespace %s: %v", n.name, err)
		return
	}
	for {
		ns, err := env.kube.CoreV1().Namespaces().Get(ctx, n.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		select {
		case <-ctx.Done():
			state := fmt.Sprint(err)
			if err == nil {
				state = fmt.Sprintf("phase %s, conditions %+v", ns.Status.Phase, ns.Status.Conditions)
			}
			n.t.Errorf("namespace %s still there %s after its deletion: %s", n.name, waitLong, state)
			n.dump()
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// dump logs what a human would look at: the DittoServers as kubectl
// describes them, the objects and events of the namespace, and the operator's
// log lines about it.
func (n *testNS) dump() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n.t.Logf("processes: %s", env.processReport())
	for _, args := range [][]string{
		{"describe", "dittoservers,dittoshares,dittousers"},
		{"get", "dittoservers,dittoshares,dittousers,statefulsets,pods,services,configmaps,secrets,pvc,perconapgclusters", "-o", "wide"},
		{"get", "events", "--sort-by=.lastTimestamp"},
	} {
		out, err := kubectl(ctx, append(args, "-n", n.name)...).CombinedOutput()
		n.t.Logf("$ kubectl %s -n %s (err %v)\n%s", strings.Join(args, " "), n.name, err, out)
	}
	var lines []string
	for _, l := range strings.Split(env.operatorLogs(), "\n") {
		if strings.Contains(l, n.name) {
			lines = append(lines, l)
		}
	}
	if len(lines) > 200 {
		lines = lines[len(lines)-200:]
	}
	n.t.Logf("operator log lines about %s (last %d):\n%s", n.name, len(lines), strings.Join(lines, "\n"))
	all := strings.Split(env.operatorLogs(), "\n")
	if len(all) > 40 {
		all = all[len(all)-40:]
	}
	n.t.Logf("operator log, last lines:\n%s", strings.Join(all, "\n"))
}

// eventually polls check until it reports true, failing the test with the
// last detail after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	var detail string
	for {
		var ok bool
		if ok, detail = check(); ok {
			if d := time.Since(start); d > 5*time.Second {
				t.Logf("waited %s for %s", d.Round(100*time.Millisecond), what)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last seen: %s", timeout, what, detail)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("test ended while waiting for %s", what)
		case <-time.After(pollEvery):
		}
	}
}

// consistently polls check for the whole window and fails at the first
// false: for what must not happen (a second event, a StatefulSet, a write).
func consistently(t *testing.T, window time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(window)
	for {
		if ok, detail := check(); !ok {
			t.Fatalf("%s no longer holds: %s", what, detail)
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(time.Second)
	}
}

func samplePath(name string) string {
	return filepath.Join(env.root, "artifacts", "examples", name+".yaml")
}

// readSample decodes every document of artifacts/examples/<name>.yaml.
func readSample(t *testing.T, name string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := operator.ReadObjects(samplePath(name))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// sampleDittoServer returns the DittoServer document of a sample.
func sampleDittoServer(t *testing.T, objs []*unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == "DittoServer" {
			return o
		}
	}
	t.Fatal("sample without a DittoServer")
	return nil
}

// applySample creates every object of a sample in the namespace and returns
// the DittoServer's name.
func (n *testNS) applySample(name string) string {
	n.t.Helper()
	objs := readSample(n.t, name)
	n.create(objs...)
	return sampleDittoServer(n.t, objs).GetName()
}

// create creates Secrets, DittoServers, DittoShares, DittoUsers and
// PerconaPGClusters in the namespace.
func (n *testNS) create(objs ...*unstructured.Unstructured) {
	n.t.Helper()
	for _, o := range objs {
		gvr, ok := gvrByKind[o.GetKind()]
		if !ok {
			n.t.Fatalf("no resource known for kind %s", o.GetKind())
		}
		o = o.DeepCopy()
		o.SetNamespace(n.name)
		if _, err := env.dyn.Resource(gvr).Namespace(n.name).Create(n.t.Context(), o, metav1.CreateOptions{}); err != nil {
			n.t.Fatalf("create %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
}

func (n *testNS) ds(name string) *dittov1alpha1.DittoServer {
	n.t.Helper()
	ds, err := env.ditto.DittofsV1alpha1().DittoServers(n.name).Get(n.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		n.t.Fatalf("get DittoServer %s: %v", name, err)
	}
	return ds
}

// waitDS polls the DittoServer until check accepts it.
func (n *testNS) waitDS(name, what string, check func(*dittov1alpha1.DittoServer) (bool, string)) *dittov1alpha1.DittoServer {
	n.t.Helper()
	var last *dittov1alpha1.DittoServer
	eventually(n.t, waitLong, fmt.Sprintf("DittoServer %s/%s: %s", n.name, name, what), func() (bool, string) {
		ds, err := env.ditto.DittofsV1alpha1().DittoServers(n.name).Get(n.t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		last = ds
		return check(ds)
	})
	return last
}

// waitReady waits until the DittoServer's current generation is Ready and Running.
func (n *testNS) waitReady(name string) *dittov1alpha1.DittoServer {
	n.t.Helper()
	return n.waitDS(name, "Ready=True, phase Running, current generation observed", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		c := meta.FindStatusCondition(ds.Status.Conditions, controller.ConditionReady)
		ok := c != nil && c.Status == metav1.ConditionTrue && ds.Status.Phase == dittov1alpha1.PhaseRunning &&
			ds.Status.ObservedGeneration == ds.Generation
		return ok, statusSummary(ds)
	})
}

// statusSummary is a one-line view of a DittoServer's status for messages.
func statusSummary(ds *dittov1alpha1.DittoServer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "generation %d observed %d phase %q hash %q", ds.Generation, ds.Status.ObservedGeneration, ds.Status.Phase, shortHash(ds.Status.ConfigHash))
	for _, c := range ds.Status.Conditions {
		fmt.Fprintf(&b, "; %s=%s (%s: %s)", c.Type, c.Status, c.Reason, c.Message)
	}
	return b.String()
}

func hasCondition(ds *dittov1alpha1.DittoServer, condType string, status metav1.ConditionStatus, reason string) bool {
	c := meta.FindStatusCondition(ds.Status.Conditions, condType)
	return c != nil && c.Status == status && (reason == "" || c.Reason == reason)
}

func shortHash(h string) string {
	if len(h) > 8 {
		return h[:8]
	}
	return h
}

// events lists the events about the object with the given UID.
func (n *testNS) events(uid types.UID) []corev1.Event {
	n.t.Helper()
	list, err := env.kube.CoreV1().Events(n.name).List(n.t.Context(), metav1.ListOptions{FieldSelector: "involvedObject.uid=" + string(uid)})
	if err != nil {
		n.t.Fatalf("list events: %v", err)
	}
	return list.Items
}

// countEvents counts occurrences (aggregated repeats included) of the events
// with the given reason; an empty reason counts every event.
func countEvents(evs []corev1.Event, reason string) int {
	n := 0
	for _, e := range evs {
		if reason == "" || e.Reason == reason {
			n += max(int(e.Count), 1)
		}
	}
	return n
}

func eventSummary(evs []corev1.Event) string {
	var parts []string
	for _, e := range evs {
		parts = append(parts, fmt.Sprintf("%s %s ×%d: %s", e.Type, e.Reason, max(e.Count, 1), e.Message))
	}
	return strings.Join(parts, " | ")
}

// waitEvents waits until the object has at least min events with the reason
// and returns them all.
func (n *testNS) waitEvents(uid types.UID, reason string, min int) []corev1.Event {
	n.t.Helper()
	var evs []corev1.Event
	eventually(n.t, waitShort, fmt.Sprintf("%d %s event(s)", min, reason), func() (bool, string) {
		evs = n.events(uid)
		return countEvents(evs, reason) >= min, eventSummary(evs)
	})
	return evs
}

// kubectl runs the cluster's kubectl in the namespace and returns its
// combined output, failing the test on error.
func (n *testNS) kubectl(args ...string) string {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(n.t.Context(), 2*time.Minute)
	defer cancel()
	args = append(args, "-n", n.name)
	out, err := kubectl(ctx, args...).CombinedOutput()
	if err != nil {
		n.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// kubectl is the cluster's kubectl with a discovery cache of this cluster
// only: the default one under $HOME is keyed by host and port, which other
// local clusters on this machine may have used before.
func kubectl(ctx context.Context, args ...string) *exec.Cmd {
	cmd := env.cluster.Kubectl(ctx, args...)
	cmd.Env = append(cmd.Env, "KUBECACHEDIR="+filepath.Join(env.cluster.WorkDir, "kubectl-cache"))
	return cmd
}

// controlledBy tells whether obj's controller owner reference is ds (kind and UID).
func controlledBy(obj metav1.Object, ds *dittov1alpha1.DittoServer) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.Kind == "DittoServer" && ref.APIVersion == dittov1alpha1.SchemeGroupVersion.String() &&
		ref.Name == ds.Name && ref.UID == ds.UID
}

// ownedBy tells whether any owner reference of obj names the UID.
func ownedBy(obj metav1.Object, uid types.UID) bool {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == uid {
			return true
		}
	}
	return false
}

// podRunning reports whether the pod is Running and Ready on the kwok node.
func podRunning(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || p.Spec.NodeName != localcluster.NodeName || p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// operatorWrites returns the operator's write requests (any resource,
// events included) received at or after since, from the audit log.
func operatorWrites(t *testing.T, since time.Time) []localcluster.AuditEvent {
	t.Helper()
	all, err := env.cluster.Audit()
	if err != nil {
		t.Fatalf("read audit log: %v", err)
	}
	byOperator := localcluster.ByUserAgentPrefix(operatorUserAgent)
	return localcluster.FilterAudit(all, func(e localcluster.AuditEvent) bool {
		if !byOperator(e) || e.Received.Before(since) {
			return false
		}
		switch e.Verb {
		case "create", "update", "patch", "delete", "deletecollection":
			return true
		}
		return false
	})
}

func auditSummary(evs []localcluster.AuditEvent) string {
	var parts []string
	for _, e := range evs {
		parts = append(parts, fmt.Sprintf("%s %s %s %s %s/%s (%d)", e.Received.Format("15:04:05.000"), e.Verb, e.Resource, e.Subresource, e.Namespace, e.Name, e.Code))
	}
	return strings.Join(parts, "\n")
}

// stopSuiteOperator stops the suite's operator for a test that runs its own
// over every namespace (two operators on one DittoServer would fight over
// it), and brings it back when the test ends: registered before the test's
// namespace, its cleanup runs after the namespace is gone.
func stopSuiteOperator(t *testing.T) {
	t.Helper()
	if code := env.stopOperator(); code != 0 {
		t.Fatalf("the suite's operator exited with %d when stopped", code)
	}
	t.Cleanup(func() {
		if err := env.startOperator(context.Background()); err != nil {
			t.Errorf("restart the suite's operator: %v", err)
		}
	})
}

// convergeEverySample applies one DittoServer of every sample that needs no
// server behind it into n, marks the Percona cluster ready, and waits until
// each is Ready; it returns their names.
func (n *testNS) convergeEverySample() []string {
	n.t.Helper()
	var names []string
	for _, sample := range []string{"minimal", "user-secrets", "metrics", "s3", "smb", "external-postgres", "percona"} {
		names = append(names, n.applySample(sample))
	}
	n.markPerconaReady("dittofs-percona")
	for _, name := range names {
		n.waitReady(name)
	}
	return names
}
