package controller

import (
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// podWarnings remembers, per DittoServer, the pod problems already announced
// with a Warning, so that each problem of each pod is announced once and not
// on every pass (podProblem.key).
type podWarnings struct {
	mu sync.Mutex
	m  map[cache.ObjectName]map[string]types.UID
}

func newPodWarnings() *podWarnings {
	return &podWarnings{m: map[cache.ObjectName]map[string]types.UID{}}
}

// fresh returns the problems not announced yet and remembers them. A problem
// stays remembered while its pod exists and is not Ready, even when a pass
// does not see it (a crash-looping container runs between two back-offs);
// it is forgotten once the pod is Ready or gone, so that the same problem
// coming back later is announced again. A DittoServer this memory knows
// nothing of (the operator restarted) takes as announced the problems of
// the pods and containers its status already reports (reported, the
// PodsHealthy=False message): a restart raises no alarm about nothing new.
func (w *podWarnings) fresh(ds cache.ObjectName, problems []podProblem, pods []*corev1.Pod, reported string) []podProblem {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, known := w.m[ds]
	notReady := map[types.UID]bool{}
	for _, pod := range pods {
		notReady[pod.UID] = !podReady(pod)
	}
	seen := map[string]types.UID{}
	for key, uid := range w.m[ds] {
		if notReady[uid] {
			seen[key] = uid
		}
	}
	var out []podProblem
	for _, p := range problems {
		_, ok := seen[p.key()]
		if !ok && !known {
			ok = reportedAlready(reported, p)
		}
		if !ok {
			out = append(out, p)
		}
		seen[p.key()] = p.podUID
	}
	if len(seen) == 0 {
		delete(w.m, ds)
	} else {
		w.m[ds] = seen
	}
	return out
}

func (w *podWarnings) forget(ds cache.ObjectName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.m, ds)
}

// reportedAlready tells whether a PodsHealthy message names p's problem: the
// same pod and container with the same reason, or one the kubelet alternates
// with it (ErrImagePull and ImagePullBackOff).
func reportedAlready(reported string, p podProblem) bool {
	reasons := []string{p.reason}
	if slices.Contains(imagePullReasons, p.reason) {
		reasons = imagePullReasons
	}
	for _, r := range reasons {
		if strings.Contains(reported, p.where()+": "+r+": ") {
			return true
		}
	}
	return false
}
