package resources

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func mustStatefulSet(t *testing.T, ds *dittov1alpha1.DittoServer, in Inputs) *appsv1.StatefulSet {
	t.Helper()
	sts, err := StatefulSet(ds, in, "hash")
	if err != nil {
		t.Fatal(err)
	}
	return sts
}

func TestStatefulSetShape(t *testing.T) {
	ds := newDS(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Replicas = ptr.To[int32](0) })
	sts := mustStatefulSet(t, ds, Inputs{})
	pod := sts.Spec.Template.Spec
	c := pod.Containers[0]
	for _, check := range []struct {
		what      string
		got, want any
	}{
		{"name", sts.Name, "files"},
		{"replicas", *sts.Spec.Replicas, int32(0)},
		{"serviceName", sts.Spec.ServiceName, "files-headless"},
		{"selector", fmt.Sprint(sts.Spec.Selector.MatchLabels), "map[app.kubernetes.io/instance:files app.kubernetes.io/name:dittofs]"},
		{"config hash", sts.Spec.Template.Annotations[ConfigHashAnnotation], "hash"},
		{"retention", *sts.Spec.PersistentVolumeClaimRetentionPolicy,
			appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: "Retain", WhenScaled: "Retain"}},
		{"container", c.Name, "dittofs"},
		{"command", fmt.Sprint(c.Command, c.Args), "[/app/dfs] [start --foreground --config /config/config.yaml]"},
		{"image", c.Image + " " + string(c.ImagePullPolicy), "marmos91c/dittofs:v0.29.0 IfNotPresent"},
		{"service links", *pod.EnableServiceLinks, false},
		{"no init container without Percona", len(pod.InitContainers), 0},
	} {
		if check.got != check.want {
			t.Errorf("%s = %v, want %v", check.what, check.got, check.want)
		}
	}
}

