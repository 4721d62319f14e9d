package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/controller/serverstate"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
	"github.com/dittofs/dittofs-operator/test/dfs"
	"github.com/dittofs/dittofs-operator/test/localcluster"
)

// The shares sample on a real DittoFS server: the operator runs as the suite
// runs it, with its server state controller on; the real dfs binary runs the
// pod the operator rendered (its StatefulSet's container, ConfigMap, Secrets
// and one directory per volume claim) where kwok only pretends to. Between
// the operator and dfs sits a recording proxy, so that every REST request the
// operator makes is counted.
func TestSharesAndUsersOnARealServer(t *testing.T) {
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
	// Plain HTTP: the recording proxy reads the requests in clear (the
	// issued TLS is proven by the real-dfs tests of serverstate).
	mergeSpec(t, server, fmt.Sprintf(`controlPlane: {port: %d, tls: {mode: Disabled}}`, apiPort))
	name := server.GetName()
	rec := startRecordingProxy(t, fmt.Sprintf("http://127.0.0.1:%d", apiPort))
	runOperatorWithServerState(t, "--server-api-endpoint="+n.name+"/"+name+"="+rec.url)

	// dfs starts as soon as the operator has rendered the pod, as the
	// kubelet would; kwok makes the pod Ready meanwhile.
	n.create(server)
	eventually(t, waitShort, "the operator's StatefulSet", func() (bool, string) {
		_, err := env.kube.AppsV1().StatefulSets(n.name).Get(t.Context(), name, metav1.GetOptions{})
		return err == nil, errString(err)
	})
	pod := runServerPod(t, n, name, binary)
	// Shares and users carry the server state controller's finalizer: they
	// go while that controller and dfs still run (cleanups run last first).
	t.Cleanup(func() { n.deleteSharesAndUsers() })
	n.waitReady(name)

	// The DittoServer's stores are declared; then the user and the share.
	n.waitDS(name, "StoresReady=True", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		return hasCondition(ds, serverstate.ConditionStoresReady, metav1.ConditionTrue, ""), statusSummary(ds)
	})
	for _, kind := range []string{"Secret", "DittoUser", "DittoShare"} {
		n.create(sampleObject(t, "shares", kind))
	}
	n.waitKubectlReady("dshare", "projects")
	n.waitKubectlReady("duser", "alice")
	converged := rec.since(0)
	t.Logf("REST requests of the operator until the stores, the user and the share were Ready: %d, of which %d writes: %v",
		len(converged), len(writes(converged)), writes(converged))
	admin := serverClient(t, n, name, apiPort)

	t.Run("the server has the share and the user as declared", func(t *testing.T) {
		share := findShare(t, admin, "/projects")
		if share == nil {
			t.Fatal("share /projects is not on the server")
		}
		if share.ReadOnly || share.DefaultPermission != "none" || share.QuotaBytes != 50<<30 || share.MetadataStore != resources.MetadataStoreName {
			t.Errorf("share on the server: %+v; want writable, default none, quota 50Gi, metadata store %q", *share, resources.MetadataStoreName)
		}
		perms, err := admin.ListSharePermissions(t.Context(), "/projects")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(perms, dfsapi.Permission{Type: "user", Name: "alice", Level: "read-write"}) {
			t.Errorf("permissions of /projects on the server: %+v; want alice read-write", perms)
		}
		user := findUser(t, admin, "alice")
		if user == nil {
			t.Fatal("user alice is not on the server")
		}
		if user.UID == nil || *user.UID != 1000 || user.GID == nil || *user.GID != 1000 || !user.Enabled {
			t.Errorf("user on the server: %+v; want uid 1000, gid 1000, enabled", *user)
		}
		// Alice logs in with the password of her Secret.
		if _, status, err := dfs.Login(apiPort, "alice", "REPLACE-WITH-A-PASSWORD"); err != nil {
			t.Errorf("alice cannot log in with her Secret's password: status %d: %v", status, err)
		}
	})

	t.Run("kubectl describe tells what happened", func(t *testing.T) {
		out := n.kubectl("describe", "dshare", "projects")
		for _, want := range []string{"Created share /projects on DittoServer", "Exported as /projects by DittoServer"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl describe dshare projects does not show %q:\n%s", want, out)
			}
		}
		out = n.kubectl("describe", "duser", "alice")
		for _, want := range []string{`Created user "alice" on DittoServer`, "with the password from its Secret"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl describe duser alice does not show %q:\n%s", want, out)
			}
		}
	})

	t.Run("a converged server costs no write on resync", func(t *testing.T) {
		since := time.Now()
		mark := rec.count()
		time.Sleep(quietWindow)
		if w := namespaced(operatorWrites(t, since), n.name); len(w) > 0 {
			t.Errorf("the operator wrote to the Kubernetes API while converged:\n%s", auditSummary(w))
		}
		reqs := rec.since(mark)
		if w := writes(reqs); len(w) > 0 {
			t.Errorf("the operator wrote to the server while converged: %v", w)
		}
		if len(reqs) == 0 {
			t.Errorf("no REST request in %s: the resync did not look at the server", quietWindow)
		}
		t.Logf("%d REST reads and no write in %s (%d resync periods)", len(reqs), quietWindow, int(quietWindow/resyncPeriod))
	})

	t.Run("a share deleted behind the operator's back comes back", func(t *testing.T) {
		if err := admin.DeleteShare(t.Context(), "/projects"); err != nil {
			t.Fatal(err)
		}
		eventually(t, waitShort, "share /projects back on the server", func() (bool, string) {
			return findShare(t, admin, "/projects") != nil, "missing"
		})
		eventually(t, waitShort, "its permission back", func() (bool, string) {
			perms, err := admin.ListSharePermissions(t.Context(), "/projects")
			return err == nil && slices.Contains(perms, dfsapi.Permission{Type: "user", Name: "alice", Level: "read-write"}), fmt.Sprint(perms, err)
		})
		share := n.share("projects")
		n.waitEvents(share.UID, serverstate.ReasonCreated, 2)
	})

	t.Run("while the DittoServer is paused nothing reaches the server", func(t *testing.T) {
		n.kubectl("patch", "ditto", name, "--type=merge", "-p", `{"spec":{"paused":true}}`)
		n.waitDS(name, "Paused=True", func(ds *dittov1alpha1.DittoServer) (bool, string) {
			return hasCondition(ds, "Paused", metav1.ConditionTrue, ""), statusSummary(ds)
		})
		time.Sleep(time.Second) // a pass that began before the pause may still be finishing its reads
		mark := rec.count()
		if err := admin.DeleteShare(t.Context(), "/projects"); err != nil { // manual work on the server
			t.Fatal(err)
		}
		held := sampleObject(t, "shares", "DittoShare")
		held.SetName("held")
		n.create(held)
		eventually(t, waitShort, "DittoShare held waiting with ServerPaused", func() (bool, string) {
			c := meta.FindStatusCondition(n.share("held").Status.Conditions, serverstate.ConditionReady)
			return c != nil && c.Status == metav1.ConditionFalse && c.Reason == serverstate.ReasonServerPaused, fmt.Sprintf("%+v", c)
		})
		consistently(t, 2*resyncPeriod, "no REST request and /projects left removed", func() (bool, string) {
			reqs := rec.since(mark)
			return len(reqs) == 0 && findShare(t, admin, "/projects") == nil, fmt.Sprint(reqs)
		})
		if c := meta.FindStatusCondition(n.share("projects").Status.Conditions, serverstate.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
			t.Errorf("DittoShare projects Ready = %+v, want its last status kept while paused", c)
		}

		n.kubectl("patch", "ditto", name, "--type=merge", "-p", `{"spec":{"paused":false}}`)
		n.waitKubectlReady("dshare", "held")
		eventually(t, waitShort, "share /projects back on the server after resuming", func() (bool, string) {
			return findShare(t, admin, "/projects") != nil, "missing"
		})
		heldUID := n.share("held").UID
		n.kubectl("delete", "dshare", "held", "--wait=true", "--timeout=60s")
		n.waitEvents(heldUID, serverstate.ReasonRetained, 1)
	})

	t.Run("deleting a Retain share leaves it on the server", func(t *testing.T) {
		uid := n.share("projects").UID
		n.kubectl("delete", "dshare", "projects", "--wait=true", "--timeout=60s")
		if findShare(t, admin, "/projects") == nil {
			t.Error("share /projects was deleted from the server, its deletionPolicy is Retain")
		}
		n.waitEvents(uid, serverstate.ReasonRetained, 1)
	})

	t.Run("deleting a Delete share removes it from the server", func(t *testing.T) {
		scratch := sampleObject(t, "shares", "DittoShare")
		scratch.SetName("scratch")
		mergeSpec(t, scratch, `{deletionPolicy: Delete, quota: null}`)
		n.create(scratch)
		n.waitKubectlReady("dshare", "scratch")
		if findShare(t, admin, "/scratch") == nil {
			t.Fatal("share /scratch is Ready but not on the server")
		}
		n.kubectl("delete", "dshare", "scratch", "--wait=true", "--timeout=60s")
		if findShare(t, admin, "/scratch") != nil {
			t.Error("share /scratch is still on the server after its DittoShare with deletionPolicy Delete went")
		}
		if findShare(t, admin, "/projects") == nil {
			t.Error("deleting /scratch took /projects with it")
		}
	})

	t.Run("while the server is down a Retain share goes and a Delete share waits for it", func(t *testing.T) {
		later := sampleObject(t, "shares", "DittoShare")
		later.SetName("later")
		mergeSpec(t, later, `deletionPolicy: Delete`)
		kept := sampleObject(t, "shares", "DittoShare")
		kept.SetName("kept")
		n.create(later, kept)
		n.waitKubectlReady("dshare", "later")
		n.waitKubectlReady("dshare", "kept")

		pod.stop(t)
		keptUID := n.share("kept").UID
		n.kubectl("delete", "dshare", "kept", "--wait=true", "--timeout=60s")
		n.waitEvents(keptUID, serverstate.ReasonRetained, 1)
		n.kubectl("delete", "dshare", "later", "--wait=false")
		eventually(t, waitShort, "DittoShare later held back with DeletionBlocked", func() (bool, string) {
			s := n.share("later")
			c := meta.FindStatusCondition(s.Status.Conditions, serverstate.ConditionReady)
			return s.DeletionTimestamp != nil && c != nil && c.Status == metav1.ConditionFalse && c.Reason == serverstate.ReasonDeletionBlocked, fmt.Sprintf("%+v", s.Status.Conditions)
		})
		n.kubectl("get", "dshare", "later") // still there for the user to see
		consistently(t, 2*resyncPeriod, "DittoShare later waits for the server", func() (bool, string) {
			_, err := env.ditto.DittofsV1alpha1().DittoShares(n.name).Get(t.Context(), "later", metav1.GetOptions{})
			return err == nil, errString(err)
		})

		pod.start(t)
		eventually(t, waitLong, "DittoShare later gone once the server is back", func() (bool, string) {
			_, err := env.ditto.DittofsV1alpha1().DittoShares(n.name).Get(t.Context(), "later", metav1.GetOptions{})
			return apierrors.IsNotFound(err), errString(err)
		})
		if findShare(t, admin, "/later") != nil {
			t.Error("share /later is still on the server after its DittoShare with deletionPolicy Delete went")
		}
		if findShare(t, admin, "/kept") == nil {
			t.Error("share /kept, deleted with deletionPolicy Retain while the server was down, is not on the server")
		}
	})

	t.Run("deleting a DittoUser removes the user from the server", func(t *testing.T) {
		uid := n.user("alice").UID
		n.kubectl("delete", "duser", "alice", "--wait=true", "--timeout=60s")
		if findUser(t, admin, "alice") != nil {
			t.Error("user alice is still on the server after its DittoUser went")
		}
		n.waitEvents(uid, serverstate.ReasonDeleted, 1)
	})

	t.Run("the operator is never forbidden", func(t *testing.T) {
		all, err := env.cluster.Audit()
		if err != nil {
			t.Fatal(err)
		}
		var forbidden []string
		for _, e := range all {
			if strings.HasPrefix(e.UserAgent, operatorUserAgent) && e.Namespace == n.name && e.Code == http.StatusForbidden {
				forbidden = append(forbidden, fmt.Sprintf("%s %s/%s %s", e.Verb, e.Resource, e.Subresource, e.Name))
			}
		}
		if len(forbidden) > 0 {
			t.Errorf("requests of the operator were forbidden: %v", forbidden)
		}
		if w := rec.forbidden(); len(w) > 0 {
			t.Errorf("the server refused the operator's requests: %v", w)
		}
	})

	t.Logf("REST requests of the operator to the server, in all: %d (%d writes)", rec.count(), len(writes(rec.since(0))))
	if _, exited := pod.proc.Exited(); exited {
		t.Errorf("dfs exited during the test:\n%s", tail(pod.proc.Logs(), 40))
	}
}

