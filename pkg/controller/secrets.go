package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
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

// ensureGeneratedSecrets creates the JWT and admin Secrets once. They are
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
		versions[g.name] = secret.ResourceVersion
	}
	return versions, nil
}
