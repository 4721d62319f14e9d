package resources

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func podMetaServer() *dittov1alpha1.DittoServer {
	return withIdentity(&dittov1alpha1.DittoServer{
		ObjectMeta: metav1.ObjectMeta{Name: "files"},
		Spec: dittov1alpha1.DittoServerSpec{
			Storage: dittov1alpha1.StorageSpec{MetadataSize: mustQuantity("1Gi")},
			S3:      &dittov1alpha1.S3Spec{CredentialsSecretRef: &dittov1alpha1.S3CredentialsSecretRef{SecretName: "s3"}},
		},
	})
}

func mustStatefulSetPod(t *testing.T, ds *dittov1alpha1.DittoServer) corev1.PodTemplateSpec {
	t.Helper()
	sts, err := StatefulSet(ds, inputsFor(ds), "hash")
	if err != nil {
		t.Fatal(err)
	}
	if !labels.SelectorFromSet(sts.Spec.Selector.MatchLabels).Matches(labels.Set(sts.Spec.Template.Labels)) {
		t.Fatalf("the StatefulSet's selector %v does not select its own pod template %v", sts.Spec.Selector.MatchLabels, sts.Spec.Template.Labels)
	}
	return sts.Spec.Template
}

// Placement fields reach the pod as given; the user's labels and annotations
// join the operator's.
func TestPlacementAndPodMetadataReachThePod(t *testing.T) {
	ds := podMetaServer()
	tsc := corev1.TopologySpreadConstraint{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone",
		WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{NameLabel: "dittofs"}}}
	ds.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{tsc}
	ds.Spec.PriorityClassName = "file-servers"
	ds.Spec.ServiceAccountName = "files-sa"
	ds.Spec.PodMetadata = &dittov1alpha1.PodMetadata{
		Labels:      map[string]string{"example.com/team": "storage"},
		Annotations: map[string]string{"example.com/owner": "storage@example.com"},
	}
	pod := mustStatefulSetPod(t, ds)

	if got := pod.Spec.TopologySpreadConstraints; len(got) != 1 || got[0].TopologyKey != tsc.TopologyKey || got[0].LabelSelector.MatchLabels[NameLabel] != "dittofs" {
		t.Errorf("topologySpreadConstraints = %+v, want %+v", got, tsc)
	}
	if pod.Spec.PriorityClassName != "file-servers" || pod.Spec.ServiceAccountName != "files-sa" {
		t.Errorf("priorityClassName %q, serviceAccountName %q; want file-servers, files-sa", pod.Spec.PriorityClassName, pod.Spec.ServiceAccountName)
	}
	if a := pod.Spec.AutomountServiceAccountToken; a == nil || *a {
		t.Error("the pod mounts its ServiceAccount's API token; the server calls no Kubernetes API")
	}
	if pod.Labels["example.com/team"] != "storage" || pod.Labels[InstanceLabel] != "files" {
		t.Errorf("pod labels %v lack the user's or the operator's", pod.Labels)
	}
	if pod.Annotations["example.com/owner"] != "storage@example.com" || pod.Annotations[ConfigHashAnnotation] != "hash" {
		t.Errorf("pod annotations %v lack the user's or the operator's", pod.Annotations)
	}

	// The same values on the StatefulSet's spec as a pointer to the
	// DittoServer's would let a later edit of one change the other.
	ds.Spec.TopologySpreadConstraints[0].LabelSelector.MatchLabels[NameLabel] = "changed"
	ds.Spec.PodMetadata.Labels["example.com/team"] = "changed"
	if pod.Spec.TopologySpreadConstraints[0].LabelSelector.MatchLabels[NameLabel] != "dittofs" || pod.Labels["example.com/team"] != "storage" {
		t.Error("the pod template shares memory with the DittoServer's spec")
	}
}

