package e2e

// The CSI machinery of the backup tests (test/harness/csi): the real
// snapshot-controller, csi-provisioner and csi-snapshotter on the
// directory-backed test driver, started once for the test binary by the
// first test that needs it and stopped in teardown. The snapshot CRDs are
// installed separately (snapshotCRDs), so that a test can first see the
// operator in a cluster without them.

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/dittofs/dittofs-operator/test/harness/csi"
	"github.com/dittofs/dittofs-operator/test/localcluster"
)

// failingSnapshots matches the VolumeSnapshots ("<namespace>/<name>") the
// test driver fails: a test names its backup "doomed-..." to see a failure.
var failingSnapshots = regexp.MustCompile(`/doomed-`)

var (
	csiMu    sync.Mutex
	csiStack *csi.Stack
	crdsOnce sync.Once
	crdsErr  error
)

// csiDriver starts the CSI stack (without the snapshot CRDs) the first time
// a test asks for it.
func csiDriver(t *testing.T) *csi.Stack {
	t.Helper()
	csiMu.Lock()
	defer csiMu.Unlock()
	if csiStack != nil {
		return csiStack
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	s, err := csi.Start(ctx, csi.Options{
		Kubeconfig:    env.cluster.Kubeconfig,
		RESTConfig:    env.cluster.RESTConfig(),
		NodeName:      localcluster.NodeName,
		FailSnapshots: failingSnapshots,
		SkipCRDs:      true,
	})
	if err != nil {
		t.Fatalf("start the CSI stack: %v", err)
	}
	csiStack = s
	return s
}

// snapshotCRDs installs the snapshot CRDs and the VolumeSnapshotClasses once.
func snapshotCRDs(t *testing.T) *csi.Stack {
	t.Helper()
	s := csiDriver(t)
	crdsOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if crdsErr = s.InstallCRDs(ctx); crdsErr == nil {
			crdsErr = s.CreateSnapshotClasses(ctx)
		}
	})
	if crdsErr != nil {
		t.Fatalf("install the snapshot CRDs: %v", crdsErr)
	}
	return s
}

// stopCSI stops the CSI stack if a test started it.
func stopCSI() error {
	csiMu.Lock()
	defer csiMu.Unlock()
	if csiStack == nil {
		return nil
	}
	return csiStack.Stop()
}

var (
	volumeSnapshotGVR        = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}
	volumeSnapshotContentGVR = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotcontents"}
	unstructuredString       = unstructured.NestedString
)
