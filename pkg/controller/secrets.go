package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// generatedSecret is a Secret the operator creates when the user references none.
type generatedSecret struct {
	name   string
	length int
	build  func(ds *dittov1alpha1.DittoServer, value string) *corev1.Secret
}

func generatedSecrets(ds *dittov1alpha1.DittoServer) []generatedSecret {
	var out []generatedSecret
	if resources.JWTSecretSelector(ds).Name == resources.JWTSecretName(ds) {
		out = append(out, generatedSecret{resources.JWTSecretName(ds), resources.JWTSecretLength, resources.JWTSecret})
	}
	if resources.AdminPasswordSelector(ds).Name == resources.AdminSecretName(ds) {
		out = append(out, generatedSecret{resources.AdminSecretName(ds), resources.AdminPasswordLength, resources.AdminSecret})
	}
	return out
}

// ensureGeneratedSecrets creates the JWT and admin Secrets once, kept
// (resources.KeptForLabel): a DittoServer re-created under the same name
// reuses them, since the server on the retained volumes remembers them. They are
// never rotated: the server fixes the admin password at first start, and a new
// JWT secret would log every client out. It returns their resourceVersions.
func (c *Controller) ensureGeneratedSecrets(ctx context.Context, ds *dittov1alpha1.DittoServer) (map[string]string, error) {
	versions := map[string]string{}
	w := c.secretWriter()
	for _, g := range generatedSecrets(ds) {
		secret, err := createOnce(ctx, w, ds, ds.Namespace, g.name, func() (*corev1.Secret, error) {
			value, err := resources.RandomString(g.length)
			if err != nil {
				return nil, fmt.Errorf("generate Secret %s/%s: %w", ds.Namespace, g.name, err)
			}
			return g.build(ds, value), nil
		})
		if err != nil {
			return nil, err
		}
		if !resources.KeptFor(secret, ds) {
			// Made by an operator version that let the garbage collector
			// take generated Secrets (owned, or orphaned since): keep it
			// from now on.
			if secret, err = c.keepSecret(ctx, ds, secret); err != nil {
				return nil, err
			}
		}
		versions[g.name] = secret.ResourceVersion
	}
	return versions, nil
}

// keepSecret removes ds's owner reference from a generated Secret and labels
// it kept for ds (one merge patch guarded by its resourceVersion).
func (c *Controller) keepSecret(ctx context.Context, ds *dittov1alpha1.DittoServer, secret *corev1.Secret) (*corev1.Secret, error) {
	data, pt, err := ownerRefsPatch(secret, ds, false)
	if err != nil || data == nil {
		return secret, err
	}
	patched, err := c.kube.CoreV1().Secrets(secret.Namespace).Patch(ctx, secret.Name, pt, data, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return nil, fmt.Errorf("keep Secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	c.ownWrites.Record(cache.MetaObjectToName(ds), kit.ObjectKey{Kind: "Secret", Namespace: secret.Namespace, Name: secret.Name}, secret.ResourceVersion)
	return patched, nil
}
