package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/controller/serverstate"
	"github.com/dittofs/dittofs-operator/test/dfs"
	"github.com/dittofs/dittofs-operator/test/localcluster"
)

// DittoShare spec.volume on the real control plane, with the real dfs behind
// the shares: the operator (with the RBAC of artifacts/deploy) makes a
// PersistentVolume and a claim per share, kube-controller-manager's
// PersistentVolume controller binds the pre-bound pair, a converged volume
// costs no write, and deleting the share keeps (Retain) or deletes (Delete)
// both. The PV points at the file Service's cluster IP; no kernel here
// mounts it (the real-dfs test in pkg/controller/serverstate speaks MOUNT
// and NFS with the PV's parameters).
func TestShareVolumesBindAndFollowTheDeletionPolicy(t *testing.T) {
	binary, err := dfs.Binary()
	if err != nil {
		t.Fatalf("the real dfs binary is a prerequisite (hack/build-dfs.sh, or DFS_BINARY): %v", err)
	}
	if os.Geteuid() != 0 {
		t.Fatal("running dfs as its pod does needs root (mount namespace, chroot, setpriv)")
	}
	n := newNamespace(t, nil)
	apiPort, err := dfs.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	server := sampleObject(t, "shares", "DittoServer")
	mergeSpec(t, server, fmt.Sprintf(`controlPlane: {port: %d, tls: {mode: Disabled}}`, apiPort))
	name := server.GetName()
	runOperatorWithServerState(t, fmt.Sprintf("--server-api-endpoint=%s/%s=http://127.0.0.1:%d", n.name, name, apiPort))
	n.create(server)
	eventually(t, waitShort, "the operator's StatefulSet", func() (bool, string) {
		_, err := env.kube.AppsV1().StatefulSets(n.name).Get(t.Context(), name, metav1.GetOptions{})
		return err == nil, errString(err)
	})
	runServerPod(t, n, name, binary)
	t.Cleanup(func() { n.deleteSharesAndUsers() })
	n.waitReady(name)

	kept := sampleObject(t, "shares", "DittoShare") // deletionPolicy Retain
	mergeSpec(t, kept, `volume: {claimName: projects-data}`)
	deleted := sampleObject(t, "shares", "DittoShare")
	deleted.SetName("scratch")
	mergeSpec(t, deleted, `{volume: {claimName: scratch, mountOptions: [hard]}, deletionPolicy: Delete}`)
	for _, kind := range []string{"Secret", "DittoUser"} {
		n.create(sampleObject(t, "shares", kind))
	}
	n.create(kept, deleted)

	svc, err := env.kube.CoreV1().Services(n.name).Get(t.Context(), resources.FileServiceName(n.ds(name)), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pvNames := map[string]string{}
	for _, share := range []string{"projects", "scratch"} {
		s := n.waitShare(share, "VolumeReady=True", func(s *dittov1alpha1.DittoShare) (bool, string) {
			c := meta.FindStatusCondition(s.Status.Conditions, serverstate.ConditionVolumeReady)
			return c != nil && c.Status == metav1.ConditionTrue, fmt.Sprintf("%+v", s.Status.Conditions)
		})
		pvName := serverstate.ShareVolumeName(s)
		pvNames[share] = pvName
		t.Cleanup(func() { _ = env.kube.CoreV1().PersistentVolumes().Delete(t.Context(), pvName, metav1.DeleteOptions{}) })
		pv, err := env.kube.CoreV1().PersistentVolumes().Get(t.Context(), pvName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		claim := s.Spec.Volume.ClaimName
		pvc, err := env.kube.CoreV1().PersistentVolumeClaims(n.name).Get(t.Context(), claim, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: PV %s %s, NFS %s:%s, options %v; claim %s %s", share, pv.Name, pv.Status.Phase, pv.Spec.NFS.Server, pv.Spec.NFS.Path,
			pv.Spec.MountOptions, pvc.Name, pvc.Status.Phase)
		if pv.Status.Phase != corev1.VolumeBound || pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName != pv.Name ||
			pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != pvc.UID {
			t.Errorf("%s: PV %s and claim %s are not bound to each other", share, pv.Status.Phase, pvc.Status.Phase)
		}
		if pv.Spec.NFS.Server != svc.Spec.ClusterIP || pv.Spec.NFS.Path != "/"+share || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
			t.Errorf("%s: PV source %+v, reclaim %s; want %s:/%s, Retain", share, pv.Spec.NFS, pv.Spec.PersistentVolumeReclaimPolicy, svc.Spec.ClusterIP, share)
		}
		if !slices.Contains(pv.Spec.MountOptions, "port=2049") || !slices.Contains(pv.Spec.MountOptions, "mountport=2049") || !slices.Contains(pv.Spec.MountOptions, "nfsvers=3") {
			t.Errorf("%s: mount options %v lack the file Service's NFS port and version", share, pv.Spec.MountOptions)
		}
		if v := s.Status.Volume; v == nil || v.PersistentVolumeUID != pv.UID || v.ClaimUID != pvc.UID || v.Phase != "Bound" {
			t.Errorf("%s: status.volume %+v does not record the PV and claim", share, v)
		}
	}
	if out := n.kubectl("describe", "dshare", "scratch"); !strings.Contains(out, "Created PersistentVolume") || !strings.Contains(out, "Pods mount the share with claim") {
		t.Errorf("kubectl describe dshare scratch does not tell about its volume:\n%s", out)
	}

	t.Run("usage is in the status and in the operator's metrics", func(t *testing.T) {
		s := n.waitShare("projects", "status.usage", func(s *dittov1alpha1.DittoShare) (bool, string) {
			return s.Status.Usage != nil, fmt.Sprintf("%+v", s.Status)
		})
		if u := s.Status.Usage; u.QuotaBytes != 50<<30 || u.UsedBytes != 0 {
			t.Errorf("status.usage = %+v, want 0 bytes used of a 50Gi quota", u)
		}
		labels := []string{`namespace="` + n.name + `"`, `name="projects"`}
		eventually(t, waitShort, "the usage gauges", func() (bool, string) {
			q := operatorMetric(t, "dittofs_operator_dittoshare_quota_bytes", labels...)
			return q == 50<<30, fmt.Sprintf("quota gauge %v", q)
		})
		t.Logf("status.usage %+v; dittofs_operator_dittoshare_used_bytes %v", s.Status.Usage,
			operatorMetric(t, "dittofs_operator_dittoshare_used_bytes", labels...))
	})

	t.Run("converged volumes cost no write", func(t *testing.T) {
		since := time.Now()
		time.Sleep(quietWindow)
		var w []localcluster.AuditEvent
		for _, e := range operatorWrites(t, since) {
			if e.Namespace == n.name || strings.HasPrefix(e.Name, "dittoshare-") {
				w = append(w, e)
			}
		}
		if len(w) > 0 {
			t.Errorf("the operator wrote while converged:\n%s", auditSummary(w))
		}
	})

	t.Run("deletionPolicy Delete deletes the claim and the PV", func(t *testing.T) {
		if err := env.ditto.DittofsV1alpha1().DittoShares(n.name).Delete(t.Context(), "scratch", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, waitShort, "the claim and PV of scratch to go", func() (bool, string) {
			_, errC := env.kube.CoreV1().PersistentVolumeClaims(n.name).Get(t.Context(), "scratch", metav1.GetOptions{})
			_, errV := env.kube.CoreV1().PersistentVolumes().Get(t.Context(), pvNames["scratch"], metav1.GetOptions{})
			return apierrors.IsNotFound(errC) && apierrors.IsNotFound(errV), fmt.Sprintf("claim: %v; PV: %v", errC, errV)
		})
	})

	t.Run("deletionPolicy Retain keeps them", func(t *testing.T) {
		if err := env.ditto.DittofsV1alpha1().DittoShares(n.name).Delete(t.Context(), "projects", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, waitShort, "DittoShare projects to go", func() (bool, string) {
			_, err := env.ditto.DittofsV1alpha1().DittoShares(n.name).Get(t.Context(), "projects", metav1.GetOptions{})
			return apierrors.IsNotFound(err), errString(err)
		})
		pvc, errC := env.kube.CoreV1().PersistentVolumeClaims(n.name).Get(t.Context(), "projects-data", metav1.GetOptions{})
		pv, errV := env.kube.CoreV1().PersistentVolumes().Get(t.Context(), pvNames["projects"], metav1.GetOptions{})
		if errC != nil || errV != nil || pvc.DeletionTimestamp != nil || pv.DeletionTimestamp != nil {
			t.Errorf("Retain: claim %v, PV %v; both must stay", errC, errV)
		}
	})
}

// waitShare polls a DittoShare until check holds.
func (n *testNS) waitShare(name, what string, check func(*dittov1alpha1.DittoShare) (bool, string)) *dittov1alpha1.DittoShare {
	n.t.Helper()
	var s *dittov1alpha1.DittoShare
	eventually(n.t, waitLong, "DittoShare "+name+": "+what, func() (bool, string) {
		var err error
		if s, err = env.ditto.DittofsV1alpha1().DittoShares(n.name).Get(n.t.Context(), name, metav1.GetOptions{}); err != nil {
			return false, err.Error()
		}
		return check(s)
	})
	return s
}
