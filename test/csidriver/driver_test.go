package csidriver

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var mountCap = []*csi.VolumeCapability{{
	AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
	AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
}}

func newTestDriver(t *testing.T, fail string) *Driver {
	t.Helper()
	cfg := Config{NodeID: "n", Root: t.TempDir()}
	if fail != "" {
		cfg.FailSnapshots = regexp.MustCompile(fail)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func createVolume(t *testing.T, d *Driver, name string, src *csi.VolumeContentSource) *csi.Volume {
	t.Helper()
	resp, err := d.CreateVolume(context.Background(), &csi.CreateVolumeRequest{
		Name: name, VolumeCapabilities: mountCap, VolumeContentSource: src,
		CapacityRange: &csi.CapacityRange{RequiredBytes: 1 << 20},
	})
	if err != nil {
		t.Fatalf("CreateVolume %s: %v", name, err)
	}
	return resp.GetVolume()
}

// A snapshot holds the files at its instant, a restore copies them with
// their modes, and later writes to the source do not reach either.
func TestSnapshotRestoreKeepsTheInstant(t *testing.T) {
	ctx := context.Background()
	d := newTestDriver(t, "")
	v := createVolume(t, d, "pvc-1", nil)
	dir := d.VolumeDir(v.GetVolumeId())
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "f"), []byte("v1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/f", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	snap, err := d.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap-1", SourceVolumeId: v.GetVolumeId()})
	if err != nil {
		t.Fatal(err)
	}
	if !snap.GetSnapshot().GetReadyToUse() || snap.GetSnapshot().GetSizeBytes() != 1<<20 {
		t.Errorf("snapshot = %v, want ready with the source's capacity", snap.GetSnapshot())
	}
	again, err := d.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap-1", SourceVolumeId: v.GetVolumeId()})
	if err != nil || again.GetSnapshot().GetSnapshotId() != snap.GetSnapshot().GetSnapshotId() {
		t.Errorf("retried CreateSnapshot = %v, %v; want the same snapshot", again, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "f"), []byte("v2"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := createVolume(t, d, "pvc-2", &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
		Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: snap.GetSnapshot().GetSnapshotId()}}})
	rdir := d.VolumeDir(r.GetVolumeId())
	data, err := os.ReadFile(filepath.Join(rdir, "link"))
	if err != nil || string(data) != "v1" {
		t.Errorf("restored file through the link = %q, %v; want v1", data, err)
	}
	info, err := os.Stat(filepath.Join(rdir, "sub"))
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("restored dir mode = %v, %v; want 0700", info.Mode(), err)
	}
}

func TestInjectedSnapshotFailures(t *testing.T) {
	ctx := context.Background()
	d := newTestDriver(t, `^prod/nightly-`)
	v := createVolume(t, d, "pvc-1", nil)
	cases := []struct {
		name   string
		params map[string]string
		fail   bool
	}{
		{"by VolumeSnapshot name", map[string]string{paramSnapshotNamespace: "prod", paramSnapshotName: "nightly-1"}, true},
		{"other namespace", map[string]string{paramSnapshotNamespace: "dev", paramSnapshotName: "nightly-1"}, false},
		{"by class parameter", map[string]string{FailParameter: "true"}, true},
	}
	for i, tc := range cases {
		_, err := d.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{
			Name: "s" + string(rune('a'+i)), SourceVolumeId: v.GetVolumeId(), Parameters: tc.params,
		})
		if got := status.Code(err) == codes.FailedPrecondition; got != tc.fail {
			t.Errorf("%s: err = %v, want failure %v", tc.name, err, tc.fail)
		}
	}
}

func TestMountinfoHas(t *testing.T) {
	info := "36 35 98:0 /mnt1 /mnt/with\\040space rw - ext3 /dev/root rw\n37 35 98:0 / /plain rw - ext3 /dev/root rw\n"
	for path, want := range map[string]bool{"/mnt/with space": true, "/plain": true, "/pla": false, "/mnt1": false} {
		if got := mountinfoHas(info, path); got != want {
			t.Errorf("mountinfoHas(%q) = %v, want %v", path, got, want)
		}
	}
}