// The CRD refuses labels, annotations and variables that would override the
// operator's; an object that got past it (an older CRD, a fake clientset)
// still keeps the operator's values: the pod stays selected, the config
// hash and the credentials stay the operator's.
func TestOperatorValuesWinOverPodMetadataAndEnv(t *testing.T) {
	ds := podMetaServer()
	ds.Spec.PodMetadata = &dittov1alpha1.PodMetadata{
		Labels:      map[string]string{InstanceLabel: "other", ManagedByLabel: "someone", "example.com/team": "storage"},
		Annotations: map[string]string{ConfigHashAnnotation: "forged"},
	}
	ds.Spec.Env = []corev1.EnvVar{
		{Name: "DITTOFS_CONTROLPLANE_SECRET", Value: "plain-text-secret"},
		{Name: "AWS_REGION", Value: "us-east-1"},
		{Name: "DITTOFS_LOGGING_LEVEL", Value: "DEBUG"},
		{Name: "TEAM_TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "team"}, Key: "token"}}},
	}
	pod := mustStatefulSetPod(t, ds)

	if pod.Labels[InstanceLabel] != "files" || pod.Labels[ManagedByLabel] != ManagedByValue || pod.Labels["example.com/team"] != "storage" {
		t.Errorf("pod labels %v: want the operator's instance and managed-by labels and the user's team label", pod.Labels)
	}
	if pod.Annotations[ConfigHashAnnotation] != "hash" {
		t.Errorf("config-hash annotation %q, want the operator's", pod.Annotations[ConfigHashAnnotation])
	}
	env := map[string]corev1.EnvVar{}
	var names []string
	for _, e := range pod.Spec.Containers[0].Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("%s is set twice", e.Name)
		}
		env[e.Name] = e
		names = append(names, e.Name)
	}
	if e := env["DITTOFS_CONTROLPLANE_SECRET"]; e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
		t.Errorf("DITTOFS_CONTROLPLANE_SECRET = %+v, want the operator's secretKeyRef", e)
	}
	if e := env["AWS_REGION"]; e.Value != DefaultS3Region {
		t.Errorf("AWS_REGION = %q, want spec.s3's %q", e.Value, DefaultS3Region)
	}
	if env["DITTOFS_LOGGING_LEVEL"].Value != "DEBUG" || env["TEAM_TOKEN"].ValueFrom == nil {
		t.Errorf("the user's own variables are missing: %v", names)
	}
	if last := names[len(names)-1]; last != "TEAM_TOKEN" {
		t.Errorf("env order %v: the user's variables come after the operator's, in their order", names)
	}
}

// spec.service's source ranges and traffic policy reach the file Service
// only; the other Services stay ClusterIP without them.
func TestFileServiceExposureSettings(t *testing.T) {
	ds := podMetaServer()
	ds.Spec.Service = &dittov1alpha1.ServiceSpec{
		Type:                     corev1.ServiceTypeLoadBalancer,
		LoadBalancerSourceRanges: []string{"203.0.113.0/24"},
		ExternalTrafficPolicy:    corev1.ServiceExternalTrafficPolicyLocal,
	}
	file := FileService(ds)
	if file.Spec.Type != corev1.ServiceTypeLoadBalancer || file.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal ||
		len(file.Spec.LoadBalancerSourceRanges) != 1 || file.Spec.LoadBalancerSourceRanges[0] != "203.0.113.0/24" {
		t.Errorf("file Service spec = %+v", file.Spec)
	}
	ds.Spec.Service.LoadBalancerSourceRanges[0] = "0.0.0.0/0"
	if file.Spec.LoadBalancerSourceRanges[0] != "203.0.113.0/24" {
		t.Error("the file Service shares its source ranges with the DittoServer's spec")
	}
	for _, svc := range []*corev1.Service{HeadlessService(ds), APIService(ds), MetricsService(ds)} {
		if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.ExternalTrafficPolicy != "" || len(svc.Spec.LoadBalancerSourceRanges) > 0 {
			t.Errorf("Service %s took spec.service's exposure: %+v", svc.Name, svc.Spec)
		}
	}
	// Back to ClusterIP: nothing of the load balancer remains.
	ds.Spec.Service = &dittov1alpha1.ServiceSpec{Type: corev1.ServiceTypeClusterIP}
	if s := FileService(ds).Spec; s.ExternalTrafficPolicy != "" || s.LoadBalancerSourceRanges != nil {
		t.Errorf("ClusterIP file Service keeps load balancer settings: %+v", s)
	}
}
