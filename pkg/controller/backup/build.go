package backup

import (
	"strings"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// Labels of the objects a backup owns.
const (
	backupLabel   = "dittofs.dittofs.com/backup"
	serverLabel   = "dittofs.dittofs.com/server"
	instanceLabel = resources.InstanceLabel
	// defaultClassAnnotation marks the default VolumeSnapshotClass of a driver.
	defaultClassAnnotation = "snapshot.storage.kubernetes.io/is-default-class"
	// defaultStorageClassAnnotation marks the cluster's default StorageClass.
	defaultStorageClassAnnotation = "storageclass.kubernetes.io/is-default-class"
)

var everything = labels.Everything()

func ownerRef(b *dittov1alpha1.DittoBackup) metav1.OwnerReference {
	return *metav1.NewControllerRef(b, dittov1alpha1.SchemeGroupVersion.WithKind("DittoBackup"))
}

func ownedLabels(b *dittov1alpha1.DittoBackup) map[string]string {
	return map[string]string{backupLabel: b.Name, serverLabel: b.Spec.Server.Name, resources.ManagedByLabel: resources.ManagedByValue}
}

// claimName is the claim the StatefulSet made from template for its pod 0.
func claimName(template string, sts *appsv1.StatefulSet) string {
	return template + "-" + sts.Name + "-0"
}

// snapshotName is the VolumeSnapshot of one claim of a backup.
func snapshotName(b *dittov1alpha1.DittoBackup, claim string) string {
	return b.Name + "-" + claim
}

// credentialsSecretName is the backup's copy of its server's credentials.
func credentialsSecretName(b *dittov1alpha1.DittoBackup) string { return b.Name + "-credentials" }

// layoutOf is the storage layout the StatefulSet's claim templates declare.
func layoutOf(sts *appsv1.StatefulSet) *dittov1alpha1.BackupLayout {
	l := &dittov1alpha1.BackupLayout{}
	for _, t := range sts.Spec.VolumeClaimTemplates {
		if l.StorageClassName == nil && t.Spec.StorageClassName != nil {
			l.StorageClassName = ptr.To(*t.Spec.StorageClassName)
		}
		l.Claims = append(l.Claims, dittov1alpha1.BackupClaim{Name: t.Name, Size: t.Spec.Resources.Requests[corev1.ResourceStorage]})
	}
	return l
}

// newVolumeSnapshot is the snapshot of one claim of the server.
func newVolumeSnapshot(b *dittov1alpha1.DittoBackup, claim, pvc, class string) *snapv1.VolumeSnapshot {
	return &snapv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{
			Name: snapshotName(b, claim), Namespace: b.Namespace,
			Labels:          ownedLabels(b),
			OwnerReferences: []metav1.OwnerReference{ownerRef(b)},
		},
		Spec: snapv1.VolumeSnapshotSpec{
			Source:                  snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To(pvc)},
			VolumeSnapshotClassName: ptr.To(class),
		},
	}
}

// credentialSources are the Secrets a restored server needs, by role: the
// generated credentials (either layout), the admin and JWT Secrets the user
// names, the operator's account, and the S3 credentials.
func credentialSources(ds *dittov1alpha1.DittoServer) map[string]string {
	src := map[string]string{
		"generated": resources.CredentialsSecretName(ds),
		"jwt":       resources.JWTSecretName(ds),
		"admin":     resources.AdminSecretName(ds),
		"operator":  resources.OperatorSecretName(ds),
	}
	if ref := resources.UserJWTSecret(ds); ref != nil {
		src["user-jwt"] = ref.Name
	}
	if ref := resources.UserAdminPasswordSecret(ds); ref != nil {
		src["user-admin"] = ref.Name
	}
	if ds.Spec.S3 != nil && ds.Spec.S3.CredentialsSecretRef != nil {
		src["s3"] = ds.Spec.S3.CredentialsSecretRef.SecretName
	}
	return src
}

// SourceAnnotationPrefix + role on the credentials Secret names the Secret
// the role's keys were copied from.
const SourceAnnotationPrefix = "dittofs.dittofs.com/source-"

// newCredentialsSecret copies the found Secrets (role -> Secret) into one
// Secret owned by the backup: key "<role>.<key>", and the source Secret's
// name in an annotation per role.
func newCredentialsSecret(b *dittov1alpha1.DittoBackup, found map[string]*corev1.Secret) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: credentialsSecretName(b), Namespace: b.Namespace,
			Labels: ownedLabels(b), Annotations: map[string]string{},
			OwnerReferences: []metav1.OwnerReference{ownerRef(b)},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{},
	}
	for role, src := range found {
		s.Annotations[SourceAnnotationPrefix+role] = src.Name
		for k, v := range src.Data {
			s.Data[role+"."+k] = v
		}
	}
	return s
}

// imageVersion is the tag of an image, the dfs version it runs.
func imageVersion(image string) string {
	if i := strings.LastIndex(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i >= 0 && !strings.Contains(image[i:], "/") {
		return image[i+1:]
	}
	return "latest"
}
