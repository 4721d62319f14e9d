package dfs

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "x", "B": "y"}
	for in, want := range map[string]string{
		"$(A)-$(B)": "x-y", "$$(A)": "$(A)", "$(C)": "$(C)", "a$": "a$", "$(A": "$(A", "$A": "$A",
	} {
		if got := expand(in, env); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPodSpec runs a pod spec shaped like a StatefulSet's template (ConfigMap
// volume, claim templates, env from a Secret, named port, declared probes).
func TestPodSpec(t *testing.T) {
	apiPort := freePort(t)
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: path, Port: intstr.FromString("api")}}, PeriodSeconds: 1, TimeoutSeconds: 2, FailureThreshold: 30}
	}
	secretEnv := func(name, key string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "dittofs"}, Key: key}}}
	}
	spec := &corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](65532), RunAsGroup: ptr.To[int64](65532), FSGroup: ptr.To[int64](65532)},
		Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "dittofs-config"}}}}},
		Containers: []corev1.Container{{
			Name: "dittofs", Image: "marmos91c/dittofs:v0.29.0",
			Env: []corev1.EnvVar{
				secretEnv("DITTOFS_CONTROLPLANE_SECRET", "jwt-secret"),
				secretEnv("DITTOFS_ADMIN_INITIAL_PASSWORD", "admin-password"),
				{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				{Name: "DITTOFS_LOGGING_LEVEL", Value: "DEBUG"},
			},
			Ports:          []corev1.ContainerPort{{Name: "api", ContainerPort: int32(apiPort)}, {Name: "nfs", ContainerPort: 12049}},
			StartupProbe:   probe("/health"),
			LivenessProbe:  probe("/health"),
			ReadinessProbe: probe("/health/ready"),
			VolumeMounts: []corev1.VolumeMount{
				{Name: "config", MountPath: "/config", ReadOnly: true},
				{Name: "metadata", MountPath: "/data/metadata"},
				{Name: "content", MountPath: "/data/content"},
				{Name: "cache", MountPath: "/data/cache"},
				{Name: "controlplane", MountPath: "/data/controlplane"},
			},
		}},
	}
	base := t.TempDir()
	in := PodInputs{
		Binary: binary(t), PodName: "dittofs-0", Namespace: "default",
		ConfigMaps: map[string]map[string]string{"dittofs-config": {"config.yaml": baseConfig(apiPort, "")}},
		Secrets: map[string]map[string][]byte{"dittofs": {
			"jwt-secret": []byte(testSecret), "admin-password": []byte(testPassword)}},
		VolumeDirs: map[string]string{},
	}
	for _, v := range []string{"metadata", "content", "cache", "controlplane"} {
		in.VolumeDirs[v] = filepath.Join(base, v)
	}
	opts, c, err := PodOptions(spec, "dittofs", in)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ContainerCommand}; !reflect.DeepEqual(opts.Command, want) || !reflect.DeepEqual(opts.Args, ImageArgs) {
		t.Errorf("command %v args %v, want the image's %v %v", opts.Command, opts.Args, want, ImageArgs)
	}
	if opts.Env["POD_NAME"] != "dittofs-0" || opts.Env["DITTOFS_ADMIN_INITIAL_PASSWORD"] != testPassword {
		t.Errorf("env not resolved: POD_NAME=%q", opts.Env["POD_NAME"])
	}
	if _, ok := opts.Files["/config/config.yaml"]; !ok || len(opts.Mounts) != 4 {
		t.Fatalf("files %v, mounts %v", keys(opts.Files), opts.Mounts)
	}

	p := StartForTest(t, opts)
	for name, pr := range map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		r := p.RunProbe(context.Background(), pr, c.Ports)
		t.Logf("%s probe: passed=%v after %s (%d attempts, budget %s)", name, r.Passed, r.Elapsed.Round(time.Millisecond), r.Attempts, r.Budget)
		if !r.Passed {
			t.Errorf("%s probe failed: %v", name, r.LastErr)
		}
	}
	if _, status, err := Login(apiPort, "admin", testPassword); err != nil {
		t.Errorf("login: %d %v", status, err)
	}
	if code, took, err := p.Stop(syscall.SIGTERM, 105*time.Second); err != nil || code != 0 {
		t.Errorf("stop: exit %d after %s: %v", code, took, err)
	}
}

func keys[V any](m map[string]V) string { return fmt.Sprint(sortedKeys(m)) }
