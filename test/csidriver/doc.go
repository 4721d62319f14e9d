// Package csidriver is a directory-backed CSI driver for tests: the storage
// backend is a test double, so that the real Kubernetes CSI sidecars
// (csi-provisioner, csi-snapshotter) and the real snapshot-controller can
// provision claims and cut VolumeSnapshots on the local control plane.
//
// A volume is a directory under <root>/volumes, a snapshot a copy of one
// under <root>/snapshots, a volume created from a snapshot or another volume
// a copy again. Each directory has a JSON record beside it (name, capacity,
// source, creation time), so the driver restarts with its state. The copy is
// not atomic: a snapshot of a directory that a process is writing is torn,
// weaker than the crash-consistent snapshot of a real block device, so a test
// that wants a consistent pair must stop the writer first (the operator's
// Offline method does).
//
// Failures are injected deterministically: a snapshot whose VolumeSnapshot
// "<namespace>/<name>" (csi-snapshotter --extra-create-metadata) or CSI name
// matches Config.FailSnapshots, or whose class has the parameter
// FailParameter set to "true", fails with FailedPrecondition every time.
package csidriver
