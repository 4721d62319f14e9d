package serverstate

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

func TestPrivateEndpoint(t *testing.T) {
	for endpoint, want := range map[string]bool{
		"http://minio.minio.svc:9000":               true,
		"http://minio.minio.svc.cluster.local:9000": true,
		"http://minio:9000":                         true,
		"http://127.0.0.1:9000":                     true,
		"http://[::1]:9000":                         true,
		"http://10.1.2.3":                           true,
		"http://192.168.1.10:9000":                  true,
		"localhost:9000":                            true,
		"https://nas.home.arpa":                     true,
		"https://s3.eu-west-1.amazonaws.com":        false,
		"https://storage.googleapis.com":            false,
		"https://8.8.8.8":                           false,
		"":                                          false,
	} {
		if got := PrivateEndpoint(endpoint); got != want {
			t.Errorf("PrivateEndpoint(%q) = %v, want %v", endpoint, got, want)
		}
	}
}

func TestReportedQuota(t *testing.T) {
	oneG := resource.MustParse("1G")
	for n, want := range map[int64]string{
		0:            "",
		512:          "512B",
		10 << 30:     "10.00GiB",
		1536 << 20:   "1.50GiB",
		oneG.Value(): "953.67MiB",
	} {
		if got := reportedQuota(n); got != want {
			t.Errorf("reportedQuota(%d) = %q, want %q", n, got, want)
		}
	}
	// A quota that is not a round number is read back approximately: no update.
	want := dfsapi.Share{QuotaBytes: oneG.Value()}
	reported := 953.67 * float64(1<<20)
	got := dfsapi.Share{QuotaBytes: int64(reported)}
	if shareDiffers(want, got) {
		t.Errorf("a quota read back rounded must not differ")
	}
	if !shareDiffers(want, dfsapi.Share{QuotaBytes: 2 << 30}) {
		t.Errorf("another quota must differ")
	}
}

func TestDesiredStores(t *testing.T) {
	creds := &dittov1alpha1.S3CredentialsSecretRef{SecretName: "s"}
	for _, tc := range []struct {
		name       string
		s3         *dittov1alpha1.S3Spec
		wantStores int
		wantLocal  string
		wantReason string
	}{
		{name: "no S3", wantStores: 2, wantLocal: resources.LocalBlockStorePath()},
		{name: "S3", s3: &dittov1alpha1.S3Spec{Bucket: "b", CredentialsSecretRef: creds}, wantStores: 3, wantLocal: resources.LocalBlockStorePath()},
		{name: "S3 without bucket", s3: &dittov1alpha1.S3Spec{CredentialsSecretRef: creds},
			wantStores: 2, wantLocal: resources.LocalBlockStorePath(), wantReason: ReasonInvalidSpec},
		{name: "S3 without credentials", s3: &dittov1alpha1.S3Spec{Bucket: "b"},
			wantStores: 2, wantLocal: resources.LocalBlockStorePath(), wantReason: ReasonInvalidSpec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := availableServer(func(ds *dittov1alpha1.DittoServer) { ds.Spec.S3 = tc.s3 })
			d := DesiredState(Inputs{Server: ds})
			if len(d.Stores) != tc.wantStores {
				t.Fatalf("%d stores, want %d: %+v", len(d.Stores), tc.wantStores, d.Stores)
			}
			if got := d.Stores[1].Store.Config["path"]; got != tc.wantLocal {
				t.Errorf("local block store path = %v, want %v", got, tc.wantLocal)
			}
			if (d.StoresProblem == nil) != (tc.wantReason == "") || (d.StoresProblem != nil && d.StoresProblem.Reason != tc.wantReason) {
				t.Errorf("problem = %+v, want reason %q", d.StoresProblem, tc.wantReason)
			}
			for _, s := range d.Stores {
				if _, ok := s.Store.Config[s3SecretAccessKeyKey]; ok {
					t.Errorf("the desired state must hold no secret: %+v", s.Store.Config)
				}
			}
		})
	}
}

func TestDesiredSharesAndUsers(t *testing.T) {
	ds := availableServer()
	older := dittoShare("a", func(s *dittov1alpha1.DittoShare) { s.Spec.ExportName = "/data" })
	newer := dittoShare("b", func(s *dittov1alpha1.DittoShare) {
		s.Spec.ExportName = "/data"
		s.CreationTimestamp = metav1.NewTime(t0.Add(1))
	})
	plain := dittoShare("plain", func(s *dittov1alpha1.DittoShare) {
		s.Spec.Permissions = []dittov1alpha1.SharePermission{
			{User: "u", Level: dittov1alpha1.PermissionRead}, {User: "u", Level: dittov1alpha1.PermissionAdmin}, {Group: "g", Level: dittov1alpha1.PermissionRead}}
	})
	user := dittoUser("u", func(u *dittov1alpha1.DittoUser) { u.Spec.Groups = []string{"z", "g"}; u.Spec.UID = ptr.To[int64](5) })
	admin := dittoUser("root", func(u *dittov1alpha1.DittoUser) { u.Spec.Username = "admin" })
	d := DesiredState(Inputs{Server: ds, Shares: []*dittov1alpha1.DittoShare{newer, plain, older}, Users: []*dittov1alpha1.DittoUser{user, admin}})

	if len(d.Shares) != 2 || d.Shares[0].Obj.Name != "a" || d.Shares[1].Share.Name != "/plain" {
		t.Fatalf("shares = %+v", d.Shares)
	}
	if p, ok := d.Rejected[newer.UID]; !ok || p.Reason != ReasonNameConflict {
		t.Errorf("the newer claim on /data must be rejected: %+v", d.Rejected)
	}
	if p := d.Shares[1].Permissions; len(p) != 2 || p[0] != (dfsapi.Permission{Type: "group", Name: "g", Level: "read"}) || p[1].Level != "admin" {
		t.Errorf("permissions = %+v (one per principal, the last wins)", p)
	}
	if d.Shares[0].Share.DefaultPermission != "none" || d.Shares[0].Share.MetadataStore != resources.MetadataStoreName {
		t.Errorf("share defaults = %+v", d.Shares[0].Share)
	}
	if p, ok := d.Rejected[admin.UID]; !ok || p.Reason != ReasonReservedName {
		t.Errorf("admin must be reserved: %+v", d.Rejected)
	}
	if len(d.Users) != 1 || d.Users[0].User.Role != "user" || *d.Users[0].User.UID != 5 || d.Users[0].User.Groups[0] != "g" {
		t.Errorf("users = %+v", d.Users)
	}
	if len(d.Groups) != 2 || d.Groups[0] != "g" || d.Groups[1] != "z" {
		t.Errorf("groups = %v", d.Groups)
	}
}
