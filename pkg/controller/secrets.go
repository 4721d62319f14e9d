package controller

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/kit"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// ensureGeneratedSecrets creates the generated credentials Secrets once,
// kept (resources.KeptForLabel): a DittoServer re-created under the same
// name reuses them, since the server on the retained volumes remembers them.
// They are never rotated: the server fixes the admin password at first
// start, and a new JWT secret would log every client out. A value the
// Secret lacks (the user dropped their own Secret for it since) is added
// without touching the others. It returns their resourceVersions.
func (c *Controller) ensureGeneratedSecrets(ctx context.Context, ds *dittov1alpha1.DittoServer) (map[string]string, error) {
	versions := map[string]string{}
	w := c.secretWriter()
	for _, g := range resources.GeneratedSecrets(ds) {
		secret, created, err := w.existingOrCreated(ctx, ds, ds.Namespace, g.Name, func() (*corev1.Secret, error) {
			data, err := generateValues(ds, g.Name, g.Values)
			if err != nil {
				return nil, err
			}
			return resources.CredentialsSecret(ds, g.Name, data), nil
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
		switch {
		case created:
			// Remember its keys, so later passes need not read it.
			c.rememberKeys(secret)
		case ds.Status.ObservedGeneration != ds.Generation:
			// The values a Secret must hold change only with the spec
			// (a dropped secretRef): a spec the operator has already
			// acted on needs no look, so a converged resync stays quiet.
			if secret, err = c.completeSecret(ctx, ds, secret, g.Values); err != nil {
				return nil, err
			}
		}
		versions[g.Name] = secret.ResourceVersion
	}
	return versions, nil
}

// generateValues draws a random value for each of values.
func generateValues(ds *dittov1alpha1.DittoServer, name string, values []resources.GeneratedValue) (map[string]string, error) {
	data := make(map[string]string, len(values))
	for _, v := range values {
		value, err := resources.RandomString(v.Length)
		if err != nil {
			return nil, fmt.Errorf("generate Secret %s/%s key %s: %w", ds.Namespace, name, v.Key, err)
		}
		data[v.Key] = value
	}
	return data, nil
}

// completeSecret adds to an existing generated Secret the values it lacks
// (one merge patch guarded by its resourceVersion); it reads the Secret's
// key names once per resourceVersion, never keeping the values.
func (c *Controller) completeSecret(ctx context.Context, ds *dittov1alpha1.DittoServer, secret *corev1.Secret, values []resources.GeneratedValue) (*corev1.Secret, error) {
	info, ok := c.secretKeys.get(secret.Namespace, secret.Name, secret.ResourceVersion)
	if !ok {
		live, err := c.kube.CoreV1().Secrets(secret.Namespace).Get(ctx, secret.Name, metav1.GetOptions{ResourceVersion: secret.ResourceVersion})
		if err != nil {
			return nil, fmt.Errorf("read Secret %s/%s: %w", secret.Namespace, secret.Name, err)
		}
		info = c.rememberKeys(live)
		secret.ResourceVersion = live.ResourceVersion
	}
	var missing []resources.GeneratedValue
	for _, v := range values {
		if _, found := info.lengths[v.Key]; !found {
			missing = append(missing, v)
		}
	}
	if len(missing) == 0 {
		return secret, nil
	}
	data, err := generateValues(ds, secret.Name, missing)
	if err != nil {
		return nil, err
	}
	encoded := map[string][]byte{}
	for k, v := range data {
		encoded[k] = []byte(v)
	}
	patch, err := json.Marshal(map[string]interface{}{
		"metadata": map[string]interface{}{"resourceVersion": secret.ResourceVersion},
		"data":     encoded,
	})
	if err != nil {
		return nil, fmt.Errorf("encode patch of Secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	patched, err := c.kube.CoreV1().Secrets(secret.Namespace).Patch(ctx, secret.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return nil, fmt.Errorf("add keys to Secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	c.ownWrites.Record(cache.MetaObjectToName(ds), kit.ObjectKey{Kind: "Secret", Namespace: secret.Namespace, Name: secret.Name}, secret.ResourceVersion)
	c.rememberKeys(patched)
	klog.FromContext(ctx).V(2).Info("Added generated values to a Secret", "secret", klog.KObj(secret), "dittoserver", klog.KObj(ds))
	return patched, nil
}

// rememberKeys keeps the key names and value lengths of secret at its
// resourceVersion (never the values).
func (c *Controller) rememberKeys(secret *corev1.Secret) secretInfo {
	info := secretInfo{resourceVersion: secret.ResourceVersion, lengths: map[string]int{}}
	for k, v := range secret.Data {
		info.lengths[k] = len(v)
	}
	c.secretKeys.put(secret.Namespace, secret.Name, info)
	return info
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
