package controller

// Expectations: what a pass must have done, said and recorded.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
)

// expectActions compares requests as a multiset: order does not matter.
func expectActions(t *testing.T, got []string, want ...string) {
	t.Helper()
	missing := slices.Clone(want)
	var unexpected []string
	for _, g := range got {
		if i := slices.Index(missing, g); i >= 0 {
			missing = slices.Delete(missing, i, i+1)
		} else {
			unexpected = append(unexpected, g)
		}
	}
	if len(missing) > 0 || len(unexpected) > 0 {
		t.Errorf("requests differ:\n  missing:    %q\n  unexpected: %q\n  all:        %q", missing, unexpected, got)
	}
}

// expectEvents compares events in order; each wanted event is "Type Reason
// message prefix".
func expectEvents(t *testing.T, got []string, want ...string) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = strings.HasPrefix(got[i], want[i])
	}
	if !ok {
		t.Errorf("events differ:\n  got:  %q\n  want: %q", got, want)
	}
}

// expectErr checks how a pass ended: want nil (success), errWaiting (a
// Waiting outcome: requeued with backoff, quietly) or errAny (a failure).
func expectErr(t *testing.T, err, want error) {
	t.Helper()
	switch kind := kit.KindOf(err); {
	case want == nil && err != nil:
		t.Errorf("sync: unexpected error %v (%s)", err, kind)
	case want == errAny && err == nil:
		t.Errorf("sync: want an error, got none")
	case want == errWaiting && kind != kit.Waiting:
		t.Errorf("sync: want a Waiting outcome (requeue with backoff), got %v (%s)", err, kind)
	case want == errAny && kind != kit.Failed:
		t.Errorf("sync: want a failure, got %v (%s)", err, kind)
	}
}

// errWaiting stands for a Waiting outcome, errAny for a failure.
var (
	errWaiting = errors.New("any Waiting outcome")
	errAny     = errors.New("any failure")
)

// expectStatus checks the phase and conditions, each "Type=Status/Reason".
func expectStatus(t *testing.T, ds *dittov1alpha1.DittoServer, phase dittov1alpha1.Phase, conds ...string) {
	t.Helper()
	if ds.Status.Phase != phase {
		t.Errorf("phase = %q, want %q (conditions %s)", ds.Status.Phase, phase, describeConditions(ds))
	}
	for _, want := range conds {
		typ, _, _ := strings.Cut(want, "=")
		c := meta.FindStatusCondition(ds.Status.Conditions, typ)
		if c == nil {
			t.Errorf("condition %s missing; want %s", typ, want)
			continue
		}
		if got := fmt.Sprintf("%s=%s/%s", c.Type, c.Status, c.Reason); got != want {
			t.Errorf("condition %s, want %s (message %q)", got, want, c.Message)
		}
	}
}

func describeConditions(ds *dittov1alpha1.DittoServer) string {
	var parts []string
	for _, c := range ds.Status.Conditions {
		parts = append(parts, fmt.Sprintf("%s=%s/%s", c.Type, c.Status, c.Reason))
	}
	return strings.Join(parts, " ")
}

func condition(ds *dittov1alpha1.DittoServer, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(ds.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// expectQuiet checks that, once the informers have caught up with a pass,
// the next pass makes no request and emits no event: the controller is quiet
// as soon as its own writes are in the cache.
func (f *fixture) expectQuiet(t *testing.T) {
	t.Helper()
	f.catchUp()
	err := f.sync()
	if err != nil && kit.KindOf(err) != kit.Waiting {
		t.Errorf("settling pass: %v", err)
	}
	expectActions(t, f.actions())
	expectEvents(t, f.events())
	f.catchUp()
	_ = f.sync()
	expectActions(t, f.actions())
	expectEvents(t, f.events())
}
