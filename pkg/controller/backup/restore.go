package backup

import (
	"fmt"
	"strings"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// The pure builders of a restore (spec.bootstrap.fromBackup): the DittoServer
// controller calls them before anything else of the server exists.

// RestoredFromLabel on a claim (and on a VolumeSnapshot made for a restore
// into another namespace) is the UID of the DittoBackup it was restored from.
const RestoredFromLabel = "dittofs.dittofs.com/restored-from"

// snapshotAPIGroup is the dataSource group of a claim made from a snapshot.
const snapshotAPIGroup = "snapshot.storage.k8s.io"

// RestoreAdmits tells whether backup b may be restored into namespace ns
// (spec.restoreNamespaces, as spec.tenants of a DittoServer), and if not,
// why. nsLabels are the labels of ns, nil when unknown.
func RestoreAdmits(b *dittov1alpha1.DittoBackup, ns string, nsLabels labels.Set) (bool, string) {
	if ns == b.Namespace {
		return true, ""
	}
	from := dittov1alpha1.TenantsSame
	if r := b.Spec.RestoreNamespaces; r != nil && r.From != "" {
		from = r.From
	}
	switch from {
	case dittov1alpha1.TenantsAll:
		return true, ""
	case dittov1alpha1.TenantsSelector:
		sel, err := metav1.LabelSelectorAsSelector(b.Spec.RestoreNamespaces.Selector)
		if err != nil {
			return false, fmt.Sprintf("DittoBackup %s/%s has an invalid spec.restoreNamespaces.selector: %v", b.Namespace, b.Name, err)
		}
		if nsLabels != nil && sel.Matches(nsLabels) {
			return true, ""
		}
		return false, fmt.Sprintf("DittoBackup %s/%s may be restored only into its own namespace and those its spec.restoreNamespaces.selector matches; namespace %q does not match",
			b.Namespace, b.Name, ns)
	}
	return false, fmt.Sprintf("DittoBackup %s/%s may be restored only into its own namespace (spec.restoreNamespaces); ask its owner to allow namespace %q",
		b.Namespace, b.Name, ns)
}

// RestoreLayoutProblem says why the claim templates of the new server cannot
// be filled from the backup's snapshots ("" when they can): every template
// needs a snapshot of the claim of the same name, and no smaller a size.
func RestoreLayoutProblem(b *dittov1alpha1.DittoBackup, templates []corev1.PersistentVolumeClaim) string {
	if len(templates) != len(b.Status.Snapshots) {
		return fmt.Sprintf("the server claims %s but DittoBackup %s/%s holds snapshots of %s: the storage layouts differ (spec.storage.contentSize)",
			templateNames(templates), b.Namespace, b.Name, snapshotClaims(b))
	}
	for _, t := range templates {
		s := SnapshotOf(b, t.Name)
		if s == nil {
			return fmt.Sprintf("DittoBackup %s/%s holds no snapshot of claim %s (it holds %s)", b.Namespace, b.Name, t.Name, snapshotClaims(b))
		}
		want := SnapshotSize(b, s)
		if have := t.Spec.Resources.Requests[corev1.ResourceStorage]; have.Cmp(want) < 0 {
			return fmt.Sprintf("spec.storage: claim %s of %s is smaller than the %s of its snapshot in DittoBackup %s/%s",
				t.Name, have.String(), want.String(), b.Namespace, b.Name)
		}
	}
	return ""
}

func templateNames(templates []corev1.PersistentVolumeClaim) string {
	names := make([]string, 0, len(templates))
	for _, t := range templates {
		names = append(names, t.Name)
	}
	return "[" + strings.Join(names, " ") + "]"
}

func snapshotClaims(b *dittov1alpha1.DittoBackup) string {
	names := make([]string, 0, len(b.Status.Snapshots))
	for _, s := range b.Status.Snapshots {
		names = append(names, s.Claim)
	}
	return "[" + strings.Join(names, " ") + "]"
}

// SnapshotOf is the backup's snapshot of the claim made from template, nil
// when it has none.
func SnapshotOf(b *dittov1alpha1.DittoBackup, template string) *dittov1alpha1.BackupSnapshot {
	for i := range b.Status.Snapshots {
		if b.Status.Snapshots[i].Claim == template {
			return &b.Status.Snapshots[i]
		}
	}
	return nil
}

// SnapshotSize is the smallest claim a snapshot fills: its restore size, else
// the size of the claim it was cut from.
func SnapshotSize(b *dittov1alpha1.DittoBackup, s *dittov1alpha1.BackupSnapshot) resource.Quantity {
	if s.Size != nil {
		return s.Size.DeepCopy()
	}
	if b.Status.Layout != nil {
		for _, c := range b.Status.Layout.Claims {
			if c.Name == s.Claim {
				return c.Size.DeepCopy()
			}
		}
	}
	return resource.Quantity{}
}

// RestoredClaim is the claim the StatefulSet adopts for template, made from
// the VolumeSnapshot snapshot (in the server's namespace): the template's
// labels, class and size, no owner (claims outlive the server, like those
// the StatefulSet makes), and the backup's UID in RestoredFromLabel.
func RestoredClaim(ds *dittov1alpha1.DittoServer, t *corev1.PersistentVolumeClaim, snapshot string, b *dittov1alpha1.DittoBackup) *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: resources.ClaimName(ds, t.Name), Namespace: ds.Namespace, Labels: map[string]string{}},
		Spec:       *t.Spec.DeepCopy(),
	}
	for k, v := range t.Labels {
		pvc.Labels[k] = v
	}
	pvc.Labels[RestoredFromLabel] = string(b.UID)
	pvc.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: ptr.To(snapshotAPIGroup), Kind: "VolumeSnapshot", Name: snapshot}
	return pvc
}

