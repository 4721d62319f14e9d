package controller

import (
	"context"
	"fmt"

	snapclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/backup"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// restoreSource is the backup a restore creates a server from.
type restoreSource struct {
	backup *dittov1alpha1.DittoBackup
	creds  *corev1.Secret
}

// restoredClaims tells whether every claim of the new server exists and was
// made from a backup (the restore is done; uid is that backup's), or a
// problem when one exists that was not.
func (c *Controller) restoredClaims(ds *dittov1alpha1.DittoServer, templates []corev1.PersistentVolumeClaim) (done bool, uid string, p *problem) {
	done = true
	for _, t := range templates {
		pvc, err := c.pvcLister.PersistentVolumeClaims(ds.Namespace).Get(resources.ClaimName(ds, t.Name))
		if err != nil {
			done = false
			continue
		}
		if p := foreignClaim(pvc); p != nil {
			return false, "", p
		}
		uid = pvc.Labels[backup.RestoredFromLabel]
	}
	return done, uid, nil
}

func foreignClaim(pvc *corev1.PersistentVolumeClaim) *problem {
	if pvc.Labels[backup.RestoredFromLabel] != "" {
		return nil
	}
	return &problem{ReasonRestoreConflict, fmt.Sprintf("spec.bootstrap.fromBackup: PersistentVolumeClaim %s exists and was not made from a backup; it is neither used nor deleted: delete it (its data goes with it) or create the server under another name", pvc.Name)}
}

// restoreSourceOf reads the backup and its credentials, and says why they
// cannot be restored into ds (a problem), if so.
func (c *Controller) restoreSourceOf(ctx context.Context, ds *dittov1alpha1.DittoServer, templates []corev1.PersistentVolumeClaim) (*restoreSource, *problem, error) {
	ref := ds.Spec.Bootstrap.FromBackup
	ns := backupNamespace(ds)
	b, err := c.ditto.DittofsV1alpha1().DittoBackups(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, &problem{ReasonBackupNotFound, fmt.Sprintf("spec.bootstrap.fromBackup: DittoBackup %s/%s not found; nothing is created", ns, ref.Name)}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get DittoBackup %s/%s: %w", ns, ref.Name, err)
	}
	nsLabels, err := c.restoreNamespaceLabels(ctx, b, ds.Namespace)
	if err != nil {
		return nil, nil, err
	}
	if ok, why := backup.RestoreAdmits(b, ds.Namespace, nsLabels); !ok {
		return nil, &problem{ReasonBackupNotAdmitted, "spec.bootstrap.fromBackup: " + why + "; nothing is created"}, nil
	}
	if b.Status.Phase != dittov1alpha1.BackupCompleted {
		return nil, &problem{ReasonBackupNotReady, fmt.Sprintf("spec.bootstrap.fromBackup: DittoBackup %s/%s is %s, not Completed; nothing is created until it is", ns, b.Name, phaseOr(b.Status.Phase))}, nil
	}
	if msg := backup.RestoreLayoutProblem(b, templates); msg != "" {
		return nil, &problem{ReasonBackupLayoutMismatch, "spec.bootstrap.fromBackup: " + msg + "; nothing is created"}, nil
	}
	if c.snap == nil {
		return nil, &problem{ReasonBackupNotReady, "spec.bootstrap.fromBackup: this operator runs without the VolumeSnapshot API; nothing is created"}, nil
	}
	src := &restoreSource{backup: b, creds: &corev1.Secret{}}
	if name := b.Status.CredentialsSecretName; name != "" {
		if src.creds, err = c.kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, &problem{ReasonBackupNotReady, fmt.Sprintf("spec.bootstrap.fromBackup: the credentials Secret %s of DittoBackup %s/%s is gone; nothing is created", name, ns, b.Name)}, nil
			}
			return nil, nil, fmt.Errorf("get Secret %s/%s: %w", ns, name, err)
		}
	}
	return src, nil, nil
}

func phaseOr(p dittov1alpha1.BackupPhase) string {
	if p == "" {
		return string(dittov1alpha1.BackupPending)
	}
	return string(p)
}

// backupNamespace is where spec.bootstrap.fromBackup's backup is.
func backupNamespace(ds *dittov1alpha1.DittoServer) string {
	if ns := ds.Spec.Bootstrap.FromBackup.Namespace; ns != "" {
		return ns
	}
	return ds.Namespace
}

// restoreNamespaceLabels are the labels of ns when b admits namespaces by
// selector (one list of that namespace, with the tenants' list permission),
// else nil.
func (c *Controller) restoreNamespaceLabels(ctx context.Context, b *dittov1alpha1.DittoBackup, ns string) (labels.Set, error) {
	r := b.Spec.RestoreNamespaces
	if ns == b.Namespace || r == nil || r.From != dittov1alpha1.TenantsSelector {
		return nil, nil
	}
	list, err := c.kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", ns).String()})
	if err != nil {
		return nil, fmt.Errorf("read the labels of namespace %s: %w", ns, err)
	}
	for _, n := range list.Items {
		if n.Name == ns {
			return labels.Set(n.Labels), nil
		}
	}
	return nil, nil
}

