package resources

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

var hardenedPod = &corev1.PodSecurityContext{
	RunAsNonRoot:   ptr.To(true),
	RunAsUser:      ptr.To[int64](65532),
	RunAsGroup:     ptr.To[int64](65532),
	FSGroup:        ptr.To[int64](65532),
	SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
}

var hardenedContainer = &corev1.SecurityContext{
	AllowPrivilegeEscalation: ptr.To(false),
	Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	RunAsNonRoot:             ptr.To(true),
}

// The user's fields win one by one; every field the user left unset keeps
// the hardened default.
func TestSecurityContextsMergeFieldByField(t *testing.T) {
	for _, tc := range []struct {
		name          string
		pod           *corev1.PodSecurityContext
		container     *corev1.SecurityContext
		wantPod       *corev1.PodSecurityContext
		wantContainer *corev1.SecurityContext
	}{
		{name: "nothing set: fully hardened", wantPod: hardenedPod, wantContainer: hardenedContainer},
		{
			name: "user's ids and extra fields kept, the rest filled in",
			pod: &corev1.PodSecurityContext{
				RunAsUser: ptr.To[int64](1000), FSGroup: ptr.To[int64](2000),
				FSGroupChangePolicy: ptr.To(corev1.FSGroupChangeOnRootMismatch), SupplementalGroups: []int64{3000},
			},
			container: &corev1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(true)},
			wantPod: &corev1.PodSecurityContext{
				RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](65532), FSGroup: ptr.To[int64](2000),
				FSGroupChangePolicy: ptr.To(corev1.FSGroupChangeOnRootMismatch), SupplementalGroups: []int64{3000},
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			wantContainer: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				RunAsNonRoot: ptr.To(true), ReadOnlyRootFilesystem: ptr.To(true),
			},
		},
		{
			name:      "added capabilities kept, ALL still dropped",
			container: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_BIND_SERVICE"}}},
			wantPod:   hardenedPod,
			wantContainer: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false), RunAsNonRoot: ptr.To(true),
				Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_BIND_SERVICE"}, Drop: []corev1.Capability{"ALL"}},
			},
		},
		{
			name:      "a user's explicit choice wins, even a weaker one",
			pod:       &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("dittofs.json")}},
			container: &corev1.SecurityContext{RunAsNonRoot: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"NET_RAW"}}},
			wantPod: &corev1.PodSecurityContext{
				RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532), RunAsGroup: ptr.To[int64](65532), FSGroup: ptr.To[int64](65532),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("dittofs.json")},
			},
			wantContainer: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false), RunAsNonRoot: ptr.To(false),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"NET_RAW"}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDS(func(ds *dittov1alpha1.DittoServer) {
				ds.Spec.PodSecurityContext, ds.Spec.SecurityContext = tc.pod, tc.container
				ds.Spec.Percona = &dittov1alpha1.PerconaSpec{Enabled: true}
			})
			before := ds.DeepCopy()
			sts, err := StatefulSet(ds, Inputs{}, "h")
			if err != nil {
				t.Fatal(err)
			}
			pod := sts.Spec.Template.Spec
			if !equality.Semantic.DeepEqual(pod.SecurityContext, tc.wantPod) {
				t.Errorf("pod security context\n got %s\nwant %s", toYAML(t, pod.SecurityContext), toYAML(t, tc.wantPod))
			}
			for _, c := range append(pod.InitContainers, pod.Containers...) {
				if !equality.Semantic.DeepEqual(c.SecurityContext, tc.wantContainer) {
					t.Errorf("%s security context\n got %s\nwant %s", c.Name, toYAML(t, c.SecurityContext), toYAML(t, tc.wantContainer))
				}
			}
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Error("the service account token is mounted")
			}
			if !equality.Semantic.DeepEqual(before, ds) {
				t.Error("the builder modified the DittoServer")
			}
		})
	}
}
