package controller

import (
	"sync"

	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/crdwatch"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
)

// memory is everything the controller keeps between passes besides its
// informer caches. None of it is a source of truth: each piece only saves
// requests or spaces writes, and a restarted operator rebuilds it from the
// cluster or does without it. Each piece is bounded.
type memory struct {
	// conflicts: passes in a row that ended on a Conflict, per DittoServer,
	// so that only a Conflict that persists is reported (conflicts.go).
	conflicts *conflictStreaks

	// ownWrites: the resourceVersions the operator's own writes replaced,
	// per DittoServer (read-your-writes; see kit.OwnWrites). Only the write
	// helpers use it. Lost on restart: informers start from a fresh list, so
	// no cache misses a write made before. Bounded: records expire after
	// kit.DefaultOwnWritesTTL, and a DittoServer that is gone is forgotten.
	ownWrites *kit.OwnWrites

	// secretKeys: key names and value lengths (never values) of the Secrets
	// the DittoServers reference, at one resourceVersion each, so that a
	// converged server costs no Secret read. Lost on restart: one GET per
	// referenced Secret. Bounded: one entry per Secret that some DittoServer
	// references, forgotten when the Secret is deleted or no DittoServer
	// references it any more, and never more than maxRememberedSecrets.
	secretKeys *secretKeyCache

	// podWarnings: the pod problems already announced with a Warning, per
	// DittoServer, so that each is announced once (podWarnings). Lost on
	// restart: a problem that persists is announced once more. Bounded: the
	// problems of the server's pods, forgotten once a pod is Ready or gone.
	podWarnings *podWarnings

	// percona: whether the PerconaPGCluster CRD is installed, and the
	// informer over PerconaPGClusters while it is (crdwatch.Watch). Lost on
	// restart: rebuilt from the CRD watch before any worker starts. Bounded:
	// one informer, limited to the operator's namespace when it has one,
	// caching clusters without their managed fields.
	percona *crdwatch.Watch

	// serviceMonitors: the same for the ServiceMonitor CRD, caching only the
	// ServiceMonitors the operator made (managed-by label) (monitoring.go).
	serviceMonitors *crdwatch.Watch

	// smNotices: which generation of each DittoServer was told its
	// ServiceMonitor CRD is missing (serviceMonitorNotices).
	smNotices *serviceMonitorNotices
}

// forgetDittoServer drops what was kept for a DittoServer that is gone.
func (m *memory) forgetDittoServer(key cache.ObjectName) {
	m.ownWrites.Forget(key)
	m.conflicts.reset(key)
	m.podWarnings.forget(key)
	m.smNotices.forget(key)
}

// forgetUnreferencedSecrets drops the key names of Secrets among names that
// no DittoServer references any more (indexer holds the DittoServers, by
// secretIndex).
func (m *memory) forgetUnreferencedSecrets(indexer cache.Indexer, namespace string, names []string) {
	for _, name := range names {
		if readers, err := indexer.ByIndex(secretIndex, namespace+"/"+name); err == nil && len(readers) == 0 {
			m.secretKeys.forget(namespace, name)
		}
	}
}

// secretInfo is what the operator keeps of a Secret: key names and value
// lengths at one resourceVersion. Values are never kept.
type secretInfo struct {
	resourceVersion string
	lengths         map[string]int
}

// maxRememberedSecrets caps the Secret key memory. Past it, an arbitrary
// entry makes room: forgetting costs one Secret read on a later pass.
const maxRememberedSecrets = 4096

type secretKeyCache struct {
	mu sync.Mutex
	m  map[cache.ObjectName]secretInfo
}

func newSecretKeyCache() *secretKeyCache {
	return &secretKeyCache{m: map[cache.ObjectName]secretInfo{}}
}

func (s *secretKeyCache) get(ns, name, rv string) (secretInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.m[cache.ObjectName{Namespace: ns, Name: name}]
	return info, ok && info.resourceVersion == rv
}

func (s *secretKeyCache) put(ns, name string, info secretInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := cache.ObjectName{Namespace: ns, Name: name}
	if _, ok := s.m[key]; !ok && len(s.m) >= maxRememberedSecrets {
		for victim := range s.m {
			delete(s.m, victim)
			break
		}
	}
	s.m[key] = info
}

func (s *secretKeyCache) forget(ns, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, cache.ObjectName{Namespace: ns, Name: name})
}

func (s *secretKeyCache) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// secretsDroppedBy lists the Secrets old references and new does not (all
// of old's when new is nil).
func secretsDroppedBy(old, new *dittov1alpha1.DittoServer) []string {
	keep := map[string]bool{}
	if new != nil {
		for _, n := range referencedSecretNames(new) {
			keep[n] = true
		}
	}
	var out []string
	for _, n := range referencedSecretNames(old) {
		if !keep[n] {
			out = append(out, n)
		}
	}
	return out
}
