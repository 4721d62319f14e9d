package controller

import (
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"sync"
	"unique"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// sharePool lets cached children share the parts they hold in common, so
// that a part repeated in every child of every DittoServer is held once.
// The informers decode each object on its own; a cache of N servers would
// otherwise hold N copies of the same probe, the same storage size, the same
// owner reference. Sharing is sound because nothing mutates a cached object
// (listers' objects are read-only; every write starts from a builder or a
// DeepCopy).
//
// Two kinds of part are pooled:
//
//   - Parts of one DittoServer, shared by its children: the label and
//     selector maps (a handful of sets, each repeated in up to five
//     objects) and the owner references. They are pooled under the
//     DittoServer's name and dropped when it is gone (forget).
//   - Parts the same for many DittoServers (sharedPart): a pod template's
//     probes, ports, mounts and security contexts, resource lists (storage
//     sizes), a Service's ports. They are pooled by content and kept:
//     distinct values are few (one per rendering and setting in use).
//
// Bounded: past maxPooledParts entries nothing more is pooled, and an object
// keeps its own parts. Namespaces are interned with the unique package,
// which drops a name no object holds any more.
type sharePool struct {
	mu sync.Mutex
	m  map[poolKey]pooled
}

type poolKey struct {
	kind string
	sum  [sha256.Size]byte
}

// pooled is a shared part and the DittoServer it belongs to ("" for parts
// shared by content, which no deletion drops).
type pooled struct {
	instance string
	value    any
}

// maxPooledParts bounds the pool: about six entries per DittoServer, and a
// few dozen shared by content.
const maxPooledParts = 1 << 16

func newSharePool() *sharePool { return &sharePool{m: map[poolKey]pooled{}} }

// intern returns the pooled value equal to v under kind and key (v itself
// the first time, or when the pool is full, or when a pooled value under the
// same key is not equal to v).
func intern[T any](p *sharePool, kind, instance string, key []byte, v T) T {
	if p == nil {
		return v
	}
	k := poolKey{kind: kind, sum: sha256.Sum256(key)}
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.m[k]; ok {
		if shared, ok := e.value.(T); ok && reflect.DeepEqual(shared, v) {
			return shared
		}
		return v
	}
	if len(p.m) < maxPooledParts {
		p.m[k] = pooled{instance: instance, value: v}
	}
	return v
}

// labels returns the pooled map equal to an object's labels. Only maps
// carrying the operator's managed-by label and an instance label are pooled.
func (p *sharePool) labels(l map[string]string) map[string]string {
	if l[resources.ManagedByLabel] != resources.ManagedByValue || l[resources.InstanceLabel] == "" {
		return l
	}
	return intern(p, "labels", l[resources.InstanceLabel], []byte(labelSetKey(l)), l)
}

// selector is labels for a selector's labels, which have no managed-by
// label: pooled apart from the object labels, under the instance they select.
func (p *sharePool) selector(l map[string]string) map[string]string {
	if l[resources.InstanceLabel] == "" {
		return l
	}
	return intern(p, "selector", l[resources.InstanceLabel], []byte(labelSetKey(l)), l)
}

// ownerRefs returns the pooled slice equal to a child's owner references,
// pooled under the DittoServer that controls it.
func (p *sharePool) ownerRefs(refs []metav1.OwnerReference) []metav1.OwnerReference {
	if len(refs) == 0 {
		return refs
	}
	var owner string
	for _, r := range refs {
		if r.Kind == "DittoServer" && r.Controller != nil && *r.Controller {
			owner = r.Name
		}
	}
	if owner == "" {
		return refs
	}
	return intern(p, "ownerRefs", owner, contentKey(refs), refs)
}

// sharedPart returns the pooled value with v's content (v itself the first
// time). Nil parts are returned as they are.
func sharedPart[T any](p *sharePool, kind string, v T) T {
	if p == nil || isNil(v) {
		return v
	}
	return intern(p, kind, "", contentKey(v), v)
}

func isNil(v any) bool {
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		return r.IsNil()
	}
	return !r.IsValid()
}

// contentKey is v's JSON encoding: equal for equal content (maps are encoded
// in key order). A value that cannot be encoded gets a key of its own type
// name, and is then shared only with a deeply equal value.
func contentKey(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(reflect.TypeOf(v).String())
	}
	return b
}

// forget drops the parts of the DittoServer named name (in any namespace:
// a namesake elsewhere only shares less until its objects are seen again).
func (p *sharePool) forget(name string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, e := range p.m {
		if e.instance == name {
			delete(p.m, key)
		}
	}
}

