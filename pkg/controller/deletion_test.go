package controller

// Deletion: phase Deleting and one Deleting event, the PostgreSQL cluster
// deleted or kept as the spec says, then the finalizer released — and never
// released while that would lose a cluster the user wants kept. A kept
// cluster is named in one PerconaOrphaned event, when the finalizer goes.

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

func TestDeletion(t *testing.T) {
	type cluster int
	const (
		noCluster cluster = iota
		// ownedCluster has this DittoServer as controller: deleteWithServer
		// true, or true until just before the deletion.
		ownedCluster
		// keptCluster has no owner reference, only the kept-for label.
		keptCluster
	)
	for _, tc := range []struct {
		name string
		// the DittoServer
		percona          bool // spec.percona.enabled, and the cluster named in the status
		perconaDisabled  bool // spec.percona set but disabled after the cluster was created
		deleteWithServer bool
		deletedAgo       time.Duration
		alreadyDeleting  bool // an earlier pass recorded phase Deleting
		// the cluster
		crdInstalled bool
		cacheSyncing bool // the PerconaPGCluster informer has not synced
		cluster      cluster
		failing      string // a verb on perconapgclusters that fails
		// what the operator must do
		wantErr         error
		actions         []string
		events          []string
		finalizerKept   bool
		clusterDeleted  bool
		clusterOrphaned bool
	}{
		{
			name: "SQLite server", deletedAgo: time.Second,
			actions: []string{"apply dittoservers/status nas", "patch dittoservers nas"},
			events:  []string{"Normal Deleting DittoServer is being deleted, cleaning up resources"},
		},
		{
			name: "deleteWithServer true", percona: true, deleteWithServer: true, crdInstalled: true, cluster: ownedCluster,
			deletedAgo: time.Second,
			actions:    []string{"apply dittoservers/status nas", "delete perconapgclusters nas-postgres", "patch dittoservers nas"},
			events: []string{"Normal Deleting DittoServer is being deleted",
				"Normal PerconaDeleted PerconaPGCluster nas-postgres deleted (deleteWithServer=true)"},
			clusterDeleted: true,
		},
		{
			name: "deleteWithServer false", percona: true, crdInstalled: true, cluster: ownedCluster, deletedAgo: time.Second,
			actions: []string{"apply dittoservers/status nas", "patch perconapgclusters nas-postgres", "patch dittoservers nas"},
			events: []string{"Normal Deleting DittoServer is being deleted",
				"Normal PerconaOrphaned PerconaPGCluster nas-postgres kept, with its data (deleteWithServer=false); " +
					"a DittoServer created again as nas uses it, or delete it when no longer needed: " +
					"kubectl -n storage delete perconapgcluster nas-postgres"},
			clusterOrphaned: true,
		},
		{
			name: "second pass: Deleting already recorded", percona: true, crdInstalled: true, cluster: ownedCluster,
			deletedAgo: time.Second, alreadyDeleting: true,
			actions:         []string{"patch perconapgclusters nas-postgres", "patch dittoservers nas"},
			events:          []string{"Normal PerconaOrphaned "},
			clusterOrphaned: true,
		},
		{
			// The normal case: the cluster never had an owner reference.
			name: "kept cluster: nothing to release", percona: true, crdInstalled: true, cluster: keptCluster,
			deletedAgo: time.Second,
			actions:    []string{"apply dittoservers/status nas", "patch dittoservers nas"},
			events: []string{"Normal Deleting DittoServer is being deleted",
				"Normal PerconaOrphaned PerconaPGCluster nas-postgres kept, with its data"},
			clusterOrphaned: true,
		},
		{
			name: "kept cluster, second pass: Deleting already recorded", percona: true, crdInstalled: true, cluster: keptCluster,
			deletedAgo: time.Second, alreadyDeleting: true,
			actions:         []string{"patch dittoservers nas"},
			events:          []string{"Normal PerconaOrphaned PerconaPGCluster nas-postgres kept, with its data"},
			clusterOrphaned: true,
		},
		{
			name: "Percona cluster gone before the deletion", percona: true, crdInstalled: true, cluster: noCluster,
			deletedAgo: time.Second, alreadyDeleting: true,
			actions: []string{"patch dittoservers nas"},
		},
		{
			name: "CRD gone", percona: true, cluster: noCluster, deletedAgo: time.Second, alreadyDeleting: true,
			actions: []string{"patch dittoservers nas"},
		},
		{
			// Disabling Percona clears status.perconaClusterName, but the
			// cluster is still owned: it must be orphaned all the same.
			name: "Percona disabled after the cluster was created", perconaDisabled: true, crdInstalled: true, cluster: ownedCluster,
			deletedAgo: time.Second, alreadyDeleting: true,
			actions:         []string{"patch perconapgclusters nas-postgres", "patch dittoservers nas"},
			events:          []string{"Normal PerconaOrphaned PerconaPGCluster nas-postgres kept, with its data"},
			clusterOrphaned: true,
		},
		{
			name: "SQLite server while the Percona cache syncs", crdInstalled: true, cacheSyncing: true,
			deletedAgo: time.Second, alreadyDeleting: true,
			actions: []string{"patch dittoservers nas"},
		},
		{
			name: "Percona server while the Percona cache syncs", percona: true, crdInstalled: true, cacheSyncing: true, cluster: ownedCluster,
			deletedAgo: time.Second, alreadyDeleting: true,
			wantErr:       errAny,
			events:        []string{"Warning ReconcileFailed Failed to reconcile cleanup: the PerconaPGCluster cache has not synced yet"},
			finalizerKept: true,
		},
		{
			name: "Percona cache still syncing after the timeout: the cluster must be kept", percona: true, crdInstalled: true,
			cacheSyncing: true, cluster: ownedCluster, deletedAgo: 2 * time.Minute, alreadyDeleting: true,
			wantErr:       errWaiting,
			events:        []string{"Warning DeletionBlocked Deletion blocked: PerconaPGCluster nas-postgres must be kept"},
			finalizerKept: true,
		},
		{
			name: "delete fails before the timeout", percona: true, deleteWithServer: true, crdInstalled: true, cluster: ownedCluster,
			deletedAgo: 30 * time.Second, alreadyDeleting: true, failing: "delete",
			wantErr:       errAny,
			actions:       []string{"delete perconapgclusters nas-postgres"},
			events:        []string{"Warning ReconcileFailed Failed to reconcile cleanup: delete PerconaPGCluster nas-postgres: injected failure"},
			finalizerKept: true,
		},
		{
			name: "orphaning fails before the timeout", percona: true, crdInstalled: true, cluster: ownedCluster,
			deletedAgo: 30 * time.Second, alreadyDeleting: true, failing: "patch",
			wantErr:       errAny,
			actions:       []string{"patch perconapgclusters nas-postgres"},
			events:        []string{"Warning ReconcileFailed Failed to reconcile cleanup: orphan PerconaPGCluster nas-postgres: injected failure"},
			finalizerKept: true,
		},
		{
			name: "delete fails after the timeout: nothing to keep", percona: true, deleteWithServer: true, crdInstalled: true,
			cluster: ownedCluster, deletedAgo: 61 * time.Second, alreadyDeleting: true, failing: "delete",
			actions: []string{"delete perconapgclusters nas-postgres", "patch dittoservers nas"},
			events:  []string{"Warning CleanupTimeout Cleanup timeout exceeded (1m0s), forcing finalizer removal: delete PerconaPGCluster nas-postgres: injected failure"},
		},
		{
			name: "orphaning fails after the timeout: the cluster must be kept", percona: true, crdInstalled: true, cluster: ownedCluster,
			deletedAgo: 10 * time.Minute, alreadyDeleting: true, failing: "patch",
			wantErr: errWaiting,
			actions: []string{"patch perconapgclusters nas-postgres"},
			events: []string{"Warning DeletionBlocked Deletion blocked: PerconaPGCluster nas-postgres must be kept (deleteWithServer=false) " +
				"but still has this DittoServer as owner (orphan PerconaPGCluster nas-postgres: injected failure). " +
				"Remove its ownerReference to this DittoServer, or set spec.percona.deleteWithServer=true to delete it"},
			finalizerKept: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDittoServer(withFinalizer, func(ds *dittov1alpha1.DittoServer) {
				ds.DeletionTimestamp = &metav1.Time{Time: t0.Add(-tc.deletedAgo)}
				ds.Status.Phase = dittov1alpha1.PhaseRunning
				if tc.alreadyDeleting {
					ds.Status.Phase = dittov1alpha1.PhaseDeleting
				}
				switch {
				case tc.percona:
					withPercona(tc.deleteWithServer)(ds)
					ds.Status.PerconaClusterName = "nas-postgres"
				case tc.perconaDisabled:
					ds.Spec.Percona = &dittov1alpha1.PerconaSpec{Enabled: false, DeleteWithServer: tc.deleteWithServer}
				}
			})
			objects := []runtime.Object{ds}
			if tc.cluster != noCluster {
				pg := perconaCluster(ds, "ready")
				if tc.cluster == keptCluster {
					pg.SetOwnerReferences(nil)
				} else {
					pg.SetOwnerReferences([]metav1.OwnerReference{resources.OwnerReference(ds)})
				}
				objects = append(objects, pg)
			}
			f := newFixture(t, tc.crdInstalled, objects...)
			if tc.cacheSyncing {
				f.c.percona.SetSyncedForTest(false)
			}
			if tc.failing != "" {
				f.dynClient.PrependReactor(tc.failing, resources.PerconaGVR.Resource, func(clienttesting.Action) (bool, runtime.Object, error) {
					return true, nil, errors.New("injected failure")
				})
			}

			expectErr(t, f.sync(), tc.wantErr)
			expectActions(t, f.actions(), tc.actions...)
			expectEvents(t, f.events(), tc.events...)

			after := f.dittoServer()
			if hasFinalizer(after) != tc.finalizerKept {
				t.Errorf("finalizers = %v, want kept: %v", after.Finalizers, tc.finalizerKept)
			}
			if after.Status.Phase != dittov1alpha1.PhaseDeleting {
				t.Errorf("phase = %q, want Deleting", after.Status.Phase)
			}
			if !tc.finalizerKept {
				expectGuardedPatch(t, f.action("patch dittoservers nas"), "finalizers", "[]")
			}
			if tc.clusterDeleted {
				if f.exists(f.dyn, resources.PerconaGVR, "nas-postgres") {
					t.Error("PerconaPGCluster still exists")
				}
				del := f.action("delete perconapgclusters nas-postgres").(clienttesting.DeleteAction).GetDeleteOptions()
				if del.Preconditions == nil || del.Preconditions.UID == nil || *del.Preconditions.UID != "pg-uid" {
					t.Errorf("delete preconditions = %+v, want the cluster's UID", del.Preconditions)
				}
			}
			if tc.clusterOrphaned {
				pg := f.get(f.dyn, resources.PerconaGVR, "nas-postgres").(*unstructured.Unstructured)
				if len(pg.GetOwnerReferences()) != 0 {
					t.Errorf("cluster still owned: %v", pg.GetOwnerReferences())
				}
				if tc.cluster == ownedCluster {
					expectGuardedPatch(t, f.action("patch perconapgclusters nas-postgres"), "ownerReferences", "[]")
				}
			}
		})
	}
}