// restoreSecrets creates the server's credentials Secrets from the backup's;
// an existing one (a server of the same name left it behind) must hold the
// same values.
func (c *Controller) restoreSecrets(ctx context.Context, ds *dittov1alpha1.DittoServer, src *restoreSource) (*problem, error) {
	w := c.secretWriter()
	for _, want := range backup.RestoredSecrets(ds, src.creds) {
		_, created, err := w.existingOrCreated(ctx, ds, ds.Namespace, want.Name, func() (*corev1.Secret, error) { return want, nil })
		if err != nil || created {
			if err != nil {
				return nil, fmt.Errorf("restore Secret %s: %w", want.Name, err)
			}
			continue
		}
		live, err := c.kube.CoreV1().Secrets(ds.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get Secret %s/%s: %w", ds.Namespace, want.Name, err)
		}
		for k, v := range want.Data {
			if string(live.Data[k]) != string(v) {
				return &problem{ReasonRestoreConflict, fmt.Sprintf("spec.bootstrap.fromBackup: Secret %s exists with other credentials than DittoBackup %s/%s holds (key %s); it is not overwritten: delete it, or create the server under another name",
					want.Name, src.backup.Namespace, src.backup.Name, k)}, nil
			}
		}
	}
	return nil, nil
}

// restoreClaims creates every claim of the new server from its snapshot and
// counts those it created; a claim that exists and was not made from a
// backup is a problem.
func (c *Controller) restoreClaims(ctx context.Context, ds *dittov1alpha1.DittoServer, src *restoreSource, templates []corev1.PersistentVolumeClaim) (int, *problem, error) {
	created := 0
	for i := range templates {
		t := &templates[i]
		snapshot, err := c.restoreSnapshot(ctx, ds, src.backup, backup.SnapshotOf(src.backup, t.Name), t.Name)
		if err != nil {
			return created, nil, err
		}
		pvc := backup.RestoredClaim(ds, t, snapshot, src.backup)
		_, err = c.kube.CoreV1().PersistentVolumeClaims(ds.Namespace).Create(ctx, pvc, metav1.CreateOptions{FieldManager: FieldManager})
		if apierrors.IsAlreadyExists(err) {
			live, gerr := c.kube.CoreV1().PersistentVolumeClaims(ds.Namespace).Get(ctx, pvc.Name, metav1.GetOptions{})
			if gerr != nil {
				return created, nil, fmt.Errorf("get PersistentVolumeClaim %s/%s: %w", ds.Namespace, pvc.Name, gerr)
			}
			if p := foreignClaim(live); p != nil {
				return created, p, nil
			}
			continue
		}
		if err != nil {
			return created, nil, fmt.Errorf("create PersistentVolumeClaim %s/%s: %w", ds.Namespace, pvc.Name, err)
		}
		created++
		klog.FromContext(ctx).V(2).Info("Created a claim from a snapshot", "claim", klog.KObj(pvc), "snapshot", snapshot)
	}
	return created, nil, nil
}

// restoreSnapshot is the VolumeSnapshot in the server's namespace a claim is
// made from: the backup's own in its namespace; from another namespace, one
// bound to a pre-provisioned content with the backup's snapshot handle.
func (c *Controller) restoreSnapshot(ctx context.Context, ds *dittov1alpha1.DittoServer, b *dittov1alpha1.DittoBackup, s *dittov1alpha1.BackupSnapshot, template string) (string, error) {
	if b.Namespace == ds.Namespace {
		return s.VolumeSnapshotName, nil
	}
	snaps := c.snap.SnapshotV1()
	vs, err := snaps.VolumeSnapshots(b.Namespace).Get(ctx, s.VolumeSnapshotName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("get VolumeSnapshot %s/%s: %w", b.Namespace, s.VolumeSnapshotName, err)
	}
	if vs.Status == nil || vs.Status.BoundVolumeSnapshotContentName == nil {
		return "", fmt.Errorf("VolumeSnapshot %s/%s is bound to no content", b.Namespace, vs.Name)
	}
	content, err := snaps.VolumeSnapshotContents().Get(ctx, *vs.Status.BoundVolumeSnapshotContentName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("get VolumeSnapshotContent %s: %w", *vs.Status.BoundVolumeSnapshotContentName, err)
	}
	if content.Status == nil || content.Status.SnapshotHandle == nil {
		return "", fmt.Errorf("VolumeSnapshotContent %s has no snapshot handle", content.Name)
	}
	vsc := backup.RestoreSnapshotContent(ds, template, content, b)
	if _, err := snaps.VolumeSnapshotContents().Create(ctx, vsc, metav1.CreateOptions{FieldManager: FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create VolumeSnapshotContent %s: %w", vsc.Name, err)
	}
	own := backup.RestoreSnapshot(ds, template, content.Spec.VolumeSnapshotClassName, b)
	if _, err := snaps.VolumeSnapshots(ds.Namespace).Create(ctx, own, metav1.CreateOptions{FieldManager: FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create VolumeSnapshot %s/%s: %w", ds.Namespace, own.Name, err)
	}
	return own.Name, nil
}

// snapshotClient is the VolumeSnapshot API; nil when the operator runs without it.
type snapshotClient = snapclient.Interface

// RestoreHandler requeues the DittoServers waiting to be restored from a
// DittoBackup when the backup is added or changes (it completes, its
// spec.restoreNamespaces admits them): register it on the DittoBackup
// informer, so a waiting server need not wait for its backoff.
func (c *Controller) RestoreHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueRestoresOf,
		UpdateFunc: func(_, obj interface{}) { c.enqueueRestoresOf(obj) },
	}
}

func (c *Controller) enqueueRestoresOf(obj interface{}) {
	b, ok := obj.(*dittov1alpha1.DittoBackup)
	if !ok {
		return
	}
	servers, _ := c.dsLister.List(labels.Everything())
	for _, ds := range servers {
		r := ds.Spec.Bootstrap
		if r == nil || r.FromBackup == nil || ds.Status.RestoredFrom != nil {
			continue
		}
		if r.FromBackup.Name == b.Name && backupNamespace(ds) == b.Namespace {
			c.enqueue(cache.MetaObjectToName(ds))
		}
	}
}
