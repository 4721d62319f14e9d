package serverstate

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/ from the builders' output")

// The PersistentVolume and claim of a share, against golden files
// (go test -run TestShareVolumeGolden ./pkg/controller/serverstate -update).
func TestShareVolumeGolden(t *testing.T) {
	for name, tc := range map[string]struct {
		ds    *dittov1alpha1.DittoServer
		share *dittov1alpha1.DittoShare
	}{
		"volume-quota": {availableServer(), dittoShare("projects", func(s *dittov1alpha1.DittoShare) {
			s.Spec.Quota = ptr.To(resource.MustParse("10Gi"))
			s.Spec.Volume = &dittov1alpha1.ShareVolume{ClaimName: "projects"}
		})},
		"volume-readonly-options": {availableServer(func(ds *dittov1alpha1.DittoServer) { ds.Spec.NFSPort = ptr.To[int32](20490) }),
			dittoShare("archive", func(s *dittov1alpha1.DittoShare) {
				s.Spec.ReadOnly, s.Spec.ExportName = true, "/old-archive"
				s.Spec.Volume = &dittov1alpha1.ShareVolume{ClaimName: "archive.data", MountOptions: []string{"lock", "rsize=1048576", "vers=3"}}
			})},
	} {
		t.Run(name, func(t *testing.T) {
			pv := newSharePersistentVolume(tc.share, tc.ds, "10.96.0.42")
			pvc := newShareClaim(tc.share)
			var buf bytes.Buffer
			for _, obj := range []any{pv, pvc} {
				out, err := yaml.Marshal(obj)
				if err != nil {
					t.Fatal(err)
				}
				buf.WriteString("---\n")
				buf.Write(out)
			}
			path := filepath.Join("testdata", name+".yaml")
			if *updateGolden {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from the builders' output:\n%s", path, buf.String())
			}
			// Invariants the golden files must keep, whatever they say.
			if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.Name != pvc.Name || pv.Spec.ClaimRef.Namespace != pvc.Namespace ||
				pvc.Spec.VolumeName != pv.Name || pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "" || pv.Spec.StorageClassName != "" {
				t.Errorf("the PV and the claim must be pre-bound to each other with storageClassName \"\": %+v / %+v", pv.Spec, pvc.Spec)
			}
			if pv.Spec.PersistentVolumeReclaimPolicy != "Retain" || pv.Spec.NFS.Path != ExportName(tc.share) || pv.Spec.NFS.Server != "10.96.0.42" {
				t.Errorf("PV source/reclaim = %+v %s", pv.Spec.NFS, pv.Spec.PersistentVolumeReclaimPolicy)
			}
			if !madeFor(pv, tc.share) || !madeFor(pvc, tc.share) || len(pv.OwnerReferences) != 0 {
				t.Errorf("PV and claim must carry the share's labels and no owner reference")
			}
		})
	}
}

func TestNFSMountOptions(t *testing.T) {
	for _, tc := range []struct {
		extra []string
		want  []string
	}{
		{nil, []string{"nfsvers=3", "proto=tcp", "port=2049", "mountport=2049", "mountproto=tcp", "nolock"}},
		{[]string{"lock"}, []string{"nfsvers=3", "proto=tcp", "port=2049", "mountport=2049", "mountproto=tcp", "lock"}},
		{[]string{"vers=4.1", "hard"}, []string{"proto=tcp", "port=2049", "mountport=2049", "mountproto=tcp", "nolock", "vers=4.1", "hard"}},
		{[]string{"port=12049"}, []string{"nfsvers=3", "proto=tcp", "mountport=2049", "mountproto=tcp", "nolock", "port=12049"}},
	} {
		if got := NFSMountOptions(2049, tc.extra); !slices.Equal(got, tc.want) {
			t.Errorf("NFSMountOptions(2049, %q) = %q, want %q", tc.extra, got, tc.want)
		}
	}
}
