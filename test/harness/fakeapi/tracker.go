// Package fakeapi makes client-go's fake clientsets behave like one API
// server where a controller depends on it: every write stamps a new
// resourceVersion (informers ignore updates whose version did not change),
// a create assigns a UID and a creationTimestamp, and an update or patch that
// carries a stale resourceVersion fails with a Conflict. Tests built on it
// catch stale-cache bugs that plain fake clientsets hide.
package fakeapi

import (
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clienttesting "k8s.io/client-go/testing"
)

// lastResourceVersion numbers every write of every fake API server in the
// test binary, so that resourceVersions are unique across clientsets.
var lastResourceVersion atomic.Int64

// NextResourceVersion returns a resourceVersion no object has had yet.
func NextResourceVersion() string {
	return strconv.FormatInt(lastResourceVersion.Add(1)+1000, 10)
}

// Tracker wraps a fake clientset's ObjectTracker with the API server's
// versioning. Serve a clientset from it with ServeFrom.
type Tracker struct {
	clienttesting.ObjectTracker
	// AfterWrite, when set, is called after every successful create,
	// update, patch and delete (obj is nil for a delete), for example to
	// mirror Secrets into a metadata clientset as one API server would.
	AfterWrite func(verb string, gvr schema.GroupVersionResource, obj runtime.Object, ns, name string)
	// Now stamps creationTimestamp on create; nil means the wall clock.
	Now func() time.Time
}

// NewTracker wraps tracker.
func NewTracker(tracker clienttesting.ObjectTracker) Tracker {
	return Tracker{ObjectTracker: tracker}
}

// Add loads obj as already present in the cluster (no request is
// recorded); an object without a resourceVersion gets one.
func (t Tracker) Add(obj runtime.Object) error {
	obj = obj.DeepCopyObject()
	if m, err := meta.Accessor(obj); err == nil && m.GetResourceVersion() == "" {
		m.SetResourceVersion(NextResourceVersion())
	}
	return t.ObjectTracker.Add(obj)
}

func (t Tracker) Create(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.CreateOptions) error {
	obj = obj.DeepCopyObject()
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if m.GetUID() == "" {
		m.SetUID(types.UID("uid-" + NextResourceVersion()))
	}
	m.SetResourceVersion(NextResourceVersion())
	if ts := m.GetCreationTimestamp(); ts.IsZero() {
		m.SetCreationTimestamp(metav1.NewTime(t.now()))
	}
	return t.done("create", gvr, obj, ns, m.GetName(), t.ObjectTracker.Create(gvr, obj, ns, opts...))
}

func (t Tracker) Update(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.UpdateOptions) error {
	obj = obj.DeepCopyObject()
	name, err := t.stamp(gvr, obj, ns)
	if err != nil {
		return err
	}
	return t.done("update", gvr, obj, ns, name, t.ObjectTracker.Update(gvr, obj, ns, opts...))
}

// Patch stamps obj in place: ObjectReaction returns this very object as the
// result of the patch.
func (t Tracker) Patch(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.PatchOptions) error {
	name, err := t.stamp(gvr, obj, ns)
	if err != nil {
		return err
	}
	return t.done("patch", gvr, obj, ns, name, t.ObjectTracker.Patch(gvr, obj, ns, opts...))
}

func (t Tracker) Delete(gvr schema.GroupVersionResource, ns, name string, opts ...metav1.DeleteOptions) error {
	return t.done("delete", gvr, nil, ns, name, t.ObjectTracker.Delete(gvr, ns, name, opts...))
}

func (t Tracker) done(verb string, gvr schema.GroupVersionResource, obj runtime.Object, ns, name string, err error) error {
	if err == nil && t.AfterWrite != nil {
		t.AfterWrite(verb, gvr, obj, ns, name)
	}
	return err
}

// stamp refuses a write whose resourceVersion is not the stored one (an
// empty one means "unconditionally", as on the API server) and gives obj a
// new resourceVersion.
func (t Tracker) stamp(gvr schema.GroupVersionResource, obj runtime.Object, ns string) (string, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return "", err
	}
	if rv := m.GetResourceVersion(); rv != "" {
		cur, err := t.ObjectTracker.Get(gvr, ns, m.GetName())
		if err != nil {
			return "", err
		}
		if cm, _ := meta.Accessor(cur); cm.GetResourceVersion() != rv {
			return "", apierrors.NewConflict(gvr.GroupResource(), m.GetName(),
				errors.New("the object has been modified; please apply your changes to the latest version and try again"))
		}
	}
	m.SetResourceVersion(NextResourceVersion())
	return m.GetName(), nil
}

func (t Tracker) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// ServeFrom makes fake answer every request but watches from tracker.
// Watches come from the tracker the clientset was built with, which the
// Tracker wraps, so they see every write made through it.
func ServeFrom(fake *clienttesting.Fake, tracker clienttesting.ObjectTracker) {
	fake.ReactionChain = nil
	fake.AddReactor("*", "*", clienttesting.ObjectReaction(tracker))
}
