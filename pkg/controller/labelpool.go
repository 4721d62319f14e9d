package controller

import (
	"sort"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// labelPool lets the cached children of one DittoServer share their label
// and selector maps. A DittoServer's StatefulSet, its pod template, its
// Services and their selectors, its volume claims and their templates, its
// Secrets carry a handful of distinct label sets between them, each repeated
// in up to five objects; a small map costs about 400 bytes, the strings
// aside. Sharing is sound because nothing mutates a cached object (listers'
// objects are read-only; every write starts from a builder or a DeepCopy).
//
// Only maps carrying the operator's managed-by label and an instance label
// are pooled. Bounded: the entries of a DittoServer are dropped when it is
// gone (forget), and past maxPooledLabelSets nothing more is pooled. An
// object keeps its map when the pool drops it; only later objects stop
// sharing it.
type labelPool struct {
	mu sync.Mutex
	m  map[string]map[string]string
}

// maxPooledLabelSets bounds the pool: about four sets per DittoServer.
const maxPooledLabelSets = 1 << 16

func newLabelPool() *labelPool { return &labelPool{m: map[string]map[string]string{}} }

// share returns the pooled map equal to l (l itself the first time).
func (p *labelPool) share(l map[string]string) map[string]string {
	if l[resources.ManagedByLabel] != resources.ManagedByValue {
		return l
	}
	return p.intern("", l)
}

// shareSelector is share for a selector's labels, which have no managed-by
// label: pooled apart from the object labels, under the instance they select.
func (p *labelPool) shareSelector(l map[string]string) map[string]string {
	return p.intern("selector\x00", l)
}

// intern returns the pooled map equal to l under kind (l itself the first
// time, or always once the pool is full). Only maps naming an instance are
// pooled, so that forget can find them.
func (p *labelPool) intern(kind string, l map[string]string) map[string]string {
	if p == nil || l[resources.InstanceLabel] == "" {
		return l
	}
	key := kind + labelSetKey(l)
	p.mu.Lock()
	defer p.mu.Unlock()
	if shared, ok := p.m[key]; ok {
		return shared
	}
	if len(p.m) < maxPooledLabelSets {
		p.m[key] = l
	}
	return l
}

// forget drops the sets of the DittoServer named name (in any namespace:
// a namesake elsewhere only shares less until its objects are seen again).
func (p *labelPool) forget(name string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, l := range p.m {
		if l[resources.InstanceLabel] == name {
			delete(p.m, key)
		}
	}
}

func (p *labelPool) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.m)
}

// labelSetKey is l's content in a canonical order.
func labelSetKey(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(l[k])
		b.WriteByte(0)
	}
	return b.String()
}

// transform returns next followed by the sharing of obj's label maps:
// metadata labels of every kind, and for StatefulSets and Services their
// selectors, pod template and volume claim templates.
func (p *labelPool) transform(next cache.TransformFunc) cache.TransformFunc {
	return func(obj interface{}) (interface{}, error) {
		obj, err := next(obj)
		if err != nil {
			return obj, err
		}
		switch o := obj.(type) {
		case *appsv1.StatefulSet:
			if o.Spec.Selector != nil {
				o.Spec.Selector.MatchLabels = p.shareSelector(o.Spec.Selector.MatchLabels)
			}
			o.Spec.Template.Labels = p.share(o.Spec.Template.Labels)
			for i := range o.Spec.VolumeClaimTemplates {
				o.Spec.VolumeClaimTemplates[i].Labels = p.share(o.Spec.VolumeClaimTemplates[i].Labels)
			}
		case *corev1.Service:
			o.Spec.Selector = p.shareSelector(o.Spec.Selector)
		}
		if m, ok := obj.(metav1.Object); ok {
			m.SetLabels(p.share(m.GetLabels()))
		}
		return obj, nil
	}
}