func TestEnv(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*dittov1alpha1.DittoServer)
		in     Inputs
		want   []string // NAME=secret/key, NAME=secret/key? (optional) or NAME:value
	}{
		{
			name:   "generated Secrets",
			mutate: func(*dittov1alpha1.DittoServer) {},
			want:   []string{"DITTOFS_CONTROLPLANE_SECRET=files-generated/jwt-secret", "DITTOFS_ADMIN_INITIAL_PASSWORD=files-generated/password"},
		},
		{
			name:   "resolved inputs win",
			mutate: func(*dittov1alpha1.DittoServer) {},
			in: Inputs{
				JWTSecret:     corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "a"}, Key: "b"},
				AdminPassword: corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}, Key: "d"},
			},
			want: []string{"DITTOFS_CONTROLPLANE_SECRET=a/b", "DITTOFS_ADMIN_INITIAL_PASSWORD=c/d"},
		},
		{
			name: "S3 with custom keys",
			mutate: func(ds *dittov1alpha1.DittoServer) {
				ds.Spec.S3 = &dittov1alpha1.S3Spec{Region: "us-west-2", CredentialsSecretRef: &dittov1alpha1.S3CredentialsSecretRef{
					SecretName: "s3", AccessKeyIDKey: "id", SecretAccessKeyKey: "key", EndpointKey: "url"}}
			},
			want: []string{"DITTOFS_CONTROLPLANE_SECRET=files-generated/jwt-secret", "DITTOFS_ADMIN_INITIAL_PASSWORD=files-generated/password",
				"AWS_ACCESS_KEY_ID=s3/id", "AWS_SECRET_ACCESS_KEY=s3/key", "AWS_ENDPOINT_URL=s3/url?", "AWS_REGION:us-west-2"},
		},
		{
			name:   "S3 region only, defaulted",
			mutate: func(ds *dittov1alpha1.DittoServer) { ds.Spec.S3 = &dittov1alpha1.S3Spec{} },
			want:   []string{"DITTOFS_CONTROLPLANE_SECRET=files-generated/jwt-secret", "DITTOFS_ADMIN_INITIAL_PASSWORD=files-generated/password", "AWS_REGION:eu-west-1"},
		},
		{
			name: "external PostgreSQL",
			mutate: func(ds *dittov1alpha1.DittoServer) {
				ds.Spec.Database = &dittov1alpha1.DatabaseSpec{Type: dittov1alpha1.DatabasePostgres, PostgresSecretRef: &corev1.LocalObjectReference{Name: "pg"}}
			},
			want: []string{"DITTOFS_CONTROLPLANE_SECRET=files-generated/jwt-secret", "DITTOFS_ADMIN_INITIAL_PASSWORD=files-generated/password",
				"DITTOFS_DATABASE_POSTGRES_HOST=pg/host", "DITTOFS_DATABASE_POSTGRES_PORT=pg/port", "DITTOFS_DATABASE_POSTGRES_USER=pg/user",
				"DITTOFS_DATABASE_POSTGRES_PASSWORD=pg/password", "DITTOFS_DATABASE_POSTGRES_DATABASE=pg/dbname"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sts := mustStatefulSet(t, newDS(tc.mutate), tc.in)
			if got := envList(sts.Spec.Template.Spec.Containers[0].Env); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("env\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func envList(env []corev1.EnvVar) []string {
	var out []string
	for _, e := range env {
		if e.ValueFrom == nil {
			out = append(out, e.Name+":"+e.Value)
			continue
		}
		r := e.ValueFrom.SecretKeyRef
		s := e.Name + "=" + r.Name + "/" + r.Key
		if ptr.Deref(r.Optional, false) {
			s += "?"
		}
		out = append(out, s)
	}
	return out
}

// With Percona, an init container waits, boundedly, for the primary, with
// the Percona user Secret's connection fields.
func TestWaitForPostgres(t *testing.T) {
	ds := newDS(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Percona = &dittov1alpha1.PerconaSpec{Enabled: true} })
	pod := mustStatefulSet(t, ds, Inputs{}).Spec.Template.Spec
	if len(pod.InitContainers) != 1 {
		t.Fatalf("%d init containers", len(pod.InitContainers))
	}
	c := pod.InitContainers[0]
	if c.Name != "wait-for-postgres" || c.Image != "postgres:16-alpine" {
		t.Errorf("%s %s", c.Name, c.Image)
	}
	want := "[PGHOST=files-postgres-pguser-dittofs/host PGPORT=files-postgres-pguser-dittofs/port PGUSER=files-postgres-pguser-dittofs/user " +
		"PGPASSWORD=files-postgres-pguser-dittofs/password PGDATABASE=files-postgres-pguser-dittofs/dbname]"
	if got := fmt.Sprint(envList(c.Env)); got != want {
		t.Errorf("env %s", got)
	}
	script := strings.Join(c.Command, " ")
	for _, s := range []string{"pg_isready", `-ge 60`, "exit 1", "giving up", "--timeout=2"} {
		if !strings.Contains(script, s) {
			t.Errorf("script lacks %q: %s", s, script)
		}
	}
	if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
		t.Errorf("resources %+v", c.Resources)
	}
	if pod.Containers[0].Name != "dittofs" || pod.Containers[0].Env[2].Name != "DITTOFS_DATABASE_POSTGRES_HOST" {
		t.Errorf("server env %v", envList(pod.Containers[0].Env))
	}
}

// The pod spec copies the user's scheduling and image settings without
// sharing memory with the DittoServer.
func TestPassThroughFields(t *testing.T) {
	ds := newDS(func(ds *dittov1alpha1.DittoServer) {
		ds.Spec.NodeSelector = map[string]string{"disk": "ssd"}
		ds.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
		ds.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{}}
		ds.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "registry"}}
		ds.Spec.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}
	})
	pod := mustStatefulSet(t, ds, Inputs{}).Spec.Template.Spec
	if pod.NodeSelector["disk"] != "ssd" || len(pod.Tolerations) != 1 || pod.Affinity == nil || pod.ImagePullSecrets[0].Name != "registry" ||
		pod.Containers[0].Resources.Limits.Memory().String() != "1Gi" {
		t.Errorf("pass-through fields lost: %+v", pod)
	}
	pod.NodeSelector["disk"] = "hdd"
	pod.Tolerations[0].Key = "x"
	pod.ImagePullSecrets[0].Name = "x"
	if ds.Spec.NodeSelector["disk"] != "ssd" || ds.Spec.Tolerations[0].Key != "dedicated" || ds.Spec.ImagePullSecrets[0].Name != "registry" {
		t.Error("the pod spec shares memory with the DittoServer")
	}
}
