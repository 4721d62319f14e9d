package e2e

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Every share created with spec.s3 keeps its blocks in that bucket (a share's
// stores are bound at its creation): removing spec.s3 or pointing it at
// another bucket or region is refused at admission, naming the field.
// Adding spec.s3 to a server without it, and rotating its credentials, stay
// allowed.
func TestAdmissionS3CannotMoveOrGo(t *testing.T) {
	n := newNamespace(t, nil)
	client := env.dyn.Resource(dittoServerGVR).Namespace(n.name)

	plain := sampleDittoServer(t, readSample(t, "minimal"))
	plain.SetName("no-s3")
	mergeSpec(t, plain, `replicas: 0`)
	if _, err := client.Create(t.Context(), plain, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Run("adding spec.s3", func(t *testing.T) {
		patch := `{"spec":{"s3":{"bucket":"files","credentialsSecretRef":{"secretName":"s3"}}}}`
		if _, err := client.Patch(t.Context(), plain.GetName(), types.MergePatchType, []byte(patch), metav1.PatchOptions{DryRun: dryRun}); err != nil {
			t.Fatalf("rejected: %v", err)
		}
	})

	ds := sampleDittoServer(t, readSample(t, "minimal"))
	ds.SetName("with-s3")
	mergeSpec(t, ds, `{replicas: 0, s3: {bucket: files, region: eu-west-1, credentialsSecretRef: {secretName: s3}}}`)
	if _, err := client.Create(t.Context(), ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, patch, field, msg string }{
		{"removed", `{"spec":{"s3":null}}`, "spec.s3", "cannot be removed once set"},
		{"bucket", `{"spec":{"s3":{"bucket":"other"}}}`, "spec.s3.bucket", "is immutable"},
		{"bucket removed", `{"spec":{"s3":{"bucket":null}}}`, "spec.s3.bucket", "is immutable"},
		{"region", `{"spec":{"s3":{"region":"us-east-1"}}}`, "spec.s3.region", "is immutable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.Patch(t.Context(), ds.GetName(), types.MergePatchType, []byte(tc.patch), metav1.PatchOptions{DryRun: dryRun})
			assertInvalid(t, err, tc.field, tc.msg)
		})
	}
	t.Run("credentials can change", func(t *testing.T) {
		patch := `{"spec":{"s3":{"credentialsSecretRef":{"secretName":"s3-rotated"}}}}`
		if _, err := client.Patch(t.Context(), ds.GetName(), types.MergePatchType, []byte(patch), metav1.PatchOptions{DryRun: dryRun}); err != nil {
			t.Fatalf("rejected: %v", err)
		}
	})
}
