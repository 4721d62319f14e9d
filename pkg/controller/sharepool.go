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

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// sharePool lets cached objects share the parts they hold in common, so
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
//     DittoServer's name and dropped when it is gone (forget); past
//     maxPooledParts nothing more is pooled.
//   - Parts the same for many DittoServers (sharedPart): the defaults the
//     API server fills into every DittoServer's spec, a pod template's
//     probes, ports, mounts and security contexts, storage sizes, a
//     Service's ports. They are pooled by content. Distinct values are few
//     (one per rendering and setting in use); when they pass
//     maxContentParts (settings that vary per server, churn) the pool of
//     them starts afresh, so a value no object holds any more is not kept
//     for long. Objects keep the parts they share; only later objects share
//     with new entries.
//
// Strings that repeat in every server's objects (namespaces, label keys and
// values, annotation names, the image, condition types and reasons) are
// interned with the unique package, which drops a string no object holds any
// more.
type sharePool struct {
	mu      sync.Mutex
	m       map[poolKey]pooled
	content map[poolKey]any
}

type poolKey struct {
	kind string
	sum  [16]byte
}

// pooled is a part of one DittoServer's children.
type pooled struct {
	instance string
	value    any
}

// maxPooledParts bounds the parts of single DittoServers: about four per
// DittoServer.
const maxPooledParts = 1 << 16

// maxContentParts bounds the parts shared by content.
const maxContentParts = 4096

func newSharePool() *sharePool {
	return &sharePool{m: map[poolKey]pooled{}, content: map[poolKey]any{}}
}

func keyOf(kind string, key []byte) poolKey {
	sum := sha256.Sum256(key)
	k := poolKey{kind: kind}
	copy(k.sum[:], sum[:])
	return k
}

// internLabels returns the pooled map equal to l under kind in the parts
// of instance: the first time, a copy of l whose keys and values are
// interned (they repeat in every server's maps); l itself when the pool is
// full, or when a pooled map under the same key is not equal to l.
func internLabels(p *sharePool, kind, instance string, l map[string]string) map[string]string {
	if p == nil {
		return l
	}
	k := keyOf(kind, []byte(labelSetKey(l)))
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.m[k]; ok {
		return sameOr(e.value, l)
	}
	if len(p.m) >= maxPooledParts {
		return l
	}
	l = internStrings(l)
	p.m[k] = pooled{instance: instance, value: l}
	return l
}

// internStrings is a copy of m with its keys and values interned.
func internStrings(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[unique.Make(k).Value()] = unique.Make(v).Value()
	}
	return out
}

// internKeys is a copy of m with its keys interned: annotation names repeat
// in every object, their values (hashes) do not.
func internKeys(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[unique.Make(k).Value()] = v
	}
	return out
}

// sharedPart returns the pooled value with v's content (v itself the first
// time). Nil parts are returned as they are.
func sharedPart[T any](p *sharePool, kind string, v T) T {
	if p == nil || isNil(v) {
		return v
	}
	k := keyOf(kind, contentKey(v))
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.content[k]; ok {
		return sameOr(e, v)
	}
	if len(p.content) >= maxContentParts {
		p.content = map[poolKey]any{}
	}
	p.content[k] = v
	return v
}

// sameOr returns pooled when it is deeply equal to v, else v.
func sameOr[T any](pooled any, v T) T {
	if shared, ok := pooled.(T); ok && reflect.DeepEqual(shared, v) {
		return shared
	}
	return v
}

// labels returns the pooled map equal to an object's labels. Only maps
// carrying the operator's managed-by label and an instance label are pooled.
func (p *sharePool) labels(l map[string]string) map[string]string {
	if l[resources.ManagedByLabel] != resources.ManagedByValue || l[resources.InstanceLabel] == "" {
		return l
	}
	return internLabels(p, "labels", l[resources.InstanceLabel], l)
}