// expectGuardedPatch checks a merge patch of metadata.field to value, guarded
// by resourceVersion.
func expectGuardedPatch(t *testing.T, a clienttesting.Action, field, value string) {
	t.Helper()
	var patch struct {
		Metadata map[string]json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(a.(clienttesting.PatchAction).GetPatch(), &patch); err != nil {
		t.Fatal(err)
	}
	if got := string(patch.Metadata[field]); got != value {
		t.Errorf("%s: patch of %s = %s, want %s", describeAction(a), field, got, value)
	}
	if rv := strings.Trim(string(patch.Metadata["resourceVersion"]), `"`); rv == "" {
		t.Errorf("%s: patch not guarded by resourceVersion: %s", describeAction(a), a.(clienttesting.PatchAction).GetPatch())
	}
}

// A conflict on the finalizer patch re-reads the DittoServer and retries.
func TestFinalizerRemovalRetriesOnConflict(t *testing.T) {
	ds := newDittoServer(withFinalizer, func(ds *dittov1alpha1.DittoServer) {
		ds.DeletionTimestamp = &metav1.Time{Time: t0}
		ds.Status.Phase = dittov1alpha1.PhaseDeleting
	})
	f := newFixture(t, false, ds)
	// Someone else adds a finalizer behind the cache's back.
	f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Finalizers = append(ds.Finalizers, "example.com/other") }, false)

	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions(), "patch dittoservers nas", "get dittoservers nas", "patch dittoservers nas")
	if got := f.dittoServer().Finalizers; len(got) != 1 || got[0] != "example.com/other" {
		t.Errorf("finalizers = %v, want only the other one", got)
	}
}

