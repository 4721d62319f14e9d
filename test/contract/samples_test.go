package contract

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

const (
	examplesDir = "../../artifacts/examples"
	// sampleNamespace is where `kubectl apply -f` puts the samples.
	sampleNamespace = "default"
)

// sample is one file of artifacts/examples: its DittoServer, the Secrets
// it ships, as the API server stores them (stringData folded into data), and
// the shares and users it declares on the server.
type sample struct {
	name    string
	ds      *dittov1alpha1.DittoServer
	secrets []*corev1.Secret
	shares  []*dittov1alpha1.DittoShare
	users   []*dittov1alpha1.DittoUser
}

func loadSample(t *testing.T, name string) sample {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(examplesDir, name+".yaml"))
	if err != nil {
		t.Fatalf("sample %s: %v", name, err)
	}
	s := sample{name: name}
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var typeMeta metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &typeMeta); err != nil {
			t.Fatalf("sample %s: %v", name, err)
		}
		switch typeMeta.Kind {
		case "DittoServer":
			ds := &dittov1alpha1.DittoServer{}
			if err := yaml.UnmarshalStrict(doc, ds); err != nil {
				t.Fatalf("sample %s: %v", name, err)
			}
			s.ds = ds
			plainHTTP(ds)
		case "Secret":
			secret := &corev1.Secret{}
			if err := yaml.UnmarshalStrict(doc, secret); err != nil {
				t.Fatalf("sample %s: %v", name, err)
			}
			if secret.Data == nil {
				secret.Data = map[string][]byte{}
			}
			for k, v := range secret.StringData {
				secret.Data[k] = []byte(v)
			}
			secret.StringData = nil
			s.secrets = append(s.secrets, secret)
		case "DittoShare":
			share := &dittov1alpha1.DittoShare{}
			if err := yaml.UnmarshalStrict(doc, share); err != nil {
				t.Fatalf("sample %s: %v", name, err)
			}
			s.shares = append(s.shares, share)
		case "DittoUser":
			user := &dittov1alpha1.DittoUser{}
			if err := yaml.UnmarshalStrict(doc, user); err != nil {
				t.Fatalf("sample %s: %v", name, err)
			}
			s.users = append(s.users, user)
		case "ServiceAccount", "PriorityClass":
			// Placement for the scheduler and the kubelet: nothing the
			// server process reads.
		default:
			t.Fatalf("sample %s: unexpected kind %q", name, typeMeta.Kind)
		}
	}
	if s.ds == nil {
		t.Fatalf("sample %s holds no DittoServer", name)
	}
	objs := append([]metav1.Object{s.ds}, secretObjects(s.secrets)...)
	for _, o := range s.shares {
		objs = append(objs, o)
	}
	for _, o := range s.users {
		objs = append(objs, o)
	}
	for _, obj := range objs {
		if obj.GetNamespace() == "" {
			obj.SetNamespace(sampleNamespace)
		}
	}
	return s
}

// secret returns the sample's Secret called name.
func (s sample) secret(t *testing.T, name string) *corev1.Secret {
	t.Helper()
	for _, secret := range s.secrets {
		if secret.Name == name {
			return secret
		}
	}
	t.Fatalf("sample %s ships no Secret %q", s.name, name)
	return nil
}

// objects are what the cluster holds before the operator runs: the
// sample's Secrets and the StorageClasses it names (a cluster that can run
// the sample has them).
func (s sample) objects() []runtime.Object {
	var out []runtime.Object
	for _, secret := range s.secrets {
		out = append(out, secret.DeepCopy())
	}
	classes := map[string]bool{}
	if n := s.ds.Spec.Storage.StorageClassName; n != nil && *n != "" {
		classes[*n] = true
	}
	if p := s.ds.Spec.Percona; p != nil && p.StorageClassName != nil && *p.StorageClassName != "" {
		classes[*p.StorageClassName] = true
	}
	for _, name := range sortedKeys(classes) {
		out = append(out, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: "example.com/" + name})
	}
	return out
}

// usePortsFreeHere keeps the sample's HTTP ports (API, metrics) when they are
// free on this machine, which shares its network with the server, and moves
// only a port that another process holds to a free one, saying so. The
// adapters' ports (NFS 12049, SMB 1445) are fixed by the server.
func (s sample) usePortsFreeHere(t *testing.T) {
	t.Helper()
	moved := func(what string, port int32) *int32 {
		if portFree(int(port)) {
			return nil
		}
		p, err := proc.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		free := int32(p)
		t.Logf("%s port %d is taken on this machine; running the sample with %d", what, port, free)
		return ptr.To(free)
	}
	if p := moved("API", resources.APIPort(s.ds)); p != nil {
		if s.ds.Spec.ControlPlane == nil {
			s.ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{}
		}
		s.ds.Spec.ControlPlane.Port = p
	}
	if resources.MetricsEnabled(s.ds) {
		if p := moved("metrics", resources.MetricsPort(s.ds)); p != nil {
			s.ds.Spec.Metrics.Port = p
		}
	}
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

func secretObjects(secrets []*corev1.Secret) []metav1.Object {
	out := make([]metav1.Object, len(secrets))
	for i, s := range secrets {
		out[i] = s
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func keys[V any](m map[string]V) string { return strings.Join(sortedKeys(m), ", ") }

// plainHTTP serves a sample's API over plain HTTP unless it sets TLS
// itself: the samples' contract is checked with REST calls and probes that
// read in clear; the certificate the operator issues by default is run by
// the real-dfs tests of pkg/controller/serverstate (TestRealServerIssuedTLS).
func plainHTTP(ds *dittov1alpha1.DittoServer) {
	if cp := ds.Spec.ControlPlane; cp != nil && cp.TLS != nil {
		return
	}
	if ds.Spec.ControlPlane == nil {
		ds.Spec.ControlPlane = &dittov1alpha1.ControlPlaneSpec{}
	}
	ds.Spec.ControlPlane.TLS = &dittov1alpha1.ControlPlaneTLSSpec{Mode: dittov1alpha1.TLSModeDisabled}
}
