package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// deleteWithServer false: the PostgreSQL cluster outlives the DittoServer
// whatever the propagation policy of its deletion — it never carries an owner
// reference the garbage collector could follow, foreground included; so do
// the volume claims and the generated Secrets. A DittoServer created again
// under the same name (after a background or foreground deletion) re-attaches
// all of them: the same cluster, the same claims, the same admin password.
func TestDeletionKeepsPerconaCluster(t *testing.T) {
	for _, policy := range []metav1.DeletionPropagation{metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan} {
		t.Run(string(policy), func(t *testing.T) {
			n := newNamespace(t, nil)
			name := n.applySample("percona")
			n.markPerconaReady(name)
			ds := n.waitReady(name)
			n.assertChildren(ds)
			clusterName := resources.PerconaClusterName(ds)
			cluster := n.perconaCluster(clusterName)
			if cluster == nil || len(cluster.GetOwnerReferences()) != 0 || !resources.KeptFor(cluster, ds) {
				t.Fatalf("PerconaPGCluster %s before the deletion: %v, want kept without owner", clusterName, cluster)
			}
			pvcs := n.claims()
			if len(pvcs) == 0 {
				t.Fatal("no volume claims before the deletion")
			}
			secrets := n.secretUIDs(ds)

			waitGarbageCollector(t)
			if err := env.ditto.DittofsV1alpha1().DittoServers(n.name).Delete(t.Context(), name,
				metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
				t.Fatalf("delete DittoServer %s (%s): %v", name, policy, err)
			}
			n.waitDSGone(name)
			if n.perconaCluster(clusterName) == nil {
				t.Fatalf("PerconaPGCluster %s deleted (%s), but deleteWithServer is false", clusterName, policy)
			}
			evs := n.waitEvents(ds.UID, controller.ReasonDeleting, 1)
			for _, reason := range []string{controller.ReasonPerconaDeleted, controller.ReasonDataDeleted} {
				if got := countEvents(evs, reason); got != 0 {
					t.Errorf("%d %s events: %s", got, reason, eventSummary(evs))
				}
			}
			n.assertPerconaOrphanedOnce(ds, clusterName)
			if policy != metav1.DeletePropagationOrphan {
				n.waitChildrenGone(ds)
			}
			n.assertClaimsKept(pvcs)
			consistently(t, resyncPeriod, "the kept PerconaPGCluster, claims and Secrets stay", func() (bool, string) {
				if n.perconaCluster(clusterName) == nil {
					return false, "cluster deleted"
				}
				if got := n.secretUIDs(ds); !maps.Equal(got, secrets) {
					return false, fmt.Sprintf("Secrets %v, were %v", got, secrets)
				}
				return true, ""
			})
			n.assertClaimsKept(pvcs)
			if policy == metav1.DeletePropagationOrphan {
				// The user asked to keep the children too: they stay, released.
				// A namesake adopts them: TestOrphanDeletionThenRecreateAdoptsChildren.
				return
			}

			// Re-created under the same name: the kept cluster and Secrets are
			// adopted, not refused.
			n.applySample("percona")
			again := n.waitReady(name)
			if again.UID == ds.UID {
				t.Fatal("the DittoServer was not re-created")
			}
			if got := n.secretUIDs(again); !maps.Equal(got, secrets) {
				t.Errorf("generated Secrets after re-create %v, want the kept ones %v", got, secrets)
			}
			if c := n.perconaCluster(clusterName); c == nil || c.GetUID() != cluster.GetUID() || len(c.GetOwnerReferences()) != 0 {
				t.Errorf("PerconaPGCluster after re-create: %v, want the kept one without owner", c)
			}
			n.assertClaimsKept(pvcs)
			if evs := n.events(again.UID); countEvents(evs, controller.ReasonResourceNotOwned) != 0 {
				t.Errorf("re-create refused a kept object: %s", eventSummary(evs))
			}
		})
	}
}

// secretUIDs are the UIDs of ds's generated Secrets that exist.
func (n *testNS) secretUIDs(ds *dittov1alpha1.DittoServer) map[string]types.UID {
	n.t.Helper()
	out := map[string]types.UID{}
	for _, name := range []string{resources.CredentialsSecretName(ds)} {
		s, err := env.kube.CoreV1().Secrets(n.name).Get(n.t.Context(), name, metav1.GetOptions{})
		if err == nil {
			out[name] = s.UID
		}
	}
	return out
}

