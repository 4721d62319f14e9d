package controller

import (
	"bytes"
	"fmt"
	"math/rand"
	"runtime/debug"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/randfill"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// FuzzSync runs the controller's sync on arbitrary stored DittoServers: any
// spec and status at all, with nil pointers where CEL forbids them today
// (an object stored before a rule existed, or written with validation off).
// A pass may fail or wait — it must not panic, and a second pass on what the
// first wrote must not either.
//
//	go test ./pkg/controller -run '^$' -fuzz FuzzSync -fuzztime 60s
func FuzzSync(f *testing.F) {
	r := rand.New(rand.NewSource(2))
	for _, n := range []int{0, 1, 8, 32, 64, 128, 256, 512, 1024, 4096} {
		seed := make([]byte, n)
		r.Read(seed)
		f.Add(seed)
	}
	f.Add(bytes.Repeat([]byte{0xff}, 300))
	f.Add(bytes.Repeat([]byte{0x00}, 300))

	f.Fuzz(func(t *testing.T, data []byte) {
		stored := &dittov1alpha1.DittoServer{}
		randfill.NewFromGoFuzz(data).NilChance(0.4).NumElements(0, 2).MaxDepth(8).
			Funcs(func(q *resource.Quantity, c randfill.Continue) {
				*q = *resource.NewQuantity(c.Int63n(1<<42)-1<<20, resource.BinarySI)
			}, func(tm *metav1.Time, c randfill.Continue) {
				*tm = metav1.NewTime(t0.Add(-time.Duration(c.Int63n(1 << 40))))
			}).Fill(&stored.Spec)
		randfill.NewFromGoFuzz(append([]byte{1}, data...)).NilChance(0.5).NumElements(0, 2).MaxDepth(4).
			Funcs(func(tm *metav1.Time, c randfill.Continue) { *tm = metav1.NewTime(t0) }).Fill(&stored.Status)
		steer(stored, data)
		stored.ObjectMeta = newDittoServer().ObjectMeta
		if len(data) > 0 && data[0]&1 == 1 {
			stored.Finalizers = []string{Finalizer}
		}
		if len(data) > 0 && data[0]&2 == 2 {
			stored.DeletionTimestamp = &metav1.Time{Time: t0}
			stored.Finalizers = []string{Finalizer}
		}
		objects := []runtime.Object{stored, postgresSecret("nas-postgres-pguser-dittofs"),
			newSecret("x", map[string]string{"x": "0123456789abcdef0123456789abcdef0123456789"})}
		f := newFixture(t, len(data)%3 != 0, objects...)
		for pass := 1; pass <= 2; pass++ {
			if err := syncNoPanic(f); err != nil {
				t.Fatalf("pass %d on %+v: %v", pass, stored.Spec, err)
			}
			f.catchUp()
		}
	})
}

// syncNoPanic turns a panic of the sync into an error with its stack.
func syncNoPanic(f *fixture) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sync panicked: %v\n%s", r, debug.Stack())
		}
	}()
	_ = f.sync()
	return nil
}

// steer sets, from the fuzz input, the switches random strings and bools
// would rarely hit (postgres, Percona, S3, metrics, SMB, a deletion policy),
// leaving the pointers they guard nil or not as the input has them.
func steer(ds *dittov1alpha1.DittoServer, data []byte) {
	if len(data) < 2 {
		return
	}
	b := data[1]
	if b&1 != 0 {
		if ds.Spec.Database == nil {
			ds.Spec.Database = &dittov1alpha1.DatabaseSpec{}
		}
		ds.Spec.Database.Type = dittov1alpha1.DatabasePostgres
	}
	if b&2 != 0 && ds.Spec.Percona != nil {
		ds.Spec.Percona.Enabled = true
	}
	if b&4 != 0 && ds.Spec.Metrics != nil {
		ds.Spec.Metrics.Enabled = true
	}
	if b&8 != 0 && ds.Spec.SMB != nil {
		ds.Spec.SMB.Enabled = true
	}
	if b&16 != 0 {
		ds.Spec.DeletionPolicy = dittov1alpha1.DeletionDelete
	}
	if b&32 != 0 && ds.Spec.Percona != nil && ds.Spec.Percona.Backup != nil {
		ds.Spec.Percona.Backup.Enabled = true
	}
}

// Stored objects that CEL refuses today give a condition, not a panic.
func TestStoredObjectsCELRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*dittov1alpha1.DittoServer)
		want string // ConfigReady, or "" when the pass may go on
	}{
		{"postgres without postgresSecretRef", func(ds *dittov1alpha1.DittoServer) {
			ds.Spec.Database = &dittov1alpha1.DatabaseSpec{Type: dittov1alpha1.DatabasePostgres}
		}, "ConfigReady=False/InvalidSpec"},
		{"percona enabled with an empty spec", func(ds *dittov1alpha1.DittoServer) {
			ds.Spec.Percona = &dittov1alpha1.PerconaSpec{Enabled: true, Backup: &dittov1alpha1.PerconaBackupSpec{Enabled: true}}
		}, ""},
		{"s3 without credentials", func(ds *dittov1alpha1.DittoServer) { ds.Spec.S3 = &dittov1alpha1.S3Spec{} }, ""},
		{"empty identity, metrics and SMB", func(ds *dittov1alpha1.DittoServer) {
			ds.Spec.Identity = &dittov1alpha1.IdentitySpec{JWT: &dittov1alpha1.JWTSpec{}, Admin: &dittov1alpha1.AdminSpec{}}
			ds.Spec.Metrics = &dittov1alpha1.MetricsSpec{Enabled: true}
			ds.Spec.SMB = &dittov1alpha1.SMBSpec{Enabled: true}
		}, ""},
		{"deleting with deletionPolicy Delete and no status", func(ds *dittov1alpha1.DittoServer) {
			ds.DeletionTimestamp = &metav1.Time{Time: t0}
			ds.Spec.DeletionPolicy = dittov1alpha1.DeletionDelete
			ds.Spec.Percona = &dittov1alpha1.PerconaSpec{}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true, newDittoServer(withFinalizer, tc.mod))
			if err := syncNoPanic(f); err != nil {
				t.Fatal(err)
			}
			if tc.want != "" {
				expectStatus(t, f.dittoServer(), dittov1alpha1.PhaseFailed, tc.want)
			}
		})
	}
}
