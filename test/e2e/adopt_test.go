package e2e

import (
	"fmt"
	"maps"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dittofs/dittofs-operator/pkg/controller"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/test/localcluster"
)

// `kubectl delete ditto x --cascade=orphan` leaves every child: the garbage
// collector only removes their owner references, and the pod keeps running.
// A DittoServer created again under the same name adopts them, as Kubernetes'
// own controllers adopt orphans: it becomes Ready on the same StatefulSet,
// pod, volume claims and credentials, its children carry its owner
// reference, one Adopted event per child says so, and the operator deleted
// nothing on the way.
func TestOrphanDeletionThenRecreateAdoptsChildren(t *testing.T) {
	n := newNamespace(t, nil)
	start := time.Now()
	name := n.applySample("minimal")
	ds := n.waitReady(name)
	n.assertChildren(ds)
	sts := n.statefulSet(name)
	pod := n.runningPod(name + "-0")
	pvcs := n.claims()
	secrets := n.secretUIDs(ds)
	if len(pvcs) == 0 || len(secrets) != 1 {
		t.Fatalf("before the deletion: claims %v, Secrets %v", pvcs, secrets)
	}

	waitGarbageCollector(t)
	orphan := metav1.DeletePropagationOrphan
	if err := env.ditto.DittofsV1alpha1().DittoServers(n.name).Delete(t.Context(), name,
		metav1.DeleteOptions{PropagationPolicy: &orphan}); err != nil {
		t.Fatalf("delete DittoServer %s (orphan): %v", name, err)
	}
	n.waitDSGone(name)
	eventually(t, waitShort, "the children released (no owner reference)", func() (bool, string) {
		owned := n.childrenOwnedBy(ds.UID)
		return len(owned) == 0, fmt.Sprint("still owned: ", owned)
	})

	n.applySample("minimal")
	again := n.waitReady(name)
	if again.UID == ds.UID {
		t.Fatal("the DittoServer was not re-created")
	}
	n.assertChildren(again)
	if got := n.statefulSet(name); got.UID != sts.UID {
		t.Errorf("StatefulSet replaced (uid %s → %s), want the orphan adopted", sts.UID, got.UID)
	}
	// Adoption changes the owner reference, not the pod template, but for
	// the API's certificate: the orphaned issued TLS Secrets are issued anew
	// (a certificate the operator did not issue for this DittoServer is not
	// trusted), so the pod restarts once to serve the new one.
	if got := n.runningPod(name + "-0"); got.UID == pod.UID {
		t.Errorf("pod %s kept: it would serve the orphan's certificate", pod.UID)
	}
	if got := n.secretUIDs(again); !maps.Equal(got, secrets) {
		t.Errorf("generated Secrets after re-create %v, want the kept ones %v", got, secrets)
	}
	n.assertClaimsKept(pvcs)

	evs := n.events(again.UID)
	// The two issued TLS Secrets, the ConfigMap, three Services and the StatefulSet.
	if got := countEvents(evs, controller.ReasonAdopted); got != 7 {
		t.Errorf("%d Adopted events, want 7: %s", got, eventSummary(evs))
	}
	if got := countEvents(evs, controller.ReasonResourceNotOwned); got != 0 {
		t.Errorf("re-create refused an orphan: %s", eventSummary(evs))
	}
	deletes := localcluster.FilterAudit(operatorWrites(t, start), func(e localcluster.AuditEvent) bool {
		return e.Namespace == n.name && (e.Verb == "delete" || e.Verb == "deletecollection")
	})
	if len(deletes) > 0 {
		t.Errorf("the operator deleted objects:\n%s", auditSummary(deletes))
	}
}

// childrenOwnedBy lists the ConfigMaps, Services and StatefulSets of the
// namespace that still carry an owner reference to uid.
func (n *testNS) childrenOwnedBy(uid types.UID) []string {
	n.t.Helper()
	ctx, core := n.t.Context(), env.kube.CoreV1()
	sel := metav1.ListOptions{LabelSelector: resources.ManagedByLabel}
	var out []string
	cms, err := core.ConfigMaps(n.name).List(ctx, sel)
	if err != nil {
		n.t.Fatal(err)
	}
	for i := range cms.Items {
		if ownedBy(&cms.Items[i], uid) {
			out = append(out, "ConfigMap "+cms.Items[i].Name)
		}
	}
	svcs, err := core.Services(n.name).List(ctx, sel)
	if err != nil {
		n.t.Fatal(err)
	}
	for i := range svcs.Items {
		if ownedBy(&svcs.Items[i], uid) {
			out = append(out, "Service "+svcs.Items[i].Name)
		}
	}
	stss, err := env.kube.AppsV1().StatefulSets(n.name).List(ctx, sel)
	if err != nil {
		n.t.Fatal(err)
	}
	for i := range stss.Items {
		if ownedBy(&stss.Items[i], uid) {
			out = append(out, "StatefulSet "+stss.Items[i].Name)
		}
	}
	return out
}
