package resources

import (
	"maps"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// ContainerName is the server container's name.
const ContainerName = "dittofs"

// The image's entrypoint and the arguments that keep the server in the
// foreground (without --foreground it daemonizes and the container exits).
var (
	serverCommand = []string{"/app/dfs"}
	serverArgs    = []string{"start", "--foreground", "--config", ConfigPath}
)

// StatefulSet runs the server: one pod with two stable volumes (metadata
// and content). configHash
// (ConfigHash) goes on the pod template, so the pod restarts exactly when
// the configuration or a Secret it reads changes. The only error is an
// invalid grace-period override (ErrGracePeriodTooShort). The StatefulSet
// carries the hashes that tell a user's change from a change of the
// operator's rendering (TemplateInputsAnnotation, TemplateRenderAnnotation).
func StatefulSet(ds *dittov1alpha1.DittoServer, in Inputs, configHash string) (*appsv1.StatefulSet, error) {
	grace, err := TerminationGracePeriodSeconds(ds)
	if err != nil {
		return nil, err
	}
	sts := &appsv1.StatefulSet{
		TypeMeta:   typeMeta("apps/v1", "StatefulSet"),
		ObjectMeta: objectMeta(ds, StatefulSetName(ds), ComponentServer),
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To(Replicas(ds)),
			ServiceName:         HeadlessServiceName(ds),
			Selector:            &metav1.LabelSelector{MatchLabels: SelectorLabels(ds)},
			PodManagementPolicy: PodManagementPolicy,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type:          appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](0)},
			},
			// The volumes hold the file system's metadata and data: neither
			// deleting the DittoServer nor scaling to 0 may delete them.
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
			VolumeClaimTemplates: volumeClaimTemplates(ds),
			Template:             podTemplate(ds, in, configHash, grace),
		},
	}
	sts.Annotations = map[string]string{
		TemplateInputsAnnotation: TemplateInputsHash(in),
		TemplateRenderAnnotation: TemplateRenderHash(&sts.Spec.Template),
	}
	return sts, nil
}

func podTemplate(ds *dittov1alpha1.DittoServer, in Inputs, configHash string, grace int64) corev1.PodTemplateSpec {
	spec := corev1.PodSpec{
		Containers:                    []corev1.Container{serverContainer(ds, in)},
		Volumes:                       volumes(ds),
		TerminationGracePeriodSeconds: ptr.To(grace),
		SecurityContext:               podSecurityContext(ds),
		// The server talks to no Kubernetes API.
		AutomountServiceAccountToken: ptr.To(false),
		// Service links would inject <SERVICE>_PORT=tcp://… variables; for a
		// DittoServer named "dittofs" that includes DITTOFS_METRICS_PORT, which
		// the server reads as metrics.port and fails to parse.
		EnableServiceLinks: ptr.To(false),
		ImagePullSecrets:   slices.Clone(ds.Spec.ImagePullSecrets),
		NodeSelector:       maps.Clone(ds.Spec.NodeSelector),
		Tolerations:        slices.Clone(ds.Spec.Tolerations),
		Affinity:           ds.Spec.Affinity.DeepCopy(),
		// Placement and identity from the spec, passed through as given.
		TopologySpreadConstraints: topologySpreadConstraints(ds),
		PriorityClassName:         ds.Spec.PriorityClassName,
		ServiceAccountName:        ds.Spec.ServiceAccountName,
		RestartPolicy:             corev1.RestartPolicyAlways,
		DNSPolicy:                 corev1.DNSClusterFirst,
	}
	if PerconaEnabled(ds) {
		spec.InitContainers = []corev1.Container{waitForPostgres(ds, in)}
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{
			Labels:      podLabels(ds),
			Annotations: podAnnotations(ds, configHash),
		},
		Spec: spec,
	}
}

func serverContainer(ds *dittov1alpha1.DittoServer, in Inputs) corev1.Container {
	return corev1.Container{
		Name:            ContainerName,
		Image:           Image(ds),
		ImagePullPolicy: ImagePullPolicy(ds),
		Command:         slices.Clone(serverCommand),
		Args:            slices.Clone(serverArgs),
		Ports:           containerPorts(ds),
		Env:             withUserEnv(ds, serverEnv(ds, in)),
		Resources:       *ds.Spec.Resources.DeepCopy(),
		VolumeMounts:    volumeMounts(ds),
		LivenessProbe:   livenessProbe(ds),
		ReadinessProbe:  readinessProbe(ds),
		StartupProbe:    startupProbe(ds),
		Lifecycle:       lifecycle(ds),
		SecurityContext: containerSecurityContext(ds),
		// A server that exits on a bad configuration says why in its last
		// log lines; they become the container's termination message.
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
}

// containerPorts are the ports the server listens on. It always listens on
// NFS and SMB, on all interfaces (the adapters are created on first start,
// whatever the configuration), so both are declared; only the Services
// decide what is exposed, and the file Service carries SMB only when it is
// enabled. The metrics port exists only when metrics are enabled, the
// portmapper's only when it is (the server starts it only then).
func containerPorts(ds *dittov1alpha1.DittoServer) []corev1.ContainerPort {
	ports := []corev1.ContainerPort{
		containerPort(PortNameAPI, APIPort(ds)),
		containerPort(PortNameNFS, ContainerNFSPort),
		containerPort(PortNameSMB, ContainerSMBPort),
	}
	if MetricsEnabled(ds) {
		ports = append(ports, containerPort(PortNameMetrics, MetricsPort(ds)))
	}
	if PortmapperEnabled(ds) {
		udp := containerPort(PortNamePortmapUDP, ContainerPortmapPort)
		udp.Protocol = corev1.ProtocolUDP
		ports = append(ports, containerPort(PortNamePortmapTCP, ContainerPortmapPort), udp)
	}
	return ports
}

func containerPort(name string, port int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: port, Protocol: corev1.ProtocolTCP}
}
