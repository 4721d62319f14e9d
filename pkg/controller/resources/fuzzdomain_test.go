package resources

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func dur(ns int64) time.Duration { return time.Duration(ns) }

// admissible brings a generated DittoServer into what the API server admits
// with the CRD (its bounds, enums and CEL rules) and what the controller lets
// through (ValidateName), keeping as much of the generated variety as it can.
// Fields passed through to the pod unchecked (affinity, tolerations, node
// selector) are the API server's to validate on the StatefulSet, so they are
// dropped; the security contexts keep only values that "restricted" allows.
func admissible(ds *dittov1alpha1.DittoServer, r *rand.Rand) *dittov1alpha1.DittoServer {
	s := &ds.Spec
	ds.ObjectMeta = withIdentity(&dittov1alpha1.DittoServer{}).ObjectMeta
	ds.TypeMeta, ds.Status = metav1.TypeMeta{}, dittov1alpha1.DittoServerStatus{}
	ds.Name = dnsLabel(ds.Name+s.Image, MaxNameLength)
	if strings.TrimSpace(s.Image) != s.Image || strings.ContainsAny(s.Image, " \t\n") {
		s.Image = ""
	}
	s.ImagePullPolicy = pick(r, s.ImagePullPolicy, "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever)
	s.DeletionPolicy = pick(r, s.DeletionPolicy, "", dittov1alpha1.DeletionRetain, dittov1alpha1.DeletionDelete)
	s.ImagePullSecrets, s.NodeSelector, s.Tolerations, s.Affinity = nil, nil, nil, nil
	s.TopologySpreadConstraints, s.PriorityClassName, s.ServiceAccountName = nil, "", ""
	s.Env, s.PodMetadata = nil, nil
	if r.Intn(2) == 0 {
		// What the CRD admits of spec.podMetadata and spec.env, with values
		// the pod accepts.
		s.PodMetadata = &dittov1alpha1.PodMetadata{
			Labels:      map[string]string{"example.com/team": dnsLabel(ds.Name, 63)},
			Annotations: map[string]string{"example.com/note": strings.ToValidUTF8(s.Image, "")},
		}
		s.Env = []corev1.EnvVar{{Name: "DITTOFS_LOGGING_LEVEL", Value: pick(r, "", "DEBUG", "INFO")}}
	}
	if s.Replicas != nil {
		s.Replicas = ptr.To(abs32(*s.Replicas) % 2)
	}

	st := &s.Storage
	st.MetadataSize = positive(st.MetadataSize)
	for _, q := range []**resource.Quantity{&st.ContentSize} {
		if *q != nil {
			*q = ptr.To(positive(**q))
		}
	}
	st.StorageClassName = optionalName(st.StorageClassName, r)

	if db := s.Database; db != nil {
		db.Type = pick(r, db.Type, "", dittov1alpha1.DatabaseSQLite, dittov1alpha1.DatabasePostgres)
		db.SSLMode = pick(r, db.SSLMode, "", "disable", "require")
		if db.SQLite != nil && db.SQLite.Path != "" {
			db.SQLite.Path = "/data/controlplane/" + dnsLabel(db.SQLite.Path, 40) + ".db"
		}
		if db.PostgresSecretRef != nil {
			db.PostgresSecretRef.Name = dnsLabel(db.PostgresSecretRef.Name, 63)
		}
	}
	if cp := s.ControlPlane; cp != nil && cp.TLS != nil {
		cp.TLS.Mode = dittov1alpha1.TLSMode(pick(r, string(cp.TLS.Mode), "", "Enabled", "Disabled"))
		cp.TLS.SecretName = dnsLabel(cp.TLS.SecretName, 63)
		if cp.TLS.Mode == dittov1alpha1.TLSModeDisabled {
			cp.TLS.SecretName = ""
		}
		cp.TLS.MinVersion = pick(r, cp.TLS.MinVersion, "", "1.2", "1.3")
	}
	api := DefaultAPIPort
	if s.ControlPlane != nil && s.ControlPlane.Port != nil {
		api = port(*s.ControlPlane.Port)
		s.ControlPlane.Port = &api
	}
	if m := s.Metrics; m != nil && m.Port != nil {
		m.Port = ptr.To(port(*m.Port))
		if *m.Port == api {
			m.Port = ptr.To(port(api + 1))
		}
	}
	if m := s.Metrics; m != nil && m.Enabled && m.Port == nil && api == DefaultMetricsPort {
		m.Port = ptr.To(port(api + 1))
	}
	if s.NFSPort != nil {
		s.NFSPort = ptr.To(port(*s.NFSPort))
	}
	if smb := s.SMB; smb != nil {
		if smb.Port != nil {
			smb.Port = ptr.To(port(*smb.Port))
		}
		if smb.Enabled && SMBPort(ds) == NFSPort(ds) {
			smb.Port = ptr.To(port(NFSPort(ds) + 1))
		}
	}
	// CEL: the portmapper's Service port 111 is nobody else's.
	if PortmapperEnabled(ds) {
		if NFSPort(ds) == PortmapServicePort {
			s.NFSPort = ptr.To(PortmapServicePort + 1)
		}
		if SMBEnabled(ds) && (SMBPort(ds) == PortmapServicePort || SMBPort(ds) == NFSPort(ds)) {
			s.SMB.Port = ptr.To(PortmapServicePort + 2)
		}
	}
	if id := s.Identity; id != nil {
		if j := id.JWT; j != nil {
			j.SecretRef = secretKey(j.SecretRef)
			j.AccessTokenDuration = durationIn(j.AccessTokenDuration, 1, int64(24*time.Hour))
			j.RefreshTokenDuration = durationIn(j.RefreshTokenDuration, 1, int64(720*time.Hour))
		}
		if a := id.Admin; a != nil {
			a.PasswordSecretRef = secretKey(a.PasswordSecretRef)
			if a.Username != "" {
				a.Username = dnsLabel(a.Username, 30)
			}
		}
	}
	if svc := s.Service; svc != nil {
		svc.Type = pick(r, svc.Type, "", corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer)
		svc.Annotations = nil
		svc.ExternalTrafficPolicy = ""
		if svc.Type == corev1.ServiceTypeNodePort || svc.Type == corev1.ServiceTypeLoadBalancer {
			svc.ExternalTrafficPolicy = pick(r, svc.ExternalTrafficPolicy, "", corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal)
		}
		svc.LoadBalancerSourceRanges = nil
		if svc.Type == corev1.ServiceTypeLoadBalancer && r.Intn(2) == 0 {
			svc.LoadBalancerSourceRanges = []string{fmt.Sprintf("10.%d.0.0/16", r.Intn(256)), "2001:db8::/32"}
		}
		if r.Intn(2) == 0 {
			svc.Annotations = map[string]string{"example.com/" + dnsLabel(string(svc.Type)+"x", 20): strings.ToValidUTF8(ds.Name, "")}
		}
	}
	// spec.tenants is read by the server state controller, never by a builder.
	s.Tenants = nil
	if s3 := s.S3; s3 != nil && s3.CredentialsSecretRef != nil {
		c := s3.CredentialsSecretRef
		c.SecretName = dnsLabel(c.SecretName, 63)
		c.AccessKeyIDKey, c.SecretAccessKeyKey, c.EndpointKey = configKey(c.AccessKeyIDKey), configKey(c.SecretAccessKeyKey), configKey(c.EndpointKey)
	}
	if p := s.Percona; p != nil {
		if p.Replicas != nil {
			p.Replicas = ptr.To(1 + abs32(*p.Replicas)%5)
		}
		if p.StorageSize != nil {
			p.StorageSize = ptr.To(positive(*p.StorageSize))
		}
		p.StorageClassName = optionalName(p.StorageClassName, r)
		if p.DatabaseName != "" {
			p.DatabaseName = dnsLabel(p.DatabaseName, 30)
		}
		if b := p.Backup; b != nil {
			if b.RetentionDays != nil {
				b.RetentionDays = ptr.To(1 + abs32(*b.RetentionDays)%3650)
			}
			if b.Enabled {
				b.Bucket, b.Endpoint = dnsLabel(b.Bucket, 40), dnsLabel(b.Endpoint, 40)+".example.com"
				b.CredentialsSecretRef = &corev1.LocalObjectReference{Name: dnsLabel(b.Bucket+"s3", 63)}
			}
		}
	}
	// CEL: postgres needs a Secret or Percona; the two are exclusive.
	if db := s.Database; db != nil {
		if PerconaEnabled(ds) {
			db.PostgresSecretRef = nil
		} else if db.Type == dittov1alpha1.DatabasePostgres && db.PostgresSecretRef == nil {
			db.PostgresSecretRef = &corev1.LocalObjectReference{Name: ds.Name + "-pg"}
		}
	}
	s.Resources = corev1.ResourceRequirements{}
	if r.Intn(2) == 0 {
		s.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(int64(1+r.Intn(4000)), resource.DecimalSI)}
	}
	s.SecurityContext, s.PodSecurityContext = restrictedContainer(r), restrictedPod(r)
	s.ShutdownTimeout = durationIn(s.ShutdownTimeout, int64(time.Second), int64(time.Hour))
	if s.TerminationGracePeriodSeconds != nil {
		s.TerminationGracePeriodSeconds = ptr.To(1 + abs64(*s.TerminationGracePeriodSeconds)%20000)
	}
	if s.PreStopDelaySeconds != nil {
		s.PreStopDelaySeconds = ptr.To(abs32(*s.PreStopDelaySeconds) % 301)
	}
	if pr := s.Probes; pr != nil {
		for _, t := range []*dittov1alpha1.ProbeTiming{pr.Liveness, pr.Readiness, pr.Startup} {
			if t == nil {
				continue
			}
			if t.InitialDelaySeconds != nil {
				t.InitialDelaySeconds = ptr.To(abs32(*t.InitialDelaySeconds) % 600)
			}
			for _, f := range []**int32{&t.PeriodSeconds, &t.TimeoutSeconds, &t.SuccessThreshold, &t.FailureThreshold} {
				if *f != nil {
					*f = ptr.To(1 + abs32(**f)%600)
				}
			}
		}
		for _, t := range []*dittov1alpha1.ProbeTiming{pr.Liveness, pr.Startup} {
			if t != nil && t.SuccessThreshold != nil {
				t.SuccessThreshold = ptr.To[int32](1)
			}
		}
	}
	// The CEL rules on metadata.name and on the grace-period override.
	if PerconaEnabled(ds) && len(ds.Name) > PerconaMaxNameLength {
		ds.Name = strings.TrimRight(ds.Name[:PerconaMaxNameLength], "-")
	}
	if g := s.TerminationGracePeriodSeconds; g != nil {
		minimum := int64(PreStopDelaySeconds(ds)) + 3*int64(math.Ceil(ShutdownTimeout(ds).Seconds())) + 5
		s.TerminationGracePeriodSeconds = ptr.To(max(*g, minimum))
	}
	return ds
}