// deleteWithServer true: the operator deletes the PostgreSQL cluster.
func TestDeletionDeletesPerconaCluster(t *testing.T) {
	n := newNamespace(t, nil)
	ds := sampleDittoServer(t, readSample(t, "percona"))
	mergeSpec(t, ds, `{percona: {deleteWithServer: true}}`)
	n.create(ds)
	name := ds.GetName()
	n.markPerconaReady(name)
	created := n.waitReady(name)
	pvcs := n.claims()

	n.deleteDS(name)
	n.waitDSGone(name)
	eventually(t, waitShort, "PerconaPGCluster deleted", func() (bool, string) {
		return n.perconaCluster(resources.PerconaClusterName(created)) == nil, "still there"
	})
	evs := n.waitEvents(created.UID, controller.ReasonPerconaDeleted, 1)
	for reason, want := range map[string]int{controller.ReasonDeleting: 1, controller.ReasonPerconaDeleted: 1, controller.ReasonPerconaOrphaned: 0} {
		if got := countEvents(evs, reason); got != want {
			t.Errorf("%d %s events, want %d: %s", got, reason, want, eventSummary(evs))
		}
	}
	n.waitChildrenGone(created)
	n.assertClaimsKept(pvcs)
}

// The operator stops; a DittoServer whose PostgreSQL cluster must be kept is
// deleted meanwhile; the finalizer holds everything until the operator is
// back, which then completes the deletion as if it had never been away.
func TestDeletionAcrossOperatorRestart(t *testing.T) {
	n := newNamespace(t, nil)
	name := n.applySample("percona")
	ds := n.waitDS(name, "Percona cluster created, gate closed", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return hasCondition(ds, controller.ConditionDatabaseReady, metav1.ConditionFalse, ""), statusSummary(ds)
	})
	clusterName := resources.PerconaClusterName(ds)
	if c := n.perconaCluster(clusterName); c == nil || len(c.GetOwnerReferences()) != 0 || !resources.KeptFor(c, ds) {
		t.Fatalf("PerconaPGCluster %s missing, or not kept for the DittoServer without owner: %v", clusterName, c)
	}

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
	n.deleteDS(name)
	consistently(t, 5*time.Second, "the finalizer holds the DittoServer and the cluster while the operator is down", func() (bool, string) {
		cur, err := env.ditto.DittofsV1alpha1().DittoServers(n.name).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		c := n.perconaCluster(clusterName)
		ok := cur.DeletionTimestamp != nil && slices.Contains(cur.Finalizers, controller.Finalizer) && c != nil
		return ok, fmt.Sprintf("deletionTimestamp %v finalizers %v cluster %v", cur.DeletionTimestamp, cur.Finalizers, c != nil)
	})

	if err := env.startOperator(t.Context()); err != nil {
		t.Fatal(err)
	}
	n.waitDSGone(name)
	cluster := n.perconaCluster(clusterName)
	if cluster == nil {
		t.Fatalf("PerconaPGCluster %s deleted across the restart, but deleteWithServer is false", clusterName)
	}
	if ownedBy(cluster, ds.UID) {
		t.Errorf("PerconaPGCluster still owned by the deleted DittoServer: %v", cluster.GetOwnerReferences())
	}
	evs := n.waitEvents(ds.UID, controller.ReasonDeleting, 1)
	if got := countEvents(evs, controller.ReasonPerconaDeleted); got != 0 {
		t.Errorf("%d PerconaDeleted events, want none: %s", got, eventSummary(evs))
	}
	n.assertPerconaOrphanedOnce(ds, clusterName)
	n.waitChildrenGone(ds)
}

// assertPerconaOrphanedOnce checks that the deletion of ds said once that
// its Percona cluster was kept, as `kubectl get events` shows it (the
// DittoServer is gone, so `kubectl describe` has nothing to describe), and
// says nothing more for a resync period.
func (n *testNS) assertPerconaOrphanedOnce(ds *dittov1alpha1.DittoServer, clusterName string) {
	n.t.Helper()
	evs := n.waitEvents(ds.UID, controller.ReasonPerconaOrphaned, 1)
	consistently(n.t, resyncPeriod, "one PerconaOrphaned event", func() (bool, string) {
		evs = n.events(ds.UID)
		return countEvents(evs, controller.ReasonPerconaOrphaned) == 1, eventSummary(evs)
	})
	out := n.kubectl("get", "events", "--field-selector", "reason="+controller.ReasonPerconaOrphaned+",involvedObject.uid="+string(ds.UID),
		"-o", "custom-columns=TYPE:.type,REASON:.reason,OBJECT:.involvedObject.name,MESSAGE:.message", "--no-headers")
	for _, want := range []string{"Normal", controller.ReasonPerconaOrphaned, ds.Name,
		"PerconaPGCluster " + clusterName + " kept, with its data",
		"kubectl -n " + n.name + " delete perconapgcluster " + clusterName} {
		if !strings.Contains(out, want) {
			n.t.Errorf("kubectl get events does not show %q:\n%s", want, out)
		}
	}
}

