package e2e

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/test/dfs"
	"github.com/dittofs/dittofs-operator/test/harness/csi"
	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// A DittoServer on claims the real csi-provisioner provisioned on the CSI
// test driver, with the real dfs on their directories: a file written over
// NFS is read over SMB by the declared user, and again after its pod was
// deleted (dfs stopped on SIGTERM before the pod went) and recreated by the
// StatefulSet. The backup tests stand on this.
func TestAServerOnCSIClaimsKeepsItsFilesAcrossAPodRestart(t *testing.T) {
	binary, err := dfs.Binary()
	if err != nil {
		t.Fatalf("the real dfs binary is a prerequisite (hack/build-dfs.sh, or DFS_BINARY): %v", err)
	}
	if os.Geteuid() != 0 {
		t.Fatal("running dfs as its pod does needs root (mount namespace, chroot, setpriv)")
	}
	stack := csiDriver(t)
	// With the snapshot CRDs, as a cluster that takes backups has them.
	if err := stack.InstallCRDs(t.Context()); err != nil {
		t.Fatal(err)
	}
	n := newNamespace(t, nil)
	apiPort := proc.FreePortForTest(t)
	server := sampleObject(t, "shares", "DittoServer")
	mergeSpec(t, server, fmt.Sprintf(`{controlPlane: {port: %d, tls: {mode: Disabled}}, storage: {storageClassName: %s}}`, apiPort, csi.StorageClass))
	name := server.GetName()
	runOperatorWithServerState(t, fmt.Sprintf("--server-api-endpoint=%s/%s=http://127.0.0.1:%d", n.name, name, apiPort))

	n.create(server)
	eventually(t, waitShort, "the operator's StatefulSet", func() (bool, string) {
		_, err := env.kube.AppsV1().StatefulSets(n.name).Get(t.Context(), name, metav1.GetOptions{})
		return err == nil, errString(err)
	})
	pod := followServerPod(t, n, name, binary, stack)
	t.Cleanup(func() { n.deleteSharesAndUsers() })
	n.waitReady(name)
	for _, kind := range []string{"Secret", "DittoUser", "DittoShare"} {
		n.create(sampleObject(t, "shares", kind))
	}
	n.waitKubectlReady("dshare", "projects")
	n.waitKubectlReady("duser", "alice")
	nfsPort, smbPort := serverPort(t, n, name, resources.PortNameNFS), serverPort(t, n, name, resources.PortNameSMB)

	data := make([]byte, 300<<10)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := nfsWrite(nfsPort, "/projects", "report.bin", data, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	readBack := func(when string) {
		got, err := smbRead(smbPort, "/projects", "report.bin", "alice", "REPLACE-WITH-A-PASSWORD")
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: read %d bytes over SMB, not the %d written over NFS", when, len(got), len(data))
		}
	}
	readBack("before the pod restart")

	if err := env.kube.CoreV1().Pods(n.name).Delete(t.Context(), name+"-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitLong, "dfs started again for the recreated pod", func() (bool, string) {
		return pod.startCount() == 2 && pod.apiPort() != 0, fmt.Sprintf("%d starts", pod.startCount())
	})
	n.waitReady(name)
	readBack("after the pod restart")
}

// serverPort is the port of the server container's named port: where the
// real dfs, running in the test's network namespace, listens.
func serverPort(t *testing.T, n *testNS, name, port string) int {
	t.Helper()
	sts, err := env.kube.AppsV1().StatefulSets(n.name).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range sts.Spec.Template.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == port {
				return int(p.ContainerPort)
			}
		}
	}
	t.Fatalf("StatefulSet %s has no container port %q", name, port)
	return 0
}