func restrictedContainer(r *rand.Rand) *corev1.SecurityContext {
	if r.Intn(3) == 0 {
		return nil
	}
	sc := &corev1.SecurityContext{}
	if r.Intn(2) == 0 {
		sc.ReadOnlyRootFilesystem = ptr.To(r.Intn(2) == 0)
	}
	if r.Intn(2) == 0 {
		sc.RunAsUser = ptr.To(int64(1 + r.Intn(100000)))
	}
	if r.Intn(2) == 0 {
		sc.AllowPrivilegeEscalation = ptr.To(false)
	}
	if r.Intn(2) == 0 {
		sc.Capabilities = &corev1.Capabilities{Add: []corev1.Capability{"NET_BIND_SERVICE"}}
	}
	return sc
}

func restrictedPod(r *rand.Rand) *corev1.PodSecurityContext {
	if r.Intn(3) == 0 {
		return nil
	}
	sc := &corev1.PodSecurityContext{}
	if r.Intn(2) == 0 {
		sc.RunAsUser, sc.RunAsGroup = ptr.To(int64(1+r.Intn(100000))), ptr.To(int64(r.Intn(100000)))
	}
	if r.Intn(2) == 0 {
		sc.FSGroup = ptr.To(int64(r.Intn(100000)))
		sc.FSGroupChangePolicy = ptr.To(corev1.FSGroupChangeOnRootMismatch)
	}
	if r.Intn(2) == 0 {
		sc.SupplementalGroups = []int64{int64(r.Intn(100000))}
	}
	return sc
}

