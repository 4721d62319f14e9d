package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// restricted enforces the "restricted" Pod Security Standard on a namespace.
var restricted = map[string]string{
	"pod-security.kubernetes.io/enforce":         "restricted",
	"pod-security.kubernetes.io/enforce-version": "latest",
}

// Several DittoServers in a namespace that enforces the restricted Pod
// Security Standard: their pods are admitted, no Secret value reaches a
// ConfigMap, and once they have converged the operator writes nothing at all
// (no object, no status, no event) over two resync periods, although it
// syncs every DittoServer on each resync.
func TestRestrictedNamespaceQuietOperator(t *testing.T) {
	n := newNamespace(t, restricted)
	names := n.convergeEverySample()
	for _, name := range names {
		// The StatefulSet controller's pod passed Pod Security admission.
		n.runningPod(name + "-0")
	}

	n.assertNoSecretValueInConfigMaps()

	// Converged: the last writes (status, events) are behind us.
	eventually(t, waitShort, "the operator's writes to settle", func() (bool, string) {
		w := operatorWrites(t, time.Now().Add(-3*time.Second))
		return len(w) == 0, auditSummary(w)
	})
	since := time.Now()
	syncsBefore := env.metric(t, "dittofs_operator_reconcile_total")
	eventsBefore := n.allEvents()
	consistently(t, quietWindow, "no new event in the namespace", func() (bool, string) {
		now := n.allEvents()
		return now == eventsBefore, fmt.Sprintf("%d events, %d before", now, eventsBefore)
	})
	if w := operatorWrites(t, since); len(w) > 0 {
		t.Errorf("the operator made %d write requests over %s after convergence:\n%s", len(w), quietWindow, auditSummary(w))
	}
	syncs := env.metric(t, "dittofs_operator_reconcile_total") - syncsBefore
	if min := float64(2 * len(names)); syncs < min {
		t.Errorf("%v syncs over %s, want at least %v (two resyncs of every DittoServer): the quiet is not a test", syncs, quietWindow, min)
	}
	t.Logf("%v syncs over %s", syncs, quietWindow)
}

// assertNoSecretValueInConfigMaps checks every ConfigMap of the cluster for
// every value of every Secret of the namespace (generated and user-given).
func (n *testNS) assertNoSecretValueInConfigMaps() {
	t := n.t
	t.Helper()
	secrets, err := env.kube.CoreV1().Secrets(n.name).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{} // value → "secret/key"
	for _, s := range secrets.Items {
		for k, v := range s.Data {
			// Short values (a port, a user name) are not secrets and
			// would match by chance.
			if len(v) >= 8 {
				values[string(v)] = s.Name + "/" + k
			}
		}
	}
	for _, name := range []string{"dittofs-generated", "dittofs-identity", "dittofs-s3-credentials", "dittofs-external-pg"} {
		found := false
		for _, where := range values {
			found = found || strings.HasPrefix(where, name+"/")
		}
		if !found {
			t.Errorf("no value of Secret %s to look for", name)
		}
	}
	cms, err := env.kube.CoreV1().ConfigMaps(metav1.NamespaceAll).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, cm := range cms.Items {
		var texts []string
		for _, v := range cm.Data {
			texts = append(texts, v)
		}
		for _, v := range cm.BinaryData {
			texts = append(texts, string(v))
		}
		for _, v := range cm.Annotations {
			texts = append(texts, v)
		}
		for _, text := range texts {
			for v, where := range values {
				if strings.Contains(text, v) {
					t.Errorf("ConfigMap %s/%s contains the value of Secret key %s", cm.Namespace, cm.Name, where)
				}
			}
		}
		checked++
	}
	t.Logf("%d Secret values looked for in %d ConfigMaps", len(values), checked)
}

// allEvents counts the occurrences of every event in the namespace.
func (n *testNS) allEvents() int {
	n.t.Helper()
	list, err := env.kube.CoreV1().Events(n.name).List(n.t.Context(), metav1.ListOptions{})
	if err != nil {
		n.t.Fatal(err)
	}
	return countEvents(list.Items, "")
}
