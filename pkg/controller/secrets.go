package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

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
	owner := cache.MetaObjectToName(ds)
	for _, g := range generatedSecrets(ds) {
		key := ownKey{"Secret", ds.Namespace, g.name}
		obj, err := c.secretMeta.ByNamespace(ds.Namespace).Get(g.name)
		if apierrors.IsNotFound(err) && c.ownWrites.stale(owner, key, "") {
			return nil, errCacheBehind
		}
		if err == nil {
			m, ok := obj.(metav1.Object)
			if !ok {
				return nil, fmt.Errorf("unexpected object %T in the Secret cache", obj)
			}
			c.ownWrites.stale(owner, key, m.GetResourceVersion()) // drops the record of its creation
			if !controlledBy(m, ds) {
				return nil, &notOwnedError{"Secret", ds.Namespace, g.name}
			}
			versions[g.name] = m.GetResourceVersion()
			continue
		}
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
		value, err := resources.RandomString(g.length)
		if err != nil {
			return nil, err
		}
		created, err := c.kube.CoreV1().Secrets(ds.Namespace).Create(ctx, g.build(ds, value), createOpts)
		if apierrors.IsAlreadyExists(err) {
			// Created by an earlier pass that the cache has not seen yet, or
			// someone else's Secret: look once, and never overwrite it.
			created, err = c.kube.CoreV1().Secrets(ds.Namespace).Get(ctx, g.name, metav1.GetOptions{})
			if err == nil && !controlledBy(created, ds) {
				return nil, &notOwnedError{"Secret", ds.Namespace, g.name}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("create Secret %s/%s: %w", ds.Namespace, g.name, err)
		}
		c.ownWrites.replaced(owner, key, "")
		klog.FromContext(ctx).V(2).Info("Created", "kind", "Secret", "name", g.name)
		versions[g.name] = created.ResourceVersion
	}
	return versions, nil
}