// selector is labels for a selector's labels, which have no managed-by
// label: pooled apart from the object labels, under the instance they select.
func (p *sharePool) selector(l map[string]string) map[string]string {
	if l[resources.InstanceLabel] == "" {
		return l
	}
	return internLabels(p, "selector", l[resources.InstanceLabel], l)
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
	if owner == "" || p == nil {
		return refs
	}
	k := keyOf("ownerRefs", contentKey(refs))
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.m[k]; ok {
		return sameOr(e.value, refs)
	}
	if len(p.m) < maxPooledParts {
		p.m[k] = pooled{instance: owner, value: refs}
	}
	return refs
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

// len is the number of pooled parts of single DittoServers.
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
// metadata of every kind, and the specs of DittoServers, StatefulSets,
// Services and volume claims (shareDittoServer, shareStatefulSet,
// shareService, shareClaimSpec).
func (p *sharePool) transform(next cache.TransformFunc) cache.TransformFunc {
	return func(obj interface{}) (interface{}, error) {
		obj, err := next(obj)
		if err != nil {
			return obj, err
		}
		switch o := obj.(type) {
		case *dittov1alpha1.DittoServer:
			p.shareDittoServer(o)
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

// shareMeta shares an object's namespace, annotation names, labels and
// owner references.
func (p *sharePool) shareMeta(m metav1.Object) {
	if p == nil {
		return
	}
	if ns := m.GetNamespace(); ns != "" {
		m.SetNamespace(unique.Make(ns).Value())
	}
	if a := m.GetAnnotations(); len(a) > 0 {
		m.SetAnnotations(internKeys(a))
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
	p.shareResourceLists(&c.Resources.Requests, &c.Resources.Limits)
}

// shareResourceLists shares resource requests and limits (storage sizes,
// CPU and memory): a one-entry ResourceList is a map of about 600 bytes.
func (p *sharePool) shareResourceLists(requests, limits *corev1.ResourceList) {
	*requests = sharedPart(p, "resources", *requests)
	*limits = sharedPart(p, "resources", *limits)
}

func (p *sharePool) shareClaimSpec(s *corev1.PersistentVolumeClaimSpec) {
	s.AccessModes = sharedPart(p, "accessModes", s.AccessModes)
	s.VolumeMode = sharedPart(p, "volumeMode", s.VolumeMode)
	s.StorageClassName = sharedPart(p, "storageClass", s.StorageClassName)
	p.shareResourceLists(&s.Resources.Requests, &s.Resources.Limits)
}

// shareService shares a Service's selector, ports and address families.
func (p *sharePool) shareService(o *corev1.Service) {
	o.Spec.Selector = p.selector(o.Spec.Selector)
	o.Spec.Ports = sharedPart(p, "servicePorts", o.Spec.Ports)
	o.Spec.IPFamilies = sharedPart(p, "ipFamilies", o.Spec.IPFamilies)
	o.Spec.IPFamilyPolicy = sharedPart(p, "ipFamilyPolicy", o.Spec.IPFamilyPolicy)
	o.Spec.InternalTrafficPolicy = sharedPart(p, "trafficPolicy", o.Spec.InternalTrafficPolicy)
}

// shareDittoServer shares the parts of a DittoServer's spec: most are the
// defaults the API server fills in (the control plane, database and identity
// settings, the image) and the same in every server. The storage sizes are
// left alone: a Quantity caches its string form in itself when printed.
func (p *sharePool) shareDittoServer(o *dittov1alpha1.DittoServer) {
	s := &o.Spec
	if s.Image != "" {
		s.Image = unique.Make(s.Image).Value()
	}
	s.ImagePullSecrets = sharedPart(p, "pullSecrets", s.ImagePullSecrets)
	s.Replicas = sharedPart(p, "int32", s.Replicas)
	s.Storage.StorageClassName = sharedPart(p, "storageClass", s.Storage.StorageClassName)
	s.Database = sharedPart(p, "database", s.Database)
	s.Metrics = sharedPart(p, "metrics", s.Metrics)
	s.NetworkPolicy = sharedPart(p, "networkPolicy", s.NetworkPolicy)
	s.ControlPlane = sharedPart(p, "controlPlane", s.ControlPlane)
	s.Identity = sharedPart(p, "identity", s.Identity)
	s.Service = sharedPart(p, "service", s.Service)
	s.NFSPort = sharedPart(p, "int32", s.NFSPort)
	s.SMB = sharedPart(p, "smb", s.SMB)
	s.Portmapper = sharedPart(p, "portmapper", s.Portmapper)
	s.Percona = sharedPart(p, "percona", s.Percona)
	p.shareResourceLists(&s.Resources.Requests, &s.Resources.Limits)
	s.SecurityContext = sharedPart(p, "security", s.SecurityContext)
	s.PodSecurityContext = sharedPart(p, "podSecurity", s.PodSecurityContext)
	s.NodeSelector = sharedPart(p, "nodeSelector", s.NodeSelector)
	s.Tolerations = sharedPart(p, "tolerations", s.Tolerations)
	s.Affinity = sharedPart(p, "affinity", s.Affinity)
	s.TopologySpreadConstraints = sharedPart(p, "spread", s.TopologySpreadConstraints)
	s.PodMetadata = sharedPart(p, "podMetadata", s.PodMetadata)
	s.Env = sharedPart(p, "env", s.Env)
	s.ShutdownTimeout = sharedPart(p, "duration", s.ShutdownTimeout)
	s.TerminationGracePeriodSeconds = sharedPart(p, "int64", s.TerminationGracePeriodSeconds)
	s.Probes = sharedPart(p, "probes", s.Probes)
	s.PreStopDelaySeconds = sharedPart(p, "int32", s.PreStopDelaySeconds)
	o.Status.Conditions = internConditions(o.Status.Conditions)
}

// internConditions is a copy of conds, no longer than it, with the types,
// statuses and reasons interned: they repeat in every server's status.
func internConditions(conds []metav1.Condition) []metav1.Condition {
	if conds == nil {
		return nil
	}
	out := make([]metav1.Condition, len(conds))
	for i, c := range conds {
		c.Type, c.Reason = unique.Make(c.Type).Value(), unique.Make(c.Reason).Value()
		c.Status = metav1.ConditionStatus(unique.Make(string(c.Status)).Value())
		out[i] = c
	}
	return out
}
