package e2e

// A kubelet for one DittoServer pod: the real dfs runs while the pod exists,
// on the directories of the claims the CSI test driver provisioned, and
// stops on SIGTERM when the pod is deleted. A finalizer on the pod holds its
// deletion until dfs has exited, as a kubelet holds a pod in Terminating
// until its containers have stopped: the backup's Offline method waits for
// the pod to go, and must find dfs stopped, not merely deleted.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dittofs/dittofs-operator/test/dfs"
	"github.com/dittofs/dittofs-operator/test/harness/csi"
)

// podKubeletFinalizer holds a server pod's deletion until dfs has stopped.
const podKubeletFinalizer = "e2e.dittofs.com/dfs-running"

// followedPod is the real dfs following one server pod.
type followedPod struct {
	ns, name, binary string
	stack            *csi.Stack
	emptyDirs        string

	mu      sync.Mutex
	pod     *serverPod
	uid     types.UID // of the pod dfs runs for
	starts  int
	errs    []error
	stopped []time.Time // when dfs exited for a deleted pod
}

// followServerPod runs dfs whenever pod <name>-0 exists, until the test ends.
func followServerPod(t *testing.T, n *testNS, name, binary string, stack *csi.Stack) *followedPod {
	t.Helper()
	f := &followedPod{ns: n.name, name: name, binary: binary, stack: stack, emptyDirs: t.TempDir()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			f.step(ctx)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		f.mu.Lock()
		if f.pod != nil && f.pod.proc != nil && t.Failed() {
			t.Logf("dfs (pid %d) output:\n%s", f.pod.proc.PID, tail(f.pod.proc.Logs(), 60))
		}
		f.mu.Unlock()
		// Nobody follows the pod any more: stop dfs and let the pod go
		// (the namespace's deletion waits for it).
		f.release(context.Background())
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, err := range f.errs {
			t.Errorf("kubelet of pod %s/%s-0: %v", f.ns, f.name, err)
		}
	})
	return f
}

// claimDir gives the directory of the pod's claim of a template.
func (f *followedPod) claimDir(ctx context.Context) (func(string) string, error) {
	dirs := map[string]string{}
	sts, err := env.kube.AppsV1().StatefulSets(f.ns).Get(ctx, f.name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	for _, c := range sts.Spec.VolumeClaimTemplates {
		dir, err := f.stack.ClaimDir(ctx, f.ns, c.Name+"-"+f.name+"-0")
		if err != nil {
			return nil, err
		}
		dirs[c.Name] = dir
	}
	return func(claim string) string { return dirs[claim] }, nil
}

// step does what a kubelet does for the pod's current state.
func (f *followedPod) step(ctx context.Context) {
	pod, err := env.kube.CoreV1().Pods(f.ns).Get(ctx, f.name+"-0", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		f.stopDFS(nil)
		return
	}
	if err != nil {
		return
	}
	if pod.DeletionTimestamp != nil || f.uid != "" && pod.UID != f.uid {
		f.stopDFS(pod)
		return
	}
	if f.uid == pod.UID {
		return
	}
	if err := f.startDFS(ctx, pod); err != nil {
		f.mu.Lock()
		f.errs = append(f.errs, err)
		f.mu.Unlock()
	}
}

func (f *followedPod) startDFS(ctx context.Context, pod *corev1.Pod) error {
	if !slices.Contains(pod.Finalizers, podKubeletFinalizer) {
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
			"finalizers": append(slices.Clone(pod.Finalizers), podKubeletFinalizer), "resourceVersion": pod.ResourceVersion}})
		if _, err := env.kube.CoreV1().Pods(f.ns).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			if apierrors.IsConflict(err) {
				return nil // the next step sees the pod as it is now
			}
			return fmt.Errorf("hold the pod with a finalizer: %w", err)
		}
	}
	dirs, err := f.claimDir(ctx)
	if err != nil {
		return err
	}
	sp, err := newServerPod(ctx, f.ns, f.name, f.binary, dirs, f.emptyDirs)
	if err != nil {
		return err
	}
	proc, err := dfs.Start(ctx, sp.opts)
	if err != nil {
		return fmt.Errorf("start dfs: %w", err)
	}
	sp.proc = proc
	if status, _, err := dfs.WaitHTTP(sp.port, "/health/ready", waitShort); err != nil || status != http.StatusOK {
		return fmt.Errorf("dfs does not answer /health/ready on %d: status %d, %v\n%s", sp.port, status, err, tail(proc.Logs(), 40))
	}
	f.mu.Lock()
	f.pod, f.uid = sp, pod.UID
	f.starts++
	f.mu.Unlock()
	return nil
}

// stopDFS stops dfs on SIGTERM, then lets the pod go.
func (f *followedPod) stopDFS(pod *corev1.Pod) {
	f.mu.Lock()
	sp := f.pod
	f.pod, f.uid = nil, ""
	f.mu.Unlock()
	if sp != nil && sp.proc != nil {
		code, _, err := sp.proc.Stop(syscall.SIGTERM, time.Minute)
		sp.proc.Close()
		f.mu.Lock()
		f.stopped = append(f.stopped, time.Now())
		if err != nil || code != 0 {
			f.errs = append(f.errs, fmt.Errorf("dfs did not stop cleanly on SIGTERM: exit %d, %v", code, err))
		}
		f.mu.Unlock()
	}
	if pod != nil && pod.DeletionTimestamp != nil {
		f.dropFinalizer(pod)
	}
}

// release stops dfs and removes the finalizer from the pod, deleted or not.
func (f *followedPod) release(ctx context.Context) {
	f.stopDFS(nil)
	if pod, err := env.kube.CoreV1().Pods(f.ns).Get(ctx, f.name+"-0", metav1.GetOptions{}); err == nil {
		f.dropFinalizer(pod)
	}
}

func (f *followedPod) dropFinalizer(pod *corev1.Pod) {
	if slices.Contains(pod.Finalizers, podKubeletFinalizer) {
		rest := slices.DeleteFunc(slices.Clone(pod.Finalizers), func(s string) bool { return s == podKubeletFinalizer })
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": rest, "resourceVersion": pod.ResourceVersion}})
		_, err := env.kube.CoreV1().Pods(f.ns).Patch(context.Background(), pod.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		// A conflict is retried by the next step.
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			f.mu.Lock()
			f.errs = append(f.errs, fmt.Errorf("release the pod: %w", err))
			f.mu.Unlock()
		}
	}
}

// apiPort is the API port of the running dfs, 0 when it is not running.
func (f *followedPod) apiPort() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pod == nil {
		return 0
	}
	return f.pod.port
}

// startCount is how many times dfs was started.
func (f *followedPod) startCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts
}
