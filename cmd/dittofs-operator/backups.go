package main

import (
	"context"

	snapinformers "github.com/kubernetes-csi/external-snapshotter/client/v8/informers/externalversions"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller"
	"github.com/dittofs/dittofs-operator/pkg/controller/backup"
	dittoinformers "github.com/dittofs/dittofs-operator/pkg/generated/informers/externalversions"
)

// backupCRDs gate the backup controller; snapshotCRDs gate its snapshot
// informers (a cluster without them reports SnapshotCRDsNotInstalled on
// each DittoBackup).
var (
	backupCRDs   = []string{"dittobackups." + dittov1alpha1.SchemeGroupVersion.Group}
	snapshotCRDs = []string{
		"volumesnapshots.snapshot.storage.k8s.io",
		"volumesnapshotcontents.snapshot.storage.k8s.io",
		"volumesnapshotclasses.snapshot.storage.k8s.io",
	}
)

// newBackups builds the backup controller on the shared DittoServer,
// StatefulSet, pod and StorageClass informers, its DittoBackup informer
// (started once the DittoBackup CRD is installed) and its VolumeSnapshot
// informers (started once the snapshot CRDs are; every backup is then
// requeued). It returns the start function extended with them.
func (op *operator) newBackups(ctx context.Context, c *clients, o options, inf controller.Informers,
	startPrev func(context.Context), metrics *backup.Metrics) (*backup.Controller, func(context.Context), error) {
	var err error
	if op.backupCRDs, err = controller.NewCRDGate(c.metadata, o.resync, backupCRDs...); err != nil {
		return nil, nil, err
	}
	if op.snapCRDs, err = controller.NewCRDGate(c.metadata, o.resync, snapshotCRDs...); err != nil {
		return nil, nil, err
	}
	factory := dittoinformers.NewSharedInformerFactoryWithOptions(c.ditto, o.resync, dittoinformers.WithNamespace(o.namespace),
		dittoinformers.WithTransform(dropManagedFields))
	snapFactory := snapinformers.NewSharedInformerFactoryWithOptions(c.snapshot, o.resync, snapinformers.WithNamespace(o.namespace),
		snapinformers.WithTransform(dropManagedFields))
	bi := backup.Informers{
		DittoBackups: factory.Dittofs().V1alpha1().DittoBackups(), DittoServers: inf.DittoServers,
		StatefulSets: inf.StatefulSets, Pods: inf.Pods, StorageClasses: inf.StorageClasses,
		Snapshots: snapFactory.Snapshot().V1().VolumeSnapshots(), SnapshotClass: snapFactory.Snapshot().V1().VolumeSnapshotClasses(),
	}
	snapGate := op.snapCRDs
	ctrl, err := backup.New(ctx, c.kube, c.ditto, c.snapshot, bi, backup.Options{Metrics: metrics,
		SnapshotCRDsMissing: func() []string {
			// Unknown yet: nothing reported missing; the backup waits
			// for the snapshot caches instead.
			missing, _ := snapGate.Missing()
			return missing
		}})
	if err != nil {
		return nil, nil, err
	}
	start := func(ctx context.Context) {
		startPrev(ctx)
		op.backupCRDs.Start(ctx.Done())
		op.snapCRDs.Start(ctx.Done())
		go func() {
			if op.backupCRDs.Wait(ctx, backup.ControllerName) {
				factory.Start(ctx.Done())
			}
		}()
		go func() {
			if !snapGate.Wait(ctx, backup.ControllerName+" snapshots") {
				return
			}
			snapFactory.Start(ctx.Done())
			if cache.WaitForCacheSync(ctx.Done(), bi.Snapshots.Informer().HasSynced, bi.SnapshotClass.Informer().HasSynced) {
				klog.FromContext(ctx).Info("VolumeSnapshot caches synced: backups start", "controller", backup.ControllerName)
				ctrl.EnqueueAll()
			}
		}()
	}
	return ctrl, start, nil
}