// A DittoServer gone from the cache is nothing to do.
func TestSyncOfAGoneDittoServer(t *testing.T) {
	f := newFixture(t, false)
	expectErr(t, f.sync(), nil)
	expectActions(t, f.actions())
	expectEvents(t, f.events())
}

// A DittoServer stuck in deletion says nothing about its kept cluster until
// the pass that releases its finalizer, and says it once: passes that fail
// before (the Percona cache syncing, the finalizer patch refused) say
// nothing, and no pass follows the release.
func TestPerconaOrphanedOncePerDeletion(t *testing.T) {
	ds := newDittoServer(withFinalizer, withPercona(false), func(ds *dittov1alpha1.DittoServer) {
		ds.DeletionTimestamp = &metav1.Time{Time: t0.Add(-time.Second)}
		ds.Status.PerconaClusterName = "nas-postgres"
	})
	pg := perconaCluster(ds, "ready")
	pg.SetOwnerReferences(nil)
	f := newFixture(t, true, ds, pg)
	orphaned := func(events []string) (n int) {
		for _, e := range events {
			if strings.HasPrefix(e, "Normal PerconaOrphaned ") {
				n++
			}
		}
		return n
	}

	f.c.percona.SetSyncedForTest(false)
	expectErr(t, f.sync(), errAny)
	if evs := f.events(); orphaned(evs) != 0 {
		t.Errorf("pass with the Percona cache syncing: events %q, want no PerconaOrphaned", evs)
	}
	f.c.percona.SetSyncedForTest(true)

	refuse := true
	f.dittoClient.PrependReactor("patch", "dittoservers", func(clienttesting.Action) (bool, runtime.Object, error) {
		if refuse {
			return true, nil, errors.New("injected failure")
		}
		return false, nil, nil
	})
	f.catchUp()
	for range 2 {
		expectErr(t, f.sync(), errAny)
		if evs := f.events(); orphaned(evs) != 0 {
			t.Errorf("pass whose finalizer patch failed: events %q, want no PerconaOrphaned", evs)
		}
	}

	refuse = false
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectEvents(t, f.events(), "Normal PerconaOrphaned PerconaPGCluster nas-postgres kept, with its data")
	if hasFinalizer(f.dittoServer()) {
		t.Fatal("finalizer kept")
	}

	// Another pass over the released DittoServer (a resync, an operator
	// restarted) says nothing more.
	f.catchUp()
	expectErr(t, f.sync(), nil)
	expectEvents(t, f.events())
	if !f.exists(f.dyn, resources.PerconaGVR, "nas-postgres") {
		t.Error("the kept PerconaPGCluster was deleted")
	}
}
