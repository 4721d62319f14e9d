package controller

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// What the server demands of the secrets it is given.
const (
	minJWTSecretLength     = 32
	minAdminPasswordLength = 8
)

// problem is a reason the spec cannot be realised as it stands; it becomes
// ConfigReady=False and one Warning event.
type problem struct {
	reason  string
	message string
}

// secretRequirement is one Secret the pod reads and the keys it needs.
type secretRequirement struct {
	name  string
	field string   // the spec field that names it, for messages
	keys  []string // keys that must be present
	// minLen is a minimum value length for keys[0] (the JWT secret).
	minLen int
}

// userSecrets lists the Secrets named in the spec (not the generated ones,
// nor the Percona user Secret, which the database gate waits for).
func userSecrets(ds *dittov1alpha1.DittoServer) []secretRequirement {
	var reqs []secretRequirement
	if jwt := resources.UserJWTSecret(ds); jwt != nil {
		reqs = append(reqs, secretRequirement{name: jwt.Name, field: "spec.identity.jwt.secretRef",
			keys: []string{jwt.Key}, minLen: minJWTSecretLength})
	}
	if admin := resources.UserAdminPasswordSecret(ds); admin != nil {
		reqs = append(reqs, secretRequirement{name: admin.Name, field: "spec.identity.admin.passwordSecretRef",
			keys: []string{admin.Key}, minLen: minAdminPasswordLength})
	}
	if s3 := ds.Spec.S3; s3 != nil && s3.CredentialsSecretRef != nil {
		ref := s3.CredentialsSecretRef
		reqs = append(reqs, secretRequirement{name: ref.SecretName, field: "spec.s3.credentialsSecretRef",
			keys: []string{orDefault(ref.AccessKeyIDKey, "accessKeyId"), orDefault(ref.SecretAccessKeyKey, "secretAccessKey")}})
	}
	if name := resources.UserTLSSecretName(ds); name != "" {
		// ca.crt is optional: without it the operator verifies the server
		// with the system roots.
		reqs = append(reqs, secretRequirement{name: name, field: "spec.controlPlane.tls.secretName",
			keys: []string{resources.TLSCertKey, resources.TLSKeyKey}})
	}
	if db := ds.Spec.Database; db != nil && db.PostgresSecretRef != nil && !resources.PerconaEnabled(ds) {
		reqs = append(reqs, secretRequirement{name: db.PostgresSecretRef.Name, field: "spec.database.postgresSecretRef",
			keys: postgresSecretKeys})
	}
	return reqs
}

// postgresSecretKeys are the keys of a PostgreSQL Secret (Percona's layout).
var postgresSecretKeys = []string{"host", "port", "user", "password", "dbname"}

// referencedSecretNames lists every Secret the pod reads, for the index that
// maps a Secret change to the DittoServers it rolls.
func referencedSecretNames(ds *dittov1alpha1.DittoServer) []string {
	var names []string
	for _, g := range resources.GeneratedSecrets(ds) {
		names = append(names, g.Name)
	}
	for _, r := range userSecrets(ds) {
		names = append(names, r.name)
	}
	if resources.PerconaEnabled(ds) {
		names = append(names, resources.PerconaUserSecretName(ds))
	}
	if resources.TLSIssued(ds) {
		names = append(names, resources.IssuedCASecretName(ds), resources.IssuedTLSSecretName(ds))
	}
	sort.Strings(names)
	return dedupe(names)
}

// checkSpec finds what in the spec itself cannot be realised: a name the
// children cannot carry, an invalid grace-period override, a missing
// StorageClass.
func (c *Controller) checkSpec(ds *dittov1alpha1.DittoServer) (*problem, error) {
	if err := resources.ValidateName(ds); err != nil {
		return &problem{ReasonInvalidSpec, err.Error()}, nil
	}
	if _, err := resources.TerminationGracePeriodSeconds(ds); err != nil {
		return &problem{ReasonInvalidSpec, err.Error()}, nil
	}
	// CEL refuses this today; an object stored before the rule existed
	// gets a condition, not a nil dereference.
	if db := ds.Spec.Database; db != nil && db.Type == dittov1alpha1.DatabasePostgres && db.PostgresSecretRef == nil && !resources.PerconaEnabled(ds) {
		return &problem{ReasonInvalidSpec, "spec.database.postgresSecretRef is required when spec.database.type is postgres (or set spec.percona.enabled to run a PostgreSQL cluster)"}, nil
	}
	for _, sc := range []struct {
		name  *string
		field string
	}{{ds.Spec.Storage.StorageClassName, "spec.storage.storageClassName"}, {perconaStorageClass(ds), "spec.percona.storageClassName"}} {
		if sc.name == nil || *sc.name == "" {
			continue
		}
		if _, err := c.scLister.Get(*sc.name); apierrors.IsNotFound(err) {
			return &problem{ReasonStorageClassNotFound, fmt.Sprintf("StorageClass %q (%s) not found: create it or name an existing one", *sc.name, sc.field)}, nil
		} else if err != nil {
			return nil, fmt.Errorf("read StorageClass %s from cache: %w", *sc.name, err)
		}
	}
	return nil, nil
}