func (p *sharePool) len() int {
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

// transform returns next followed by the sharing of obj's parts: the
// metadata of every kind, and the specs of StatefulSets, Services and volume
// claims (shareStatefulSet, shareService, shareClaimSpec).
func (p *sharePool) transform(next cache.TransformFunc) cache.TransformFunc {
	return func(obj interface{}) (interface{}, error) {
		obj, err := next(obj)
		if err != nil {
			return obj, err
		}
		switch o := obj.(type) {
		case *appsv1.StatefulSet:
			p.shareStatefulSet(o)
		case *corev1.Service:
			p.shareService(o)
		case *corev1.PersistentVolumeClaim:
			p.shareClaimSpec(&o.Spec)
			o.Status.Capacity = sharedPart(p, "resources", o.Status.Capacity)
		}
		if m, ok := obj.(metav1.Object); ok {
			p.shareMeta(m)
		}
		return obj, nil
	}
}

// shareMeta shares an object's namespace, labels and owner references.
func (p *sharePool) shareMeta(m metav1.Object) {
	if p == nil {
		return
	}
	if ns := m.GetNamespace(); ns != "" {
		m.SetNamespace(unique.Make(ns).Value())
	}
	m.SetLabels(p.labels(m.GetLabels()))
	m.SetOwnerReferences(p.ownerRefs(m.GetOwnerReferences()))
}

// shareStatefulSet shares the parts of a StatefulSet's spec that do not
// name its DittoServer: selector and template labels, the containers'
// commands, ports, probes, mounts, security and resources, the pod's
// security and placement, and the claim templates' specs.
func (p *sharePool) shareStatefulSet(o *appsv1.StatefulSet) {
	if o.Spec.Selector != nil {
		o.Spec.Selector.MatchLabels = p.selector(o.Spec.Selector.MatchLabels)
	}
	o.Spec.PersistentVolumeClaimRetentionPolicy = sharedPart(p, "retention", o.Spec.PersistentVolumeClaimRetentionPolicy)
	o.Spec.UpdateStrategy.RollingUpdate = sharedPart(p, "rollingUpdate", o.Spec.UpdateStrategy.RollingUpdate)
	t := &o.Spec.Template
	t.Labels = p.labels(t.Labels)
	s := &t.Spec
	s.SecurityContext = sharedPart(p, "podSecurity", s.SecurityContext)
	s.Affinity = sharedPart(p, "affinity", s.Affinity)
	s.Tolerations = sharedPart(p, "tolerations", s.Tolerations)
	s.NodeSelector = sharedPart(p, "nodeSelector", s.NodeSelector)
	s.TopologySpreadConstraints = sharedPart(p, "spread", s.TopologySpreadConstraints)
	s.ImagePullSecrets = sharedPart(p, "pullSecrets", s.ImagePullSecrets)
	for _, cs := range [][]corev1.Container{s.InitContainers, s.Containers} {
		for i := range cs {
			p.shareContainer(&cs[i])
		}
	}
	for i := range o.Spec.VolumeClaimTemplates {
		ct := &o.Spec.VolumeClaimTemplates[i]
		ct.Labels = p.labels(ct.Labels)
		p.shareClaimSpec(&ct.Spec)
	}
}

func (p *sharePool) shareContainer(c *corev1.Container) {
	c.Command = sharedPart(p, "command", c.Command)
	c.Args = sharedPart(p, "args", c.Args)
	c.Ports = sharedPart(p, "containerPorts", c.Ports)
	c.LivenessProbe = sharedPart(p, "probe", c.LivenessProbe)
	c.ReadinessProbe = sharedPart(p, "probe", c.ReadinessProbe)
	c.StartupProbe = sharedPart(p, "probe", c.StartupProbe)
	c.Lifecycle = sharedPart(p, "lifecycle", c.Lifecycle)
	c.SecurityContext = sharedPart(p, "security", c.SecurityContext)
	c.VolumeMounts = sharedPart(p, "mounts", c.VolumeMounts)
	c.Resources.Requests = sharedPart(p, "resources", c.Resources.Requests)
	c.Resources.Limits = sharedPart(p, "resources", c.Resources.Limits)
}

func (p *sharePool) shareClaimSpec(s *corev1.PersistentVolumeClaimSpec) {
	s.AccessModes = sharedPart(p, "accessModes", s.AccessModes)
	s.VolumeMode = sharedPart(p, "volumeMode", s.VolumeMode)
	s.StorageClassName = sharedPart(p, "storageClass", s.StorageClassName)
	s.Resources.Requests = sharedPart(p, "resources", s.Resources.Requests)
	s.Resources.Limits = sharedPart(p, "resources", s.Resources.Limits)
}

// shareService shares a Service's selector, ports and address families.
func (p *sharePool) shareService(o *corev1.Service) {
	o.Spec.Selector = p.selector(o.Spec.Selector)
	o.Spec.Ports = sharedPart(p, "servicePorts", o.Spec.Ports)
	o.Spec.IPFamilies = sharedPart(p, "ipFamilies", o.Spec.IPFamilies)
	o.Spec.IPFamilyPolicy = sharedPart(p, "ipFamilyPolicy", o.Spec.IPFamilyPolicy)
	o.Spec.InternalTrafficPolicy = sharedPart(p, "trafficPolicy", o.Spec.InternalTrafficPolicy)
}
