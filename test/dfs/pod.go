package dfs

import (
	"fmt"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ImageArgs is the CMD of the DittoFS image (its ENTRYPOINT is ContainerCommand).
var ImageArgs = []string{"start", "--foreground", "--config", "/config/config.yaml"}

// PodInputs is what the kubelet would take from the cluster to run a pod.
type PodInputs struct {
	// Binary is the host path of the dfs binary.
	Binary string
	// PodName and Namespace answer fieldRef metadata.name/metadata.namespace;
	// PodName is also the host name.
	PodName, Namespace string
	// ConfigMaps and Secrets by name (data by key).
	ConfigMaps map[string]map[string]string
	Secrets    map[string]map[string][]byte
	// VolumeDirs maps a volume name (a persistentVolumeClaim or emptyDir
	// volume, or a StatefulSet volumeClaimTemplate) to its host directory.
	VolumeDirs map[string]string
}

// PodOptions turns the container named container of spec (the first one when
// empty) into Options, as the kubelet would run it: image entrypoint/CMD
// rules, env and envFrom resolved from ConfigMaps and Secrets with $(VAR)
// expansion, ConfigMap and Secret volumes as Files, other volumes as Mounts,
// runAsUser/runAsGroup/fsGroup from the security contexts (the image's 65532
// by default). The returned container carries the declared ports and probes.
func PodOptions(spec *corev1.PodSpec, container string, in PodInputs) (Options, *corev1.Container, error) {
	var c *corev1.Container
	for i := range spec.Containers {
		if container == "" || spec.Containers[i].Name == container {
			c = &spec.Containers[i]
			break
		}
	}
	if c == nil {
		return Options{}, nil, fmt.Errorf("no container %q in the pod spec", container)
	}
	env, err := resolveEnv(c, in)
	if err != nil {
		return Options{}, nil, err
	}
	opts := Options{Binary: in.Binary, Env: env, Hostname: in.PodName,
		Files: map[string][]byte{}, Mounts: map[string]string{}, WorkingDir: c.WorkingDir}
	switch {
	case len(c.Command) > 0:
		opts.Command, opts.Args = expandAll(c.Command, env), expandAll(c.Args, env)
	case len(c.Args) > 0:
		opts.Command, opts.Args = []string{ContainerCommand}, expandAll(c.Args, env)
	default:
		opts.Command, opts.Args = []string{ContainerCommand}, ImageArgs
	}
	if sc := spec.SecurityContext; sc != nil {
		opts.UID, opts.GID, opts.FSGroup = int(deref(sc.RunAsUser)), int(deref(sc.RunAsGroup)), int(deref(sc.FSGroup))
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			opts.UID = int(*sc.RunAsUser)
		}
		if sc.RunAsGroup != nil {
			opts.GID = int(*sc.RunAsGroup)
		}
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		if err := addMount(&opts, m, volumes[m.Name], in); err != nil {
			return Options{}, nil, fmt.Errorf("volumeMount %s at %s: %w", m.Name, m.MountPath, err)
		}
	}
	return opts, c, nil
}

