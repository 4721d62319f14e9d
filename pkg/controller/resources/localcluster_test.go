//go:build localcluster

// The samples and every object the builders make of them, submitted to a real
// kube-apiserver (test/localcluster): the CRD's schema and CEL rules admit the
// samples, the API server's defaults give the same objects as the Go
// defaults, every child is valid, and the pod the StatefulSet controller
// creates is admitted in a namespace that enforces the "restricted" Pod
// Security Standard. Run with
//
//	go test -tags localcluster -run LocalCluster ./pkg/controller/resources
package resources

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/test/localcluster"
)

var (
	crdGVR         = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	dittoServerGVR = dittov1alpha1.SchemeGroupVersion.WithResource("dittoservers")
	secretGVR      = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	// What a sample may hold for its server's pod to be admitted.
	serviceAccountGVR = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	priorityClassGVR  = schema.GroupVersionResource{Group: "scheduling.k8s.io", Version: "v1", Resource: "priorityclasses"}
	// The shares and users a sample declares beside its server.
	sampleExtraGVRs = map[string]schema.GroupVersionResource{
		"DittoShare": dittov1alpha1.SchemeGroupVersion.WithResource("dittoshares"),
		"DittoUser":  dittov1alpha1.SchemeGroupVersion.WithResource("dittousers"),
	}
)

const restrictedNS = "restricted"

func TestLocalClusterAdmitsEverySample(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{NumPVs: 40})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop() }()
	cs := kubernetes.NewForConfigOrDie(c.RESTConfig())
	dyn := dynamic.NewForConfigOrDie(c.RESTConfig())

	for _, f := range []string{
		crdFile, "../../../hack/crds/perconapgcluster-minimal.yaml",
		"../../../artifacts/crds/dittofs.dittofs.com_dittoshares.yaml", "../../../artifacts/crds/dittofs.dittofs.com_dittousers.yaml",
	} {
		installCRD(ctx, t, dyn, f)
	}
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: restrictedNS, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
	}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	for _, s := range loadSamples(t) {
		t.Run(s.name, func(t *testing.T) {
			data, err := os.ReadFile(examplesDir + "/" + s.name + ".yaml")
			if err != nil {
				t.Fatal(err)
			}
			var stored *dittov1alpha1.DittoServer
			for _, doc := range splitYAML(data) {
				u := &unstructured.Unstructured{}
				if err := yaml.Unmarshal(doc, &u.Object); err != nil {
					t.Fatal(err)
				}
				switch u.GetKind() {
				case "DittoServer":
					got, err := dyn.Resource(dittoServerGVR).Namespace(restrictedNS).Create(ctx, u, metav1.CreateOptions{})
					if err != nil {
						t.Fatalf("the API server rejects the sample: %v", err)
					}
					stored = &dittov1alpha1.DittoServer{}
					if err := runtime.DefaultUnstructuredConverter.FromUnstructured(got.Object, stored); err != nil {
						t.Fatal(err)
					}
				case "Secret":
					if _, err := dyn.Resource(secretGVR).Namespace(restrictedNS).Create(ctx, u, metav1.CreateOptions{}); err != nil {
						t.Fatal(err)
					}
				case "ServiceAccount":
					if _, err := dyn.Resource(serviceAccountGVR).Namespace(restrictedNS).Create(ctx, u, metav1.CreateOptions{}); err != nil {
						t.Fatal(err)
					}
				case "PriorityClass": // cluster-scoped
					if _, err := dyn.Resource(priorityClassGVR).Create(ctx, u, metav1.CreateOptions{}); err != nil {
						t.Fatal(err)
					}
				case "DittoShare", "DittoUser":
					if _, err := dyn.Resource(sampleExtraGVRs[u.GetKind()]).Namespace(restrictedNS).Create(ctx, u, metav1.CreateOptions{}); err != nil {
						t.Fatalf("the API server rejects the sample's %s %s: %v", u.GetKind(), u.GetName(), err)
					}
				default:
					t.Fatalf("unexpected %s in the sample", u.GetKind())
				}
			}
			// The same sample, defaulted by the CRD mirror of the unit tests.
			raw := deepCopyJSON(s.raw).(map[string]any)
			loadCRD(t).admit(raw)
			local := fromMap(t, raw)
			local.Namespace, local.UID = stored.Namespace, stored.UID
			if a, b := buildAll(t, local), buildAll(t, stored); !bytes.Equal(a, b) {
				t.Errorf("objects differ between the API server's defaults and the Go/CRD-mirror defaults:\n%s", lineDiff(string(a), string(b)))
			}
			createChildren(ctx, t, cs, dyn, stored)
		})
	}
}

func installCRD(ctx context.Context, t *testing.T, dyn dynamic.Interface, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &u.Object); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(crdGVR).Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("install %s: %v", file, err)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := dyn.Resource(crdGVR).Get(ctx, u.GetName(), metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			m := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("CRD %s not established: %v", u.GetName(), err)
	}
}

// createChildren submits every built object and waits for the StatefulSet's
// pod, which Pod Security admission must let through.
func createChildren(ctx context.Context, t *testing.T, cs kubernetes.Interface, dyn dynamic.Interface, ds *dittov1alpha1.DittoServer) {
	t.Helper()
	in := inputsFor(ds)
	cfg, err := ConfigYAML(ds, in)
	if err != nil {
		t.Fatal(err)
	}
	create := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("create %s: %v", what, err)
		}
	}
	for _, s := range generatedCredentials(ds, "x", "y") {
		_, err := cs.CoreV1().Secrets(ds.Namespace).Create(ctx, s, metav1.CreateOptions{})
		create("Secret "+s.Name, err)
	}
	_, err = cs.CoreV1().ConfigMaps(ds.Namespace).Create(ctx, ConfigMap(ds, cfg), metav1.CreateOptions{})
	create("ConfigMap", err)
	for _, svc := range services(ds) {
		_, err := cs.CoreV1().Services(ds.Namespace).Create(ctx, svc, metav1.CreateOptions{})
		create("Service "+svc.Name, err)
	}
	if p := perconaOf(ds); p != nil {
		_, err := dyn.Resource(PerconaGVR).Namespace(ds.Namespace).Create(ctx, p, metav1.CreateOptions{})
		create("PerconaPGCluster", err)
	}
	sts, err := StatefulSet(ds, in, ConfigHash(cfg, in.SecretVersions))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().StatefulSets(ds.Namespace).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create StatefulSet: %v", err)
	}
	podName := sts.Name + "-0"
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Pods(ds.Namespace).Get(ctx, podName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		events, _ := cs.CoreV1().Events(ds.Namespace).List(ctx, metav1.ListOptions{})
		var msgs bytes.Buffer
		for _, e := range events.Items {
			if e.InvolvedObject.Name == sts.Name {
				fmt.Fprintf(&msgs, "%s %s: %s\n", e.Type, e.Reason, e.Message)
			}
		}
		t.Fatalf("pod %s not created: %v\n%s", podName, err, msgs.String())
	}
}