func (n *testNS) deleteDS(name string) {
	n.t.Helper()
	waitGarbageCollector(n.t)
	if err := env.ditto.DittofsV1alpha1().DittoServers(n.name).Delete(n.t.Context(), name, metav1.DeleteOptions{}); err != nil {
		n.t.Fatalf("delete DittoServer %s: %v", name, err)
	}
}

// waitDSGone waits until the finalizer is released and the object is gone.
func (n *testNS) waitDSGone(name string) {
	n.t.Helper()
	eventually(n.t, waitLong, "DittoServer "+name+" gone (finalizer released)", func() (bool, string) {
		ds, err := env.ditto.DittofsV1alpha1().DittoServers(n.name).Get(n.t.Context(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		if err != nil {
			return false, err.Error()
		}
		return false, fmt.Sprintf("finalizers %v, %s", ds.Finalizers, statusSummary(ds))
	})
}

// waitChildrenGone waits until the garbage collector removed everything the
// DittoServer controlled, and its pod. The generated Secrets are kept
// (assertSecretsKept).
func (n *testNS) waitChildrenGone(ds *dittov1alpha1.DittoServer) {
	n.t.Helper()
	ctx, core := n.t.Context(), env.kube.CoreV1()
	children := map[string]func() error{
		"ConfigMap " + resources.ConfigMapName(ds): func() error {
			_, err := core.ConfigMaps(n.name).Get(ctx, resources.ConfigMapName(ds), metav1.GetOptions{})
			return err
		},
		"StatefulSet " + resources.StatefulSetName(ds): func() error {
			_, err := env.kube.AppsV1().StatefulSets(n.name).Get(ctx, resources.StatefulSetName(ds), metav1.GetOptions{})
			return err
		},
		"Pod " + ds.Name + "-0": func() error {
			_, err := core.Pods(n.name).Get(ctx, ds.Name+"-0", metav1.GetOptions{})
			return err
		},
	}
	for _, svc := range []string{resources.HeadlessServiceName(ds), resources.FileServiceName(ds), resources.APIServiceName(ds)} {
		children["Service "+svc] = func() error {
			_, err := core.Services(n.name).Get(ctx, svc, metav1.GetOptions{})
			return err
		}
	}
	eventually(n.t, waitLong, "the garbage collector removing the DittoServer's children", func() (bool, string) {
		var left []string
		for what, get := range children {
			if err := get(); !apierrors.IsNotFound(err) {
				left = append(left, fmt.Sprintf("%s (%v)", what, err))
			}
		}
		slices.Sort(left)
		return len(left) == 0, fmt.Sprint("still there: ", left)
	})
}

// claims returns the namespace's volume claims by name.
func (n *testNS) claims() map[string]types.UID {
	n.t.Helper()
	list, err := env.kube.CoreV1().PersistentVolumeClaims(n.name).List(n.t.Context(), metav1.ListOptions{})
	if err != nil {
		n.t.Fatal(err)
	}
	out := map[string]types.UID{}
	for _, c := range list.Items {
		out[c.Name] = c.UID
	}
	return out
}

func (n *testNS) assertClaimsKept(before map[string]types.UID) {
	n.t.Helper()
	after := n.claims()
	for name, uid := range before {
		if after[name] != uid {
			n.t.Errorf("volume claim %s deleted with the DittoServer; claims now %v", name, after)
		}
	}
}

// deletionPolicy Delete is the one way to delete everything with the
// DittoServer: the volume claims, the generated Secrets and the Percona
// cluster (deleteWithServer false notwithstanding) go, and a DataDeleted
// event says so.
func TestDeletionPolicyDeletesEverything(t *testing.T) {
	n := newNamespace(t, nil)
	ds := sampleDittoServer(t, readSample(t, "percona"))
	mergeSpec(t, ds, `{deletionPolicy: Delete}`)
	n.create(ds)
	name := ds.GetName()
	n.markPerconaReady(name)
	created := n.waitReady(name)
	if len(n.claims()) == 0 || len(n.secretUIDs(created)) != 1 {
		t.Fatalf("before the deletion: claims %v, Secrets %v", n.claims(), n.secretUIDs(created))
	}

	n.deleteDS(name)
	n.waitDSGone(name)
	eventually(t, waitLong, "claims, generated Secrets and the Percona cluster deleted", func() (bool, string) {
		claims, secrets := n.claims(), n.secretUIDs(created)
		cluster := n.perconaCluster(resources.PerconaClusterName(created))
		return len(claims) == 0 && len(secrets) == 0 && cluster == nil,
			fmt.Sprintf("claims %v, Secrets %v, cluster %v", claims, secrets, cluster != nil)
	})
	evs := n.waitEvents(created.UID, controller.ReasonDataDeleted, 1)
	if got := countEvents(evs, controller.ReasonPerconaDeleted); got != 1 {
		t.Errorf("%d PerconaDeleted events, want 1: %s", got, eventSummary(evs))
	}
	n.waitChildrenGone(created)
}
