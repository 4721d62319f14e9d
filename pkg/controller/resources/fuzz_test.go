package resources

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/randfill"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// FuzzBuilders feeds generated DittoServers to every builder. Any spec at
// all must not make a builder panic. The same spec brought into the CRD's
// domain (what the API server admits) must build objects that pass the
// checks of checkAll: names, labels, ports, env names, mounts, probes, the
// restricted Pod Security Standard, and a config.yaml without secrets.
//
//	go test ./pkg/controller/resources -run '^$' -fuzz FuzzBuilders -fuzztime 60s
func FuzzBuilders(f *testing.F) {
	r := rand.New(rand.NewSource(1))
	for _, n := range []int{0, 1, 8, 32, 64, 128, 256, 512, 1024, 4096} {
		seed := make([]byte, n)
		r.Read(seed)
		f.Add(seed)
	}
	f.Add([]byte("dittofs"))
	f.Add(bytes.Repeat([]byte{0xff}, 300))
	schema := loadCRD(f)

	f.Fuzz(func(t *testing.T, data []byte) {
		wild := &dittov1alpha1.DittoServer{}
		randfill.NewFromGoFuzz(data).NilChance(0.3).NumElements(0, 3).MaxDepth(8).
			Funcs(fillQuantity).Fill(wild)
		buildEverything(t, wild)

		ds := admissible(wild.DeepCopy(), rand.New(rand.NewSource(int64(len(data))+int64(sum(data)))))
		raw := map[string]any{}
		b, _ := json.Marshal(ds)
		_ = json.Unmarshal(b, &raw)
		raw["apiVersion"], raw["kind"] = "dittofs.dittofs.com/v1alpha1", "DittoServer"
		if errs := schema.admit(raw); len(errs) > 0 {
			t.Fatalf("the fuzz domain drifted from the CRD; rejected:\n%s\n%s", strings.Join(errs, "\n"), b)
		}
		if err := ValidateName(ds); err != nil {
			t.Fatal(err)
		}
		in := inputsFor(ds)
		cfg, err := ConfigYAML(ds, in)
		if err != nil {
			t.Fatal(err)
		}
		sts, err := StatefulSet(ds, in, ConfigHash(cfg, in.SecretVersions))
		if err != nil {
			if !errors.Is(err, ErrGracePeriodTooShort) || ds.Spec.TerminationGracePeriodSeconds == nil {
				t.Fatalf("StatefulSet: %v", err)
			}
			return
		}
		checkAll(t, ds, built{config: cfg, sts: sts, services: services(ds), percona: perconaOf(ds)})
		if again, _ := ConfigYAML(ds.DeepCopy(), in); !bytes.Equal(cfg, again) {
			t.Error("config.yaml is not deterministic")
		}
	})
}

// buildEverything calls every builder and defaulting function on ds.
func buildEverything(t *testing.T, ds *dittov1alpha1.DittoServer) {
	defer func() {
		if r := recover(); r != nil {
			spec, _ := json.Marshal(ds)
			t.Fatalf("panic: %v\nDittoServer: %s", r, spec)
		}
	}()
	_, _ = Labels(ds, ComponentServer), OwnerReference(ds)
	_, _, _, _, _ = Replicas(ds), APIPort(ds), MetricsPort(ds), NFSPort(ds), SMBPort(ds)
	_, _, _, _ = ShutdownTimeout(ds), PreStopDelaySeconds(ds), UsesPostgres(ds), ImagePullPolicy(ds)
	_, _ = TerminationGracePeriodSeconds(ds)
	_ = ValidateName(ds)
	_ = OperatorSecret(ds, "password", "x")
	_ = generatedCredentials(ds, "x", "y")
	for _, in := range []Inputs{{}, inputsFor(ds)} {
		cfg, _ := ConfigYAML(ds, in)
		_ = ConfigMap(ds, cfg)
		_, _ = StatefulSet(ds, in, ConfigHash(cfg, in.SecretVersions))
	}
	_ = services(ds)
	_ = MetricsService(ds)
	p := PerconaCluster(ds)
	_ = PerconaState(p.DeepCopy())
	if _, err := p.MarshalJSON(); err != nil {
		t.Errorf("PerconaPGCluster does not serialise: %v", err)
	}
}

// fillQuantity: randfill cannot set a Quantity's unexported fields.
func fillQuantity(q *resource.Quantity, c randfill.Continue) {
	*q = *resource.NewQuantity(c.Int63n(1<<42)-1<<20, resource.BinarySI)
}

func sum(b []byte) (s int) {
	for _, x := range b {
		s += int(x)
	}
	return s
}

// durationIn maps d into [lo, hi].
func durationIn(d *metav1.Duration, lo, hi int64) *metav1.Duration {
	if d == nil {
		return nil
	}
	v := d.Duration.Nanoseconds()
	if v < 0 {
		v = -v
	}
	return &metav1.Duration{Duration: dur(lo + v%(hi-lo+1))}
}