// dnsLabel turns s into a DNS-1035 label of at most n characters.
func dnsLabel(s string, n int) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9' && b.Len() > 0, c == '-' && b.Len() > 0:
			b.WriteRune(c)
		}
		if b.Len() == n {
			break
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if out == "" {
		return "x"
	}
	return out
}

func configKey(s string) string {
	if s == "" {
		return ""
	}
	return dnsLabel(s, 60)
}

func secretKey(sel *corev1.SecretKeySelector) *corev1.SecretKeySelector {
	if sel == nil {
		return nil
	}
	return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: dnsLabel(sel.Name, 63)}, Key: dnsLabel(sel.Key, 60)}
}

func optionalName(s *string, r *rand.Rand) *string {
	if s == nil {
		return nil
	}
	return ptr.To(pick(r, "", "standard", "fast-ssd", dnsLabel(*s, 63)))
}

// port maps p into 1–65535, avoiding the adapters' 12049 and 1445 and the
// portmapper's 10111.
func port(p int32) int32 {
	v := 1 + abs32(p)%65535
	if v == ContainerNFSPort || v == ContainerSMBPort || v == ContainerPortmapPort {
		v++
	}
	return v
}

func positive(q resource.Quantity) resource.Quantity {
	v := q.Value()
	if v < 0 {
		v = -v
	}
	return *resource.NewQuantity(1+v%(1<<40), resource.BinarySI)
}

// pick keeps v when it is one of the allowed values, else draws one.
func pick[T comparable](r *rand.Rand, v T, allowed ...T) T {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return allowed[r.Intn(len(allowed))]
}

func abs32(v int32) int32 {
	if v < 0 {
		return -(v + 1)
	}
	return v
}

func abs64(v int64) int64 {
	if v < 0 {
		return -(v + 1)
	}
	return v
}