// serverClient logs in to the server directly (not through the recording
// proxy) with the operator's account, whose password the operator keeps in
// the Secret <name>-operator: what the test reads and deletes there is not
// counted as the operator's.
func serverClient(t *testing.T, n *testNS, name string, apiPort int) dfsapi.API {
	t.Helper()
	s, err := env.kube.CoreV1().Secrets(n.name).Get(t.Context(), name+"-operator", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the operator's account Secret: %v", err)
	}
	c := dfsapi.New(fmt.Sprintf("http://127.0.0.1:%d", apiPort), dfsapi.WithUserAgent("dittofs-e2e"))
	if err := c.Login(t.Context(), serverstate.OperatorUsername, string(s.Data[serverstate.OperatorPasswordKey])); err != nil {
		t.Fatalf("log in as %s: %v", serverstate.OperatorUsername, err)
	}
	return c
}

func findShare(t *testing.T, c dfsapi.API, export string) *dfsapi.Share {
	t.Helper()
	shares, err := c.ListShares(t.Context())
	if err != nil {
		t.Fatalf("list shares: %v", err)
	}
	for i := range shares {
		if shares[i].Name == export {
			return &shares[i]
		}
	}
	return nil
}

func findUser(t *testing.T, c dfsapi.API, name string) *dfsapi.User {
	t.Helper()
	users, err := c.ListUsers(t.Context())
	if err != nil {
		t.Fatalf("list users: %v", err)
	}
	for i := range users {
		if users[i].Username == name {
			return &users[i]
		}
	}
	return nil
}

