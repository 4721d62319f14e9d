package operator

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ServiceAccountUser is the user name the API server gives a ServiceAccount's
// tokens: what the audit log and RBAC see.
func ServiceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// ServiceAccountKubeconfig requests a token of the ServiceAccount
// namespace/name with the TokenRequest API, as the kubelet does for a pod
// that runs as it, and writes a kubeconfig at path that authenticates with
// that token to the cluster cfg points at (same server, same CA). An operator
// started with it has exactly the ServiceAccount's permissions. The token is
// valid for ttl; the API server may shorten it, which is an error here.
func ServiceAccountKubeconfig(ctx context.Context, kube kubernetes.Interface, cfg *rest.Config, namespace, name, path string, ttl time.Duration) error {
	seconds := int64(ttl / time.Second)
	tr, err := kube.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("request a token of ServiceAccount %s/%s: %w", namespace, name, err)
	}
	if left := time.Until(tr.Status.ExpirationTimestamp.Time); left < ttl-time.Minute {
		return fmt.Errorf("token of ServiceAccount %s/%s expires in %s, want %s", namespace, name, left.Round(time.Second), ttl)
	}
	const ctxName = "serviceaccount"
	kc := clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{ctxName: {
			Server:                   cfg.Host,
			CertificateAuthorityData: cfg.TLSClientConfig.CAData,
		}},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{ctxName: {Token: tr.Status.Token}},
		Contexts: map[string]*clientcmdapi.Context{ctxName: {
			Cluster: ctxName, AuthInfo: ctxName, Namespace: namespace,
		}},
		CurrentContext: ctxName,
	}
	// WriteToFile creates the file 0600: it holds a credential.
	if err := clientcmd.WriteToFile(kc, path); err != nil {
		return fmt.Errorf("write the kubeconfig of ServiceAccount %s/%s: %w", namespace, name, err)
	}
	return nil
}

// WaitAuthorized waits until the API server's authorizer allows the
// ServiceAccount namespace/name every request in attrs. RBAC objects take
// effect once the authorizer's cache holds them, a moment after they were
// created; an operator started before would see 403s that no user would.
func WaitAuthorized(ctx context.Context, kube kubernetes.Interface, namespace, name string, attrs ...authorizationv1.ResourceAttributes) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, a := range attrs {
		for {
			allowed, err := Allowed(ctx, kube, namespace, name, a)
			if err == nil && allowed {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("ServiceAccount %s/%s may not %s %s/%s in %q (%v): %w",
					namespace, name, a.Verb, a.Resource, a.Subresource, a.Namespace, err, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// Allowed asks the API server (a SubjectAccessReview) whether the
// ServiceAccount namespace/name may make the request attrs describes.
func Allowed(ctx context.Context, kube kubernetes.Interface, namespace, name string, attrs authorizationv1.ResourceAttributes) (bool, error) {
	sar, err := kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: ServiceAccountUser(namespace, name),
			// The groups every token of a ServiceAccount carries.
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
			ResourceAttributes: &attrs,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("review access of ServiceAccount %s/%s: %w", namespace, name, err)
	}
	return sar.Status.Allowed, nil
}
