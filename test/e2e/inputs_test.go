package e2e

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller"
)

// A DittoServer whose Secret does not exist yet says so once, through its
// conditions, its phase and one Warning that kubectl describe shows, and
// starts as soon as the Secret is created.
func TestMissingSecretThenCreated(t *testing.T) {
	n := newNamespace(t, nil)
	objs := readSample(t, "user-secrets")
	ds := sampleDittoServer(t, objs)
	n.create(ds)
	name := ds.GetName()

	cur := n.waitDS(name, "ConfigReady=False (SecretNotFound), phase Failed", func(ds *dittov1alpha1.DittoServer) (bool, string) {
		ok := hasCondition(ds, controller.ConditionConfigReady, metav1.ConditionFalse, controller.ReasonSecretNotFound) &&
			ds.Status.Phase == dittov1alpha1.PhaseFailed
		return ok, statusSummary(ds)
	})
	want := fmt.Sprintf(`Secret "dittofs-identity" (spec.identity.jwt.secretRef) not found in namespace %q: create it or change the reference`, n.name)
	evs := n.waitEvents(cur.UID, controller.ReasonSecretNotFound, 1)
	for _, e := range evs {
		if e.Reason == controller.ReasonSecretNotFound && (e.Type != corev1.EventTypeWarning || e.Message != want) {
			t.Errorf("SecretNotFound event %s %q, want a Warning %q", e.Type, e.Message, want)
		}
	}
	consistently(t, quietWindow, "a single Warning and no StatefulSet while the Secret is missing", func() (bool, string) {
		if _, err := env.kube.AppsV1().StatefulSets(n.name).Get(t.Context(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return false, fmt.Sprintf("StatefulSet %s: %v", name, err)
		}
		evs := n.events(cur.UID)
		return countWarnings(evs) == 1, eventSummary(evs)
	})
	describe := n.kubectl("describe", "dittoserver", name)
	for _, s := range []string{"Warning", controller.ReasonSecretNotFound, `Secret "dittofs-identity"`, "Failed"} {
		if !strings.Contains(describe, s) {
			t.Errorf("kubectl describe dittoserver does not show %q:\n%s", s, describe)
		}
	}

	for _, o := range objs {
		if o.GetKind() == "Secret" {
			n.create(o)
		}
	}
	ready := n.waitReady(name)
	if !hasCondition(ready, controller.ConditionConfigReady, metav1.ConditionTrue, controller.ReasonInputsResolved) {
		t.Errorf("ConfigReady after the Secret was created: %s", statusSummary(ready))
	}
	if evs := n.events(cur.UID); countWarnings(evs) != 1 {
		t.Errorf("Warnings after recovery: %s; want only the one SecretNotFound", eventSummary(evs))
	}
}

func countWarnings(evs []corev1.Event) int {
	n := 0
	for _, e := range evs {
		if e.Type == corev1.EventTypeWarning {
			n += max(int(e.Count), 1)
		}
	}
	return n
}
