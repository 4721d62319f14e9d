package controller

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
)

// A server to restore from a backup is never created empty.
func TestBootstrapGate(t *testing.T) {
	ds := &dittov1alpha1.DittoServer{}
	ds.Name, ds.Namespace = "fs", "team"
	obs := &observation{}
	if err := bootstrapGate(ds, obs); err != nil || obs.problem != nil {
		t.Fatalf("no bootstrap: %v %+v", err, obs.problem)
	}
	ds.Spec.Bootstrap = &dittov1alpha1.BootstrapSpec{FromBackup: &dittov1alpha1.BackupReference{Name: "b1"}}
	err := bootstrapGate(ds, obs)
	if kit.KindOf(err) != kit.Waiting || obs.problem == nil || obs.problem.reason != ReasonBackupNotReady ||
		!strings.Contains(obs.problem.message, "team/b1") {
		t.Fatalf("bootstrap: %v %+v", err, obs.problem)
	}
	// Past its bootstrap: runs as usual.
	obs = &observation{sts: &appsv1.StatefulSet{}}
	if err := bootstrapGate(ds, obs); err != nil {
		t.Fatalf("existing server held: %v", err)
	}
}
