package controller

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
)

// A DittoServer created in a namespace that is being deleted: the API server
// refuses its children ("unable to create new content in namespace ... because
// it is being terminated"). The DittoServer goes with its namespace, so this
// is waited out quietly: no Warning, no error log, no status write.
func TestTerminatingNamespaceIsNotAFailure(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer))
	f.kubeClient.PrependReactor("create", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		err := apierrors.NewForbidden(a.GetResource().GroupResource(), "x",
			apierrors.NewBadRequest("unable to create new content in namespace "+testNamespace+" because it is being terminated"))
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type: corev1.NamespaceTerminatingCause, Message: "namespace " + testNamespace + " is being terminated", Field: "metadata.namespace"})
		return true, nil, err
	})
	for pass := 1; pass <= 3; pass++ {
		expectErr(t, f.sync(), errWaiting)
		expectEvents(t, f.events())
		for _, a := range f.actions() {
			if strings.HasPrefix(a, "apply dittoservers/status") {
				t.Errorf("pass %d: status written while the namespace terminates", pass)
			}
		}
	}
}
