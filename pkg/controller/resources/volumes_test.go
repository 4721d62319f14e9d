package resources

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// TestVolumes: which claims a server gets, and where each is mounted. New
// servers claim a metadata and a content volume; the metadata volume also
// holds the SQLite database (mounted again at /data/controlplane). Servers
// created with the legacy layout keep their claims and mounts as they are.
func TestVolumes(t *testing.T) {
	content := resource.MustParse("100Gi")
	zero := resource.MustParse("0")
	postgres := func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.Database = &dittov1alpha1.DatabaseSpec{Type: dittov1alpha1.DatabasePostgres,
			PostgresSecretRef: &corev1.LocalObjectReference{Name: "pg"}}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*dittov1alpha1.DittoServer)
		claims string // name=size@class per claim
		mounts string // claim[/subPath]:path per data mount, after config:/config
	}{
		{"defaults", func(*dittov1alpha1.DittoServer) {},
			"[metadata=10Gi@ content=5Gi@]",
			"[metadata:/data/metadata metadata/controlplane:/data/controlplane content:/data/content]"},
		{"content sized, class set", func(ds *dittov1alpha1.DittoServer) {
			ds.Spec.Storage.ContentSize, ds.Spec.Storage.StorageClassName = &content, ptr.To("fast")
		}, "[metadata=10Gi@fast content=100Gi@fast]",
			"[metadata:/data/metadata metadata/controlplane:/data/controlplane content:/data/content]"},
		{"content of size 0 means the default", func(ds *dittov1alpha1.DittoServer) { ds.Spec.Storage.ContentSize = &zero },
			"[metadata=10Gi@ content=5Gi@]",
			"[metadata:/data/metadata metadata/controlplane:/data/controlplane content:/data/content]"},
		{"PostgreSQL: no control-plane directory", postgres,
			"[metadata=10Gi@ content=5Gi@]",
			"[metadata:/data/metadata content:/data/content]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sts := mustStatefulSet(t, newDS(tc.mutate), Inputs{})
			var claims, mounts []string
			for _, c := range sts.Spec.VolumeClaimTemplates {
				q := c.Spec.Resources.Requests[corev1.ResourceStorage]
				claims = append(claims, fmt.Sprintf("%s=%s@%s", c.Name, q.String(), ptr.Deref(c.Spec.StorageClassName, "")))
				if fmt.Sprint(c.Spec.AccessModes) != "[ReadWriteOnce]" {
					t.Errorf("%s access modes %v", c.Name, c.Spec.AccessModes)
				}
			}
			if fmt.Sprint(claims) != tc.claims {
				t.Errorf("claims %v, want %s", claims, tc.claims)
			}
			ms := sts.Spec.Template.Spec.Containers[0].VolumeMounts
			if len(ms) == 0 || ms[0].Name != volumeConfig || ms[0].MountPath != ConfigDir || !ms[0].ReadOnly {
				t.Fatalf("first mount %v, want the configuration read-only at %s", ms, ConfigDir)
			}
			for _, m := range ms[1:] {
				if m.Name == volumeTLS {
					continue // the API's certificate (TestTLS), not data
				}
				if m.ReadOnly {
					t.Errorf("%s mounted read-only at %s", m.Name, m.MountPath)
				}
				mounts = append(mounts, m.Name+dirIfSet(m.SubPath)+":"+m.MountPath)
			}
			if fmt.Sprint(mounts) != tc.mounts {
				t.Errorf("mounts %v, want %s", mounts, tc.mounts)
			}
		})
	}
}

func dirIfSet(s string) string {
	if s == "" {
		return ""
	}
	return "/" + s
}

// TestStorePathsOnClaims: each store path the operator declares through the
// server's REST API, and the SQLite file, is under a mount of one of the
// server's claims.
func TestStorePathsOnClaims(t *testing.T) {
	for _, content := range []*resource.Quantity{nil, ptr.To(resource.MustParse("50Gi"))} {
		ds := newDS(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Storage.ContentSize = content })
		sts := mustStatefulSet(t, ds, Inputs{})
		for what, p := range map[string]string{
			"metadata store":    MetadataStorePath(),
			"local block store": LocalBlockStorePath(),
			"SQLite database":   SQLitePath(ds),
		} {
			if m := mountOf(sts, p); m == nil || m.Name == volumeConfig {
				t.Errorf("content %v: %s %s is on no claim", content, what, p)
			}
		}
	}
	if got := LocalBlockStorePath(); got != "/data/content/blocks" {
		t.Errorf("block store at %s, want /data/content/blocks", got)
	}
}

// mountOf is the server container's mount holding path p (the deepest one).
func mountOf(sts *appsv1.StatefulSet, p string) *corev1.VolumeMount {
	var best *corev1.VolumeMount
	for i, m := range sts.Spec.Template.Spec.Containers[0].VolumeMounts {
		if len(p) > len(m.MountPath) && p[:len(m.MountPath)+1] == m.MountPath+"/" &&
			(best == nil || len(m.MountPath) > len(best.MountPath)) {
			best = &sts.Spec.Template.Spec.Containers[0].VolumeMounts[i]
		}
	}
	return best
}

// TestRemoteCacheSize: the write-through cache bound leaves headroom on the
// content volume for the append log and in-flight writes.
func TestRemoteCacheSize(t *testing.T) {
	for _, tc := range []struct {
		content string // "" = unset
		want    string
	}{
		{"", "4Gi"},      // default 5Gi content volume, 1 GiB headroom
		{"20Gi", "18Gi"}, // 10% headroom
		{"100Gi", "90Gi"},
		{"1Gi", "512Mi"}, // at most half
		{"2Gi", "1Gi"},
	} {
		ds := newDS(func(ds *dittov1alpha1.DittoServer) {
			if tc.content != "" {
				ds.Spec.Storage.ContentSize = ptr.To(resource.MustParse(tc.content))
			}
		})
		want := resource.MustParse(tc.want)
		if got := RemoteCacheSize(ds); got != want.Value() {
			t.Errorf("contentSize %q: bound %d, want %s (%d)", tc.content, got, tc.want, want.Value())
		}
	}
}
