package controller

import (
	"context"
	"crypto/rand"
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

// ensureIssuedTLS issues, without spec.controlPlane.tls.secretName, the
// CA and the API's serving certificate (resources/certs.go) and renews them
// at two thirds of their lifetime. A converged pass decides from the Secret
// metadata cache alone; the CA's key is read live only to sign. It returns
// the serving Secret's resourceVersion, which the config hash carries: a
// renewed certificate rolls the pod like any other change of an input.
func (c *Controller) ensureIssuedTLS(ctx context.Context, ds *dittov1alpha1.DittoServer) (map[string]string, error) {
	if !resources.TLSIssued(ds) {
		return nil, nil
	}
	w := c.tlsSecretWriter()
	caSecret, fresh, err := c.ensureCA(ctx, ds, w)
	if err != nil {
		return nil, err
	}
	name := resources.IssuedTLSSecretName(ds)
	serving, created, err := w.existingOrCreated(ctx, ds, ds.Namespace, name, func() (*corev1.Secret, error) {
		return c.issueServing(ctx, ds, caSecret, fresh)
	})
	if err != nil {
		return nil, err
	}
	if orphan := !controlledBy(serving, ds); !created && (orphan || resources.RenewDue(serving, c.now()) || !resources.SameCA(serving, caSecret)) {
		desired, err := c.issueServing(ctx, ds, caSecret, fresh)
		if err != nil {
			return nil, err
		}
		if serving, err = c.replaceIssued(ctx, ds, serving, desired); err != nil {
			return nil, err
		}
		c.announceIssued(ds, orphan, "certificate", name)
	}
	return map[string]string{name: serving.ResourceVersion}, nil
}

// freshCA is a CA this pass issued, with its trust bundle: signing with it
// needs no read of the CA Secret.
type freshCA struct {
	ca     resources.Issued
	bundle []byte
}

// ensureCA returns the CA Secret, issuing or renewing it; fresh is set when
// this pass issued the CA.
func (c *Controller) ensureCA(ctx context.Context, ds *dittov1alpha1.DittoServer, w writer[*corev1.Secret]) (*corev1.Secret, *freshCA, error) {
	var ca resources.Issued
	secret, created, err := w.existingOrCreated(ctx, ds, ds.Namespace, resources.IssuedCASecretName(ds), func() (*corev1.Secret, error) {
		var err error
		if ca, err = resources.IssueCA(ds, c.now(), rand.Reader); err != nil {
			return nil, fmt.Errorf("issue CA of %s/%s: %w", ds.Namespace, ds.Name, err)
		}
		return resources.CASecret(ds, ca, resources.TrustBundle(ca, nil, c.now())), nil
	})
	if err != nil {
		return nil, nil, err
	}
	if created {
		return secret, &freshCA{ca, resources.TrustBundle(ca, nil, c.now())}, nil
	}
	orphan := !controlledBy(secret, ds)
	if !orphan && !resources.RenewDue(secret, c.now()) {
		return secret, nil, nil
	}
	live, err := c.kube.CoreV1().Secrets(ds.Namespace).Get(ctx, secret.Name, metav1.GetOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("read Secret %s/%s: %w", ds.Namespace, secret.Name, err)
	}
	if ca, err = resources.IssueCA(ds, c.now(), rand.Reader); err != nil {
		return nil, nil, fmt.Errorf("renew CA of %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	// The previous CA stays trusted while the pod still serves its
	// certificate: until the rollout, and at most until it expires. An
	// orphan's CA (left by an earlier DittoServer of this name, or made by
	// anyone with the operator's labels) is not trusted at all.
	previous := live.Data[resources.CACertKey]
	if orphan {
		previous = nil
	}
	bundle := resources.TrustBundle(ca, previous, c.now())
	if secret, err = c.replaceIssued(ctx, ds, live, resources.CASecret(ds, ca, bundle)); err != nil {
		return nil, nil, err
	}
	c.announceIssued(ds, orphan, "CA", secret.Name)
	return secret, &freshCA{ca, bundle}, nil
}

// issueServing signs a serving certificate with the CA this pass issued,
// or else with the CA Secret's key read live.
func (c *Controller) issueServing(ctx context.Context, ds *dittov1alpha1.DittoServer, caSecret *corev1.Secret, fresh *freshCA) (*corev1.Secret, error) {
	if fresh == nil {
		live, err := c.kube.CoreV1().Secrets(ds.Namespace).Get(ctx, caSecret.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("read Secret %s/%s: %w", ds.Namespace, caSecret.Name, err)
		}
		parsed, err := resources.ParseCA(live.Data)
		if err != nil {
			// Someone with write access to the namespace broke the CA:
			// a Failed pass (one Warning), never a certificate of theirs.
			return nil, fmt.Errorf("the CA in Secret %s/%s: %w", ds.Namespace, caSecret.Name, err)
		}
		fresh = &freshCA{parsed, live.Data[resources.TLSCAKey]}
	}
	cert, err := resources.IssueServingCert(ds, fresh.ca, c.now(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("issue the API's certificate of %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	bundle := fresh.bundle
	if len(bundle) == 0 {
		bundle = fresh.ca.CertPEM
	}
	return resources.IssuedTLSSecret(ds, cert, fresh.ca, bundle), nil
}

// replaceIssued writes desired's certificate, labels and owner over
// existing: one merge patch guarded by existing's resourceVersion (the
// operator's Secret rights are create and patch, no update).
func (c *Controller) replaceIssued(ctx context.Context, ds *dittov1alpha1.DittoServer, existing, desired *corev1.Secret) (*corev1.Secret, error) {
	patch, err := json.Marshal(map[string]interface{}{
		"metadata": map[string]interface{}{"resourceVersion": existing.ResourceVersion,
			"labels": desired.Labels, "ownerReferences": desired.OwnerReferences},
		"data": desired.Data,
	})
	if err != nil {
		return nil, fmt.Errorf("encode patch of Secret %s/%s: %w", ds.Namespace, desired.Name, err)
	}
	updated, err := c.kube.CoreV1().Secrets(ds.Namespace).Patch(ctx, desired.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return nil, fmt.Errorf("renew Secret %s/%s: %w", ds.Namespace, desired.Name, err)
	}
	c.ownWrites.Record(cache.MetaObjectToName(ds), kit.ObjectKey{Kind: "Secret", Namespace: ds.Namespace, Name: desired.Name}, existing.ResourceVersion)
	klog.FromContext(ctx).V(2).Info("Issued a certificate anew", "secret", klog.KObj(updated), "dittoserver", klog.KObj(ds))
	return updated, nil
}

// announceIssued says that a certificate was renewed, or issued anew over
// an orphan it took over.
func (c *Controller) announceIssued(ds *dittov1alpha1.DittoServer, orphan bool, what, secret string) {
	if orphan {
		c.recorder.Eventf(ds, corev1.EventTypeNormal, ReasonAdopted,
			"Adopted Secret %s and issued the API's %s in it anew: a certificate the operator did not issue for this DittoServer is not trusted", secret, what)
		return
	}
	c.recorder.Eventf(ds, corev1.EventTypeNormal, ReasonCertificateRenewed,
		"Renewed the API's %s in Secret %s; the server restarts to serve it", what, secret)
}

// tlsSecretWriter creates the issued TLS Secrets. Besides those this
// DittoServer controls it takes over orphans of its name (left by
// `kubectl delete --cascade=orphan`), but never their content: an orphan is
// issued anew (ensureIssuedTLS). A Secret another owner controls, or
// without the operator's labels for this name, is refused
// (ResourceNotOwned).
func (c *Controller) tlsSecretWriter() writer[*corev1.Secret] {
	w := c.secretWriter()
	w.adopts = controlledOrAdoptable[*corev1.Secret]
	return w
}