// waitKubectlReady waits until `kubectl get <resource> <name>` shows READY
// True, the column a user looks at.
func (n *testNS) waitKubectlReady(resource, name string) {
	n.t.Helper()
	eventually(n.t, waitLong, fmt.Sprintf("kubectl get %s %s: READY True", resource, name), func() (bool, string) {
		ctx, cancel := context.WithTimeout(n.t.Context(), 30*time.Second)
		defer cancel()
		out, err := kubectl(ctx, "get", resource, name, "-n", n.name, "-o", "wide").CombinedOutput()
		if err != nil {
			return false, string(out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 2 {
			return false, string(out)
		}
		header, row := strings.Fields(lines[0]), strings.Fields(lines[1])
		i := slices.Index(header, "READY")
		return i >= 0 && i < len(row) && row[i] == "True", string(out)
	})
}

func (n *testNS) user(name string) *dittov1alpha1.DittoUser {
	n.t.Helper()
	u, err := env.ditto.DittofsV1alpha1().DittoUsers(n.name).Get(n.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		n.t.Fatalf("get DittoUser %s: %v", name, err)
	}
	return u
}

// deleteSharesAndUsers deletes every DittoShare and DittoUser of the
// namespace and waits until they are gone.
func (n *testNS) deleteSharesAndUsers() {
	ctx, cancel := context.WithTimeout(context.Background(), waitShort)
	defer cancel()
	for _, gvr := range []schema.GroupVersionResource{dittoShareGVR, dittoUserGVR} {
		client := env.dyn.Resource(gvr).Namespace(n.name)
		if err := client.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			n.t.Errorf("delete %s: %v", gvr.Resource, err)
			continue
		}
		for {
			list, err := client.List(ctx, metav1.ListOptions{})
			if err == nil && len(list.Items) == 0 {
				break
			}
			if ctx.Err() != nil {
				n.t.Errorf("%s still there %s after their deletion: %v", gvr.Resource, waitShort, err)
				break
			}
			time.Sleep(pollEvery)
		}
	}
}

func (n *testNS) share(name string) *dittov1alpha1.DittoShare {
	n.t.Helper()
	s, err := env.ditto.DittofsV1alpha1().DittoShares(n.name).Get(n.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		n.t.Fatalf("get DittoShare %s: %v", name, err)
	}
	return s
}

func namespaced(evs []localcluster.AuditEvent, ns string) []localcluster.AuditEvent {
	var out []localcluster.AuditEvent
	for _, e := range evs {
		if e.Namespace == ns {
			out = append(out, e)
		}
	}
	return out
}
