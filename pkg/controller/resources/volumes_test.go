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
		layout StorageLayout
		mutate func(*dittov1alpha1.DittoServer)
		claims string // name=size@class per claim
		mounts string // claim[/subPath]:path per data mount, after config:/config
	}{
		{"defaults", "", func(*dittov1alpha1.DittoServer) {},
			"[metadata=10Gi@ content=5Gi@]",
			"[metadata:/data/metadata metadata/controlplane:/data/controlplane content:/data/content]"},
		{"the zero layout is the two-volume one", LayoutTwoVolumes, func(*dittov1alpha1.DittoServer) {},
			"[metadata=10Gi@ content=5Gi@]",
			"[metadata:/data/metadata metadata/controlplane:/data/controlplane content:/data/content]"},
		{"content sized, class set", "", func(ds *dittov1alpha1.DittoServer) {
			ds.Spec.Storage.ContentSize, ds.Spec.Storage.StorageClassName = &content, ptr.To("fast")
		}, "[metadata=10Gi@fast content=100Gi@fast]",
			"[metadata:/data/metadata metadata/controlplane:/data/controlplane content:/data/content]"},
		{"content sized by cacheSize when contentSize is unset", "", func(ds *dittov1alpha1.DittoServer) {
			ds.Spec.Storage.CacheSize = ptr.To(resource.MustParse("20Gi"))
		}, "[metadata=10Gi@ content=20Gi@]",
			"[metadata:/data/metadata metadata/controlplane:/data/controlplane content:/data/content]"},
		{"content of size 0 means cacheSize", "", func(ds *dittov1alpha1.DittoServer) { ds.Spec.Storage.ContentSize = &zero },
			"[metadata=10Gi@ content=5Gi@]",
			"[metadata:/data/metadata metadata/controlplane:/data/controlplane content:/data/content]"},
		{"controlPlaneSize claims nothing on new servers", "", func(ds *dittov1alpha1.DittoServer) {
			ds.Spec.Storage.ControlPlaneSize = ptr.To(resource.MustParse("3Gi"))
		}, "[metadata=10Gi@ content=5Gi@]",
			"[metadata:/data/metadata metadata/controlplane:/data/controlplane content:/data/content]"},
		{"PostgreSQL: no control-plane directory", "", postgres,
			"[metadata=10Gi@ content=5Gi@]",
			"[metadata:/data/metadata content:/data/content]"},
		{"legacy defaults", LayoutLegacy, func(*dittov1alpha1.DittoServer) {},
			"[metadata=10Gi@ cache=5Gi@ controlplane=1Gi@]",
			"[metadata:/data/metadata cache:/data/cache controlplane:/data/controlplane]"},
		{"legacy with content", LayoutLegacy, func(ds *dittov1alpha1.DittoServer) {
			ds.Spec.Storage.ContentSize, ds.Spec.Storage.StorageClassName = &content, ptr.To("fast")
		}, "[metadata=10Gi@fast content=100Gi@fast cache=5Gi@fast controlplane=1Gi@fast]",
			"[metadata:/data/metadata content:/data/content cache:/data/cache controlplane:/data/controlplane]"},
		{"legacy content of size 0 means none", LayoutLegacy, func(ds *dittov1alpha1.DittoServer) { ds.Spec.Storage.ContentSize = &zero },
			"[metadata=10Gi@ cache=5Gi@ controlplane=1Gi@]",
			"[metadata:/data/metadata cache:/data/cache controlplane:/data/controlplane]"},
		{"legacy with PostgreSQL keeps its controlplane claim mounted", LayoutLegacy, postgres,
			"[metadata=10Gi@ cache=5Gi@ controlplane=1Gi@]",
			"[metadata:/data/metadata cache:/data/cache controlplane:/data/controlplane]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sts := mustStatefulSet(t, newDS(tc.mutate), Inputs{Layout: tc.layout})
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
			if got := StorageLayoutOf(sts); got != layoutOrCurrent(tc.layout) {
				t.Errorf("StorageLayoutOf(built) = %s, want %s: the builder and the layout detection disagree", got, layoutOrCurrent(tc.layout))
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

func layoutOrCurrent(l StorageLayout) StorageLayout {
	if l == "" {
		return LayoutTwoVolumes
	}
	return l
}

// TestStorePathsOnClaims: each store path the operator declares through the
// server's REST API, and the SQLite file, is under a mount of one of the
// server's claims, in both layouts.
func TestStorePathsOnClaims(t *testing.T) {
	for _, layout := range []StorageLayout{LayoutTwoVolumes, LayoutLegacy} {
		for _, content := range []*resource.Quantity{nil, ptr.To(resource.MustParse("50Gi"))} {
			ds := newDS(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Storage.ContentSize = content })
			sts := mustStatefulSet(t, ds, Inputs{Layout: layout})
			for what, p := range map[string]string{
				"metadata store":    MetadataStorePath(),
				"local block store": LocalBlockStorePath(sts),
				"SQLite database":   SQLitePath(ds),
			} {
				if m := mountOf(sts, p); m == nil || m.Name == volumeConfig {
					t.Errorf("%s, content %v: %s %s is on no claim", layout, content, what, p)
				}
			}
		}
	}
	legacy := mustStatefulSet(t, newDS(), Inputs{Layout: LayoutLegacy})
	if got := LocalBlockStorePath(legacy); got != "/data/cache/blocks" {
		t.Errorf("legacy server without content: block store at %s, want /data/cache/blocks (where it has been)", got)
	}
	current := mustStatefulSet(t, newDS(), Inputs{})
	if got := LocalBlockStorePath(current); got != "/data/content/blocks" {
		t.Errorf("new server: block store at %s, want /data/content/blocks", got)
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
		content, cache string // "" = unset
		want           string
	}{
		{"", "", "4Gi"},          // default 5Gi content volume, 1 GiB headroom
		{"", "20Gi", "18Gi"},     // 10% headroom
		{"100Gi", "5Gi", "90Gi"}, // contentSize wins over cacheSize
		{"1Gi", "", "512Mi"},     // at most half
		{"2Gi", "", "1Gi"},
	} {
		ds := newDS(func(ds *dittov1alpha1.DittoServer) {
			if tc.content != "" {
				ds.Spec.Storage.ContentSize = ptr.To(resource.MustParse(tc.content))
			}
			if tc.cache != "" {
				ds.Spec.Storage.CacheSize = ptr.To(resource.MustParse(tc.cache))
			}
		})
		want := resource.MustParse(tc.want)
		if got := RemoteCacheSize(ds); got != want.Value() {
			t.Errorf("contentSize %q cacheSize %q: bound %d, want %s (%d)", tc.content, tc.cache, got, tc.want, want.Value())
		}
	}
}