// RestoreSnapshotName is the VolumeSnapshot, in the server's namespace, that
// a restore from another namespace binds to a pre-provisioned content.
func RestoreSnapshotName(ds *dittov1alpha1.DittoServer, template string) string {
	return ds.Name + "-restore-" + template
}

// RestoreContentName is the pre-provisioned VolumeSnapshotContent of a
// restore from another namespace: cluster-wide, so named by the server's UID.
func RestoreContentName(ds *dittov1alpha1.DittoServer, template string) string {
	return "dittofs-restore-" + string(ds.UID) + "-" + template
}

// RestoreSnapshotContent pre-provisions, for the server's namespace, the
// storage snapshot behind src (the backup's VolumeSnapshotContent):
// deletionPolicy Retain, so deleting the restore's objects never deletes
// the backup's snapshot.
func RestoreSnapshotContent(ds *dittov1alpha1.DittoServer, template string, src *snapv1.VolumeSnapshotContent, b *dittov1alpha1.DittoBackup) *snapv1.VolumeSnapshotContent {
	vsc := &snapv1.VolumeSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Name: RestoreContentName(ds, template), Labels: restoreLabels(ds, b)},
		Spec: snapv1.VolumeSnapshotContentSpec{
			DeletionPolicy:          snapv1.VolumeSnapshotContentRetain,
			Driver:                  src.Spec.Driver,
			VolumeSnapshotClassName: src.Spec.VolumeSnapshotClassName,
			SourceVolumeMode:        src.Spec.SourceVolumeMode,
			Source:                  snapv1.VolumeSnapshotContentSource{SnapshotHandle: ptr.To(*src.Status.SnapshotHandle)},
			VolumeSnapshotRef: corev1.ObjectReference{
				APIVersion: snapv1.SchemeGroupVersion.String(), Kind: "VolumeSnapshot",
				Namespace: ds.Namespace, Name: RestoreSnapshotName(ds, template),
			},
		},
	}
	return vsc
}

// RestoreSnapshot is the VolumeSnapshot bound to the pre-provisioned content,
// owned by the DittoServer (the content it binds is retained).
func RestoreSnapshot(ds *dittov1alpha1.DittoServer, template string, class *string, b *dittov1alpha1.DittoBackup) *snapv1.VolumeSnapshot {
	return &snapv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{
			Name: RestoreSnapshotName(ds, template), Namespace: ds.Namespace, Labels: restoreLabels(ds, b),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, dittov1alpha1.SchemeGroupVersion.WithKind("DittoServer"))},
		},
		Spec: snapv1.VolumeSnapshotSpec{
			Source:                  snapv1.VolumeSnapshotSource{VolumeSnapshotContentName: ptr.To(RestoreContentName(ds, template))},
			VolumeSnapshotClassName: class,
		},
	}
}

func restoreLabels(ds *dittov1alpha1.DittoServer, b *dittov1alpha1.DittoBackup) map[string]string {
	return map[string]string{serverLabel: ds.Name, RestoredFromLabel: string(b.UID), resources.ManagedByLabel: resources.ManagedByValue}
}

// RestoredSecrets are the new server's credentials Secrets, made from the
// backup's credentials Secret creds (keys "<role>.<key>", newCredentialsSecret)
// with the ownership the DittoServer controller gives them (kept, no owner):
// <name>-generated with the JWT secret and the admin password the server
// generates for itself (from the backed-up server's, or from
// the user's own Secret when it held a single key), and <name>-operator, the
// operator's account. A value the backup lacks is left for the DittoServer
// controller to generate; the user's own Secrets are not re-created.
func RestoredSecrets(ds *dittov1alpha1.DittoServer, creds *corev1.Secret) []*corev1.Secret {
	var out []*corev1.Secret
	for _, g := range resources.GeneratedSecrets(ds) {
		data := map[string]string{}
		for _, v := range g.Values {
			if value, ok := credential(creds, v.Key); ok {
				data[v.Key] = value
			}
		}
		if len(data) > 0 {
			out = append(out, resources.CredentialsSecret(ds, g.Name, data))
		}
	}
	if op := roleData(creds, "operator"); len(op) > 0 {
		out = append(out, resources.CredentialsSecret(ds, resources.OperatorSecretName(ds), op))
	}
	return out
}

// credential finds key in the backup's copy: the generated Secret, else the user's Secret for that value when it held one key.
func credential(creds *corev1.Secret, key string) (string, bool) {
	userRole := "user-admin"
	if key == resources.JWTSecretKey {
		userRole = "user-jwt"
	}
	if v, ok := creds.Data["generated."+key]; ok {
		return string(v), true
	}
	if user := roleData(creds, userRole); len(user) == 1 {
		for _, v := range user {
			return v, true
		}
	}
	return "", false
}

// roleData are the keys the backup copied from the Secret of role.
func roleData(creds *corev1.Secret, role string) map[string]string {
	out := map[string]string{}
	for k, v := range creds.Data {
		if key, ok := strings.CutPrefix(k, role+"."); ok {
			out[key] = string(v)
		}
	}
	return out
}
