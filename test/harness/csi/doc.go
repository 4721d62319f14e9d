// Package csi starts the Kubernetes CSI machinery the backup tests run on,
// against a local control plane (test/localcluster): the snapshot CRDs
// (snapshot.storage.k8s.io/v1, copied from
// github.com/kubernetes-csi/external-snapshotter/client/v8 v8.7.0 into
// crds/), the real snapshot-controller, the directory-backed test driver
// (test/csidriver, served from the test binary on a unix socket), the real
// csi-provisioner and csi-snapshotter sidecars on that socket, a
// StorageClass (Immediate binding, expansion allowed) and a
// VolumeSnapshotClass for the driver.
//
// The storage backend is a test double; everything Kubernetes-side is real.
// kwok runs no kubelet, so nothing is attached or published: the
// provisioner provisions at once (Immediate binding), and a test that runs
// the real dfs "where the pod is" gives it the directories of the pod's
// claims (VolumeDir).
package csi
