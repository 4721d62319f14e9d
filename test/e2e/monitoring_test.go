package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dittofs/dittofs-operator/pkg/controller"
	"github.com/dittofs/dittofs-operator/pkg/controller/caches"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// The local control plane runs no network plugin: NetworkPolicies are
// stored and never enforced here, so these tests check the objects the
// operator writes, not the traffic they would stop.

// A DittoServer's NetworkPolicy and ServiceMonitor follow its spec: the
// NetworkPolicy at once, the ServiceMonitor only once its CRD is installed
// (until then one ServiceMonitorUnavailable Warning says why there is none);
// both go when the spec turns them off. Meanwhile the operator's condition
// gauge reports the server's conditions and its reconciles appear under
// controller-runtime's names.
func TestNetworkPolicyAndServiceMonitorFollowTheSpec(t *testing.T) {
	n := newNamespace(t, nil)
	server := sampleObject(t, "monitoring", "DittoServer")
	n.create(server)
	name := server.GetName()
	ds := n.waitReady(name)

	// The NetworkPolicy: API from the operator and admin-tools, files from
	// the selected clients only.
	var np *networkingv1.NetworkPolicy
	eventually(t, waitShort, "NetworkPolicy "+name, func() (bool, string) {
		var err error
		np, err = env.kube.NetworkingV1().NetworkPolicies(n.name).Get(t.Context(), name, metav1.GetOptions{})
		return err == nil, errString(err)
	})
	if !controlledBy(np, ds) {
		t.Errorf("NetworkPolicy owners %+v, want the DittoServer as controller", np.OwnerReferences)
	}
	if got := describePolicy(np); got != "api<-[ns=dittofs-system pods=dittofs-operator ns=admin-tools] nfs,smb<-[team=media role=nfs-client] metrics<-[ns=monitoring]" {
		t.Errorf("NetworkPolicy admits %s", got)
	}

	// No ServiceMonitor CRD yet: a Warning, once, and the server is not held back.
	n.waitEvents(ds.UID, controller.ReasonServiceMonitorUnavailable, 1)

	// The condition gauge and controller-runtime's reconcile counter.
	eventually(t, waitShort, "the condition gauge of "+name, func() (bool, string) {
		v := operatorMetric(t, "dittofs_operator_dittoserver_condition", `namespace="`+n.name+`"`, `type="Ready"`, `status="True"`)
		return v == 1, fmt.Sprintf("dittofs_operator_dittoserver_condition{type=Ready,status=True} = %v", v)
	})
	if v := operatorMetric(t, "controller_runtime_reconcile_total", `controller="dittoservers"`, `result="success"`); v < 1 {
		t.Errorf("controller_runtime_reconcile_total{controller=dittoservers,result=success} = %v", v)
	}
	if v := operatorMetric(t, "rest_client_requests_total", `method="POST"`); v < 1 {
		t.Errorf("rest_client_requests_total{method=POST} = %v: the operator's creates were not counted", v)
	}

	// The CRD arrives: the ServiceMonitor follows without any change to the DittoServer.
	installServiceMonitorCRD(t)
	smName := name + "-metrics"
	sms := env.dyn.Resource(resources.ServiceMonitorGVR).Namespace(n.name)
	eventually(t, waitShort, "ServiceMonitor "+smName, func() (bool, string) {
		sm, err := sms.Get(t.Context(), smName, metav1.GetOptions{})
		if err != nil {
			return false, errString(err)
		}
		return sm.GetLabels()["release"] == "prometheus" && ownedBy(sm, ds.UID), fmt.Sprintf("labels %v owners %v", sm.GetLabels(), sm.GetOwnerReferences())
	})
	if c := countEvents(n.events(ds.UID), controller.ReasonServiceMonitorUnavailable); c != 1 {
		t.Errorf("%d ServiceMonitorUnavailable events, want 1", c)
	}

	// Both turned off: both deleted.
	n.patchDS(name, `{"spec":{"networkPolicy":{"enabled":false},"metrics":{"serviceMonitor":{"enabled":false}}}}`)
	eventually(t, waitShort, "NetworkPolicy and ServiceMonitor deleted", func() (bool, string) {
		_, npErr := env.kube.NetworkingV1().NetworkPolicies(n.name).Get(t.Context(), name, metav1.GetOptions{})
		_, smErr := sms.Get(t.Context(), smName, metav1.GetOptions{})
		return apierrors.IsNotFound(npErr) && apierrors.IsNotFound(smErr), fmt.Sprintf("NetworkPolicy: %v, ServiceMonitor: %v", errString(npErr), errString(smErr))
	})

	// The DittoServer goes: so do its gauge series.
	n.deleteDS(name)
	n.waitDSGone(name)
	eventually(t, waitShort, "the condition gauge of "+name+" gone", func() (bool, string) {
		v := operatorMetric(t, "dittofs_operator_dittoserver_condition", `namespace="`+n.name+`"`)
		return v == 0, fmt.Sprintf("%v series left", v)
	})
}

// installServiceMonitorCRD installs the minimal ServiceMonitor CRD and
// removes it (waiting until it is gone) when the test ends, so that the
// other tests run without it.
func installServiceMonitorCRD(t *testing.T) {
	t.Helper()
	if _, err := env.applier.InstallCRDs(t.Context(), filepath.Join(env.root, "test", "e2e", "testdata", "servicemonitor-crd.yaml")); err != nil {
		t.Fatalf("install the ServiceMonitor CRD: %v", err)
	}
	t.Cleanup(func() {
		// t.Context() is already cancelled while cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), waitShort)
		defer cancel()
		crds := env.dyn.Resource(caches.CRDGVR)
		if err := crds.Delete(ctx, resources.ServiceMonitorCRDName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete the ServiceMonitor CRD: %v", err)
			return
		}
		for {
			_, err := crds.Get(ctx, resources.ServiceMonitorCRDName, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return
			}
			select {
			case <-ctx.Done():
				t.Errorf("the ServiceMonitor CRD is still there: %v", errString(err))
				return
			case <-time.After(pollEvery):
			}
		}
	})
}

// describePolicy renders a NetworkPolicy's ingress rules as
// "ports<-[peers]", peers by their selectors' values.
func describePolicy(np *networkingv1.NetworkPolicy) string {
	var out string
	for i, r := range np.Spec.Ingress {
		if i > 0 {
			out += " "
		}
		for j, p := range r.Ports {
			if j > 0 {
				out += ","
			}
			out += p.Port.String()
		}
		out += "<-["
		for j, peer := range r.From {
			if j > 0 {
				out += " "
			}
			var parts []string
			if peer.NamespaceSelector != nil {
				for k, v := range peer.NamespaceSelector.MatchLabels {
					if k == "kubernetes.io/metadata.name" {
						k = "ns"
					}
					parts = append(parts, k+"="+v)
				}
			}
			if peer.PodSelector != nil {
				for k, v := range peer.PodSelector.MatchLabels {
					if k == resources.NameLabel {
						k = "pods"
					}
					parts = append(parts, k+"="+v)
				}
			}
			for k, part := range parts {
				if k > 0 {
					out += " "
				}
				out += part
			}
		}
		out += "]"
	}
	return out
}

// operatorMetric is the sum of the running operator's samples of name
// whose labels contain every one of labels (`key="value"`).
func operatorMetric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.op == nil {
		t.Fatal("the operator is not running")
	}
	v, err := env.op.Metric(name, labels...)
	if err != nil {
		t.Fatalf("operator metric %s: %v", name, err)
	}
	return v
}