func addMount(opts *Options, m corev1.VolumeMount, v corev1.Volume, in PodInputs) error {
	var data map[string][]byte
	var items []corev1.KeyToPath
	switch {
	case v.ConfigMap != nil:
		cm, ok := in.ConfigMaps[v.ConfigMap.Name]
		if !ok && !deref(v.ConfigMap.Optional) {
			return fmt.Errorf("ConfigMap %q not given", v.ConfigMap.Name)
		}
		data = map[string][]byte{}
		for k, s := range cm {
			data[k] = []byte(s)
		}
		items = v.ConfigMap.Items
	case v.Secret != nil:
		s, ok := in.Secrets[v.Secret.SecretName]
		if !ok && !deref(v.Secret.Optional) {
			return fmt.Errorf("Secret %q not given", v.Secret.SecretName) //nolint:staticcheck // ST1005: "Secret" is the Kubernetes kind, as in the ConfigMap case above
		}
		data, items = s, v.Secret.Items
	case v.Name == "" || v.PersistentVolumeClaim != nil || v.EmptyDir != nil:
		// v.Name == "": not in spec.volumes, i.e. a volumeClaimTemplate.
		dir, ok := in.VolumeDirs[m.Name]
		if !ok {
			return fmt.Errorf("no host directory in PodInputs.VolumeDirs")
		}
		opts.Mounts[m.MountPath] = filepath.Join(dir, m.SubPath)
		return nil
	default:
		return fmt.Errorf("volume source not supported by the harness")
	}
	files := map[string][]byte{} // path inside the volume → content
	if len(items) == 0 {
		for k, b := range data {
			files[k] = b
		}
	}
	for _, it := range items {
		b, ok := data[it.Key]
		if !ok {
			return fmt.Errorf("key %q not found", it.Key)
		}
		files[it.Path] = b
	}
	if m.SubPath != "" {
		b, ok := files[m.SubPath]
		if !ok {
			return fmt.Errorf("subPath %q not found", m.SubPath)
		}
		opts.Files[m.MountPath] = b
		return nil
	}
	for p, b := range files {
		opts.Files[filepath.Join(m.MountPath, p)] = b
	}
	return nil
}

// resolveEnv resolves envFrom then env, as the kubelet does.
func resolveEnv(c *corev1.Container, in PodInputs) (map[string]string, error) {
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm, ok := in.ConfigMaps[from.ConfigMapRef.Name]
			if !ok && !deref(from.ConfigMapRef.Optional) {
				return nil, fmt.Errorf("envFrom: ConfigMap %q not given", from.ConfigMapRef.Name)
			}
			for k, v := range cm {
				env[from.Prefix+k] = v
			}
		case from.SecretRef != nil:
			s, ok := in.Secrets[from.SecretRef.Name]
			if !ok && !deref(from.SecretRef.Optional) {
				return nil, fmt.Errorf("envFrom: Secret %q not given", from.SecretRef.Name)
			}
			for k, v := range s {
				env[from.Prefix+k] = string(v)
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = expand(e.Value, env)
			continue
		}
		vf := e.ValueFrom
		switch {
		case vf.SecretKeyRef != nil:
			v, ok := in.Secrets[vf.SecretKeyRef.Name][vf.SecretKeyRef.Key]
			if !ok {
				if deref(vf.SecretKeyRef.Optional) {
					continue
				}
				return nil, fmt.Errorf("env %s: Secret %s key %s not given", e.Name, vf.SecretKeyRef.Name, vf.SecretKeyRef.Key)
			}
			env[e.Name] = string(v)
		case vf.ConfigMapKeyRef != nil:
			v, ok := in.ConfigMaps[vf.ConfigMapKeyRef.Name][vf.ConfigMapKeyRef.Key]
			if !ok {
				if deref(vf.ConfigMapKeyRef.Optional) {
					continue
				}
				return nil, fmt.Errorf("env %s: ConfigMap %s key %s not given", e.Name, vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Key)
			}
			env[e.Name] = v
		case vf.FieldRef != nil:
			switch vf.FieldRef.FieldPath {
			case "metadata.name":
				env[e.Name] = in.PodName
			case "metadata.namespace":
				env[e.Name] = in.Namespace
			case "status.podIP", "status.hostIP":
				env[e.Name] = "127.0.0.1"
			default:
				return nil, fmt.Errorf("env %s: fieldRef %s not supported", e.Name, vf.FieldRef.FieldPath)
			}
		default:
			return nil, fmt.Errorf("env %s: valueFrom not supported", e.Name)
		}
	}
	return env, nil
}

// expand replaces $(VAR) with defined variables; $$ escapes a $.
func expand(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteByte(s[i])
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := env[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func expandAll(list []string, env map[string]string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = expand(s, env)
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
