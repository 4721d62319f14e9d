package serverstate

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// Share volumes. spec.volume asks for a PersistentVolume that points at the
// DittoServer's file Service over NFS and a PersistentVolumeClaim in the
// share's namespace pre-bound to it (the PV's claimRef and the claim's
// volumeName name each other, storageClassName "" keeps provisioners away),
// so that the PersistentVolume controller binds the pair at once and pods
// mount the share by claim name. Neither object holds data: the files stay on
// the server, and the PV's reclaim policy is Retain, so deleting either never
// touches them.

// Labels on the PersistentVolume and the claim: the operator's managed-by
// label and the DittoShare they belong to. A PersistentVolume is
// cluster-scoped and cannot have a namespaced owner, so the share's UID
// (besides the UIDs the share's status records) tells the operator's own.
const (
	LabelShareNamespace = "dittofs.dittofs.com/share-namespace"
	LabelShareName      = "dittofs.dittofs.com/share-name"
	LabelShareUID       = "dittofs.dittofs.com/share-uid"
)

// nominalVolumeSize is the capacity of a share without a quota: a PV must
// have one, and NFS enforces none (a pod sees the server's real free space).
var nominalVolumeSize = resource.MustParse("1Ti")

// ShareVolumeName is the PersistentVolume of a share: unique in the cluster
// by the share's UID, so two shares of the same name in two namespaces never
// collide and a re-created share gets its own.
func ShareVolumeName(s *dittov1alpha1.DittoShare) string { return "dittoshare-" + string(s.UID) }

// volumeLabels mark a PV or claim as made for share s.
func volumeLabels(s *dittov1alpha1.DittoShare) map[string]string {
	return map[string]string{
		resources.ManagedByLabel: resources.ManagedByValue,
		LabelShareNamespace:      s.Namespace,
		LabelShareName:           s.Name,
		LabelShareUID:            string(s.UID),
	}
}

// madeFor tells whether obj carries the labels of share s's volume.
func madeFor(obj metav1.Object, s *dittov1alpha1.DittoShare) bool {
	l := obj.GetLabels()
	return l[resources.ManagedByLabel] == resources.ManagedByValue && l[LabelShareUID] == string(s.UID)
}

// NFSMountOptions are the mount options DittoFS v0.29.0's NFS needs from a
// client that reaches it through the file Service on port: NFSv3 over TCP,
// the mount protocol on the NFS port itself (the server has no portmapper
// unless spec.portmapper enables it, so port and mountport are given), and
// nolock: the server answers NLM on its NFS port, but a kernel client looks
// NLM up through the server's portmapper (111) and expects call-backs to its
// own lockd, so without them the first lock fails; with nolock, locks are
// local to each node. Options in extra
// replace the one of the same name ("nfsvers=4.1", "lock") or are added.
func NFSMountOptions(port int32, extra []string) []string {
	opts := []string{"nfsvers=3", "proto=tcp", fmt.Sprintf("port=%d", port), fmt.Sprintf("mountport=%d", port), "mountproto=tcp", "nolock"}
	for _, o := range extra {
		key := optionKey(o)
		opts = slices.DeleteFunc(opts, func(have string) bool {
			return optionKey(have) == key || key == "lock" && have == "nolock" || key == "nolock" && have == "lock"
		})
		opts = append(opts, o)
	}
	return opts
}

func optionKey(o string) string {
	k, _, _ := strings.Cut(o, "=")
	if k == "vers" {
		return "nfsvers"
	}
	return k
}

// volumeSize is the share's quota, or the nominal size without one.
func volumeSize(s *dittov1alpha1.DittoShare) resource.Quantity {
	if s.Spec.Quota != nil {
		return s.Spec.Quota.DeepCopy()
	}
	return nominalVolumeSize.DeepCopy()
}

func volumeAccessModes(s *dittov1alpha1.DittoShare) []corev1.PersistentVolumeAccessMode {
	if s.Spec.ReadOnly {
		return []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany}
	}
	return []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
}

// newSharePersistentVolume is the PV of share s served by ds, whose file
// Service has clusterIP: pods' nodes mount clusterIP:<nfsPort>:<export>.
// The node resolves no cluster DNS name, so the address, not the name.
func newSharePersistentVolume(s *dittov1alpha1.DittoShare, ds *dittov1alpha1.DittoServer, clusterIP string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolume"},
		ObjectMeta: metav1.ObjectMeta{Name: ShareVolumeName(s), Labels: volumeLabels(s)},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:    corev1.ResourceList{corev1.ResourceStorage: volumeSize(s)},
			AccessModes: volumeAccessModes(s),
			PersistentVolumeSource: corev1.PersistentVolumeSource{NFS: &corev1.NFSVolumeSource{
				Server: clusterIP, Path: ExportName(s), ReadOnly: s.Spec.ReadOnly,
			}},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              "",
			MountOptions:                  NFSMountOptions(resources.NFSPort(ds), s.Spec.Volume.MountOptions),
			VolumeMode:                    ptr.To(corev1.PersistentVolumeFilesystem),
			ClaimRef: &corev1.ObjectReference{
				APIVersion: "v1", Kind: "PersistentVolumeClaim", Namespace: s.Namespace, Name: s.Spec.Volume.ClaimName,
			},
		},
	}
}

// newShareClaim is the claim of share s, bound to its PV by name.
func newShareClaim(s *dittov1alpha1.DittoShare) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: s.Spec.Volume.ClaimName, Namespace: s.Namespace, Labels: volumeLabels(s)},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      volumeAccessModes(s),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: volumeSize(s)}},
			StorageClassName: ptr.To(""),
			VolumeName:       ShareVolumeName(s),
			VolumeMode:       ptr.To(corev1.PersistentVolumeFilesystem),
		},
	}
}
