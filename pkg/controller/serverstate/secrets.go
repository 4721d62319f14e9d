package serverstate

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
)

// Secret values are read with a live GET at the moment they are needed (a
// login, a password to set, S3 keys to give the store) and never kept: the
// informer caches Secret metadata only. Values never reach a log, an event
// or a condition; errors name the Secret and key, never the value.

// problemError is a Problem as an error, for steps that fail for a reason
// the user must fix (a missing Secret or key).
type problemError struct{ Problem }

func (e *problemError) Error() string { return e.Message }

// readSecretKey returns the value of one key of a Secret.
func (c *Controller) readSecretKey(ctx context.Context, namespace, name, key, field string) (string, string, error) {
	s, err := c.kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", "", &problemError{Problem{ReasonSecretNotFound, fmt.Sprintf("Secret %q (%s) not found in namespace %q", name, field, namespace)}}
	}
	if err != nil {
		return "", "", fmt.Errorf("get Secret %s/%s: %w", namespace, name, err)
	}
	v, ok := s.Data[key]
	if !ok {
		return "", "", &problemError{Problem{ReasonSecretKeyMissing, fmt.Sprintf("Secret %q (%s) has no key %q", name, field, key)}}
	}
	return string(v), s.ResourceVersion, nil
}

// secretVersion is the resourceVersion of a Secret in the metadata cache,
// "" when it is not there.
func (c *Controller) secretVersion(namespace, name string) string {
	obj, err := c.secretMeta.ByNamespace(namespace).Get(name)
	if err != nil {
		return ""
	}
	if m, ok := obj.(metav1.Object); ok {
		return m.GetResourceVersion()
	}
	return ""
}

// S3Credentials are the values of spec.s3.credentialsSecretRef.
type S3Credentials struct {
	AccessKeyID, SecretAccessKey, Endpoint string
}

// s3SecretName is the S3 credentials Secret of the server, "" for none.
func s3SecretName(ds *dittov1alpha1.DittoServer) string {
	if s3 := ds.Spec.S3; s3 != nil && s3.CredentialsSecretRef != nil {
		return s3.CredentialsSecretRef.SecretName
	}
	return ""
}

// readS3 reads the S3 credentials and endpoint with a live GET.
func (c *Controller) readS3(ctx context.Context, ds *dittov1alpha1.DittoServer) (S3Credentials, string, error) {
	ref := ds.Spec.S3.CredentialsSecretRef
	s, err := c.kube.CoreV1().Secrets(ds.Namespace).Get(ctx, ref.SecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return S3Credentials{}, "", &problemError{Problem{ReasonSecretNotFound,
			fmt.Sprintf("Secret %q (spec.s3.credentialsSecretRef) not found in namespace %q", ref.SecretName, ds.Namespace)}}
	}
	if err != nil {
		return S3Credentials{}, "", fmt.Errorf("get Secret %s/%s: %w", ds.Namespace, ref.SecretName, err)
	}
	var creds S3Credentials
	for _, k := range []struct {
		key  string
		into *string
		need bool
	}{
		{orDefault(ref.AccessKeyIDKey, resources.DefaultS3AccessKeyIDKey), &creds.AccessKeyID, true},
		{orDefault(ref.SecretAccessKeyKey, resources.DefaultS3SecretAccessKeyKey), &creds.SecretAccessKey, true},
		{orDefault(ref.EndpointKey, resources.DefaultS3EndpointKey), &creds.Endpoint, false},
	} {
		v, ok := s.Data[k.key]
		if !ok && k.need {
			return S3Credentials{}, "", &problemError{Problem{ReasonSecretKeyMissing,
				fmt.Sprintf("Secret %q (spec.s3.credentialsSecretRef) has no key %q", ref.SecretName, k.key)}}
		}
		*k.into = string(v)
	}
	if PrivateEndpoint(creds.Endpoint) && !ds.Spec.S3.AllowPrivateEndpoint {
		// The value is not quoted: it comes from a Secret, and conditions
		// and events are read by more people than the Secret.
		return S3Credentials{}, "", &problemError{Problem{ReasonInvalidSpec, fmt.Sprintf(
			"the S3 endpoint in Secret %q key %q is a private address or an internal name, which the server refuses unless spec.s3.allowPrivateEndpoint is true (that turns off the server's guard against request forgery for private addresses)",
			ref.SecretName, orDefault(ref.EndpointKey, resources.DefaultS3EndpointKey))}}
	}
	return creds, s.ResourceVersion, nil
}

// OperatorSecretName is the Secret with the operator account's password.
func OperatorSecretName(ds *dittov1alpha1.DittoServer) string {
	return resources.OperatorSecretName(ds)
}

// operatorSecret is the Secret <name>-operator, kept like <name>-admin: it
// lives as long as the volumes and the database that remember the account.
func operatorSecret(ds *dittov1alpha1.DittoServer, password string) *corev1.Secret {
	return resources.OperatorSecret(ds, OperatorPasswordKey, password)
}

// serverSecrets are the Secrets holding a DittoServer's own credentials: the
// generated admin password and JWT signing key, the operator's account, the
// admin and JWT Secrets the spec names, the database's, S3's and the API's
// TLS key. A DittoUser in the server's namespace may not name one as its
// password: the server would give that value to a team's user, and the
// user's status would tell whether the Secret and key exist.
func serverSecrets(ds *dittov1alpha1.DittoServer) map[string]bool {
	names := map[string]bool{
		resources.CredentialsSecretName(ds): true,
		resources.OperatorSecretName(ds):    true,
	}
	for _, n := range []string{resources.PostgresSecretName(ds), resources.TLSSecretName(ds), resources.IssuedCASecretName(ds), s3SecretName(ds)} {
		if n != "" {
			names[n] = true
		}
	}
	if id := ds.Spec.Identity; id != nil {
		if id.Admin != nil && id.Admin.PasswordSecretRef != nil {
			names[id.Admin.PasswordSecretRef.Name] = true
		}
		if id.JWT != nil && id.JWT.SecretRef != nil {
			names[id.JWT.SecretRef.Name] = true
		}
	}
	return names
}