// resolveUserSecrets checks the Secrets the spec names (missing Secrets or
// keys, values too short) and returns their resourceVersions, which go into
// the config hash.
func (c *Controller) resolveUserSecrets(ctx context.Context, ds *dittov1alpha1.DittoServer) (map[string]string, *problem, error) {
	versions := map[string]string{}
	for _, req := range userSecrets(ds) {
		info, p, err := c.lookupSecret(ctx, ds.Namespace, req)
		if p != nil || err != nil {
			return nil, p, err
		}
		versions[req.name] = info.resourceVersion
	}
	return versions, nil, nil
}

// lookupSecret checks one referenced Secret against the metadata cache and,
// when its version is new to the operator, reads its key names and value
// lengths once (never keeping the values).
func (c *Controller) lookupSecret(ctx context.Context, namespace string, req secretRequirement) (secretInfo, *problem, error) {
	obj, err := c.secretMeta.ByNamespace(namespace).Get(req.name)
	if apierrors.IsNotFound(err) {
		return secretInfo{}, &problem{ReasonSecretNotFound, fmt.Sprintf("Secret %q (%s) not found in namespace %q: create it or change the reference", req.name, req.field, namespace)}, nil
	}
	if err != nil {
		return secretInfo{}, nil, fmt.Errorf("read Secret %s/%s from cache: %w", namespace, req.name, err)
	}
	meta, ok := obj.(metav1.Object)
	if !ok {
		return secretInfo{}, nil, fmt.Errorf("unexpected object %T in the Secret cache", obj)
	}
	info, ok := c.secretKeys.get(namespace, req.name, meta.GetResourceVersion())
	if !ok {
		secret, err := c.kube.CoreV1().Secrets(namespace).Get(ctx, req.name, metav1.GetOptions{ResourceVersion: meta.GetResourceVersion()})
		if apierrors.IsNotFound(err) {
			return secretInfo{}, &problem{ReasonSecretNotFound, fmt.Sprintf("Secret %q (%s) not found in namespace %q: create it or change the reference", req.name, req.field, namespace)}, nil
		}
		if err != nil {
			return secretInfo{}, nil, fmt.Errorf("read Secret %s/%s: %w", namespace, req.name, err)
		}
		info = secretInfo{resourceVersion: secret.ResourceVersion, lengths: map[string]int{}}
		for k, v := range secret.Data {
			info.lengths[k] = len(v)
		}
		for k, v := range secret.StringData {
			info.lengths[k] = len(v)
		}
		c.secretKeys.put(namespace, req.name, info)
		klog.FromContext(ctx).V(4).Info("Read the key names of a referenced Secret", "secret", klog.KRef(namespace, req.name),
			"resourceVersion", info.resourceVersion)
	}
	for i, key := range req.keys {
		n, found := info.lengths[key]
		if !found {
			return info, &problem{ReasonSecretKeyMissing, fmt.Sprintf("Secret %q (%s) has no key %q", req.name, req.field, key)}, nil
		}
		if i == 0 && n < req.minLen {
			return info, &problem{ReasonSecretInvalid, fmt.Sprintf("Secret %q key %q (%s) must hold at least %d characters", req.name, key, req.field, req.minLen)}, nil
		}
	}
	return info, nil, nil
}

func perconaStorageClass(ds *dittov1alpha1.DittoServer) *string {
	if resources.PerconaEnabled(ds) {
		return ds.Spec.Percona.StorageClassName
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}
