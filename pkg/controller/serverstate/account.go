package serverstate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// The operator's own account. It logs in with an account it creates once,
// dittofs-operator, whose generated password lives in the Secret
// <name>-operator, and never with the admin password after that: the admin
// password belongs to the user, who may change it. The admin password is
// read (live, never kept) only to create the account, or to reset its
// password when its login is refused (a restored volume, a lost Secret).
//
// DittoFS v0.29 requires the admin role for stores, users and shares, and
// marks an admin created or reset through the API as "must change password";
// dfsapi's Login clears that mark by setting the same password again, so
// the account is created, and reset, with the admin role directly.

// session is a logged-in client of one server; its token is refreshed by
// the client, so a converged pass costs no login.
type session struct {
	api     dfsapi.API
	uid     types.UID
	baseURL string
	// tls identifies the TLS Secret version the client verifies with.
	tls string
}

type sessions struct {
	mu sync.Mutex
	m  map[cache.ObjectName]*session
}

func newSessions() *sessions { return &sessions{m: map[cache.ObjectName]*session{}} }

func (s *sessions) get(key cache.ObjectName, uid types.UID, baseURL, tls string) dfsapi.API {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.m[key]; ok && cur.uid == uid && cur.baseURL == baseURL && cur.tls == tls {
		return cur.api
	}
	return nil
}

func (s *sessions) put(key cache.ObjectName, sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = sess
}

func (s *sessions) forget(key cache.ObjectName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}

// login returns a logged-in client of the server as the operator account.
func (c *Controller) login(ctx context.Context, ds *dittov1alpha1.DittoServer) (dfsapi.API, error) {
	key := cache.MetaObjectToName(ds)
	baseURL, err := c.endpoints.Resolve(ctx, ds)
	if err != nil {
		return nil, &unreachableError{err}
	}
	rt, tlsID, err := c.apiTransport(ctx, ds)
	if err != nil {
		return nil, err
	}
	if api := c.sessions.get(key, ds.UID, baseURL, tlsID); api != nil {
		return api, nil
	}
	api := c.newAPI(baseURL, rt)
	secret, password, err := c.operatorPassword(ctx, ds)
	if err != nil {
		return nil, err
	}
	err = api.Login(ctx, OperatorUsername, password)
	if err != nil && !dfsapi.IsUnauthorized(err) {
		return nil, classify(err)
	}
	if err != nil {
		// Unknown to the server, or its password is not ours: set it up
		// with the admin login, if this endpoint may be sent the admin
		// password.
		if tlsID == "" && secret.Annotations[AccountConfirmedAnnotation] == string(ds.UID) {
			return nil, &problemError{Problem{ReasonLoginFailed, fmt.Sprintf(
				"the server's API refused the operator account %q, which it accepted before; over plain HTTP the operator cannot tell that endpoint from another, so it does not send the admin password: "+
					"serve the API over TLS (remove spec.controlPlane.tls.mode: Disabled), or, if the server really lost the account (a restored volume), delete Secret %q to set it up again", OperatorUsername, secret.Name)}}
		}
		if err := c.setUpOperatorAccount(ctx, ds, baseURL, rt, password); err != nil {
			return nil, err
		}
		if err := api.Login(ctx, OperatorUsername, password); err != nil {
			return nil, fmt.Errorf("log in as %s after setting the account up: %w", OperatorUsername, classify(err))
		}
	}
	if err := c.confirmAccount(ctx, ds, secret); err != nil {
		return nil, err
	}
	c.sessions.put(key, &session{api: api, uid: ds.UID, baseURL: baseURL, tls: tlsID})
	klog.FromContext(ctx).V(2).Info("Logged in to the server's API", "user", OperatorUsername, "url", baseURL)
	return api, nil
}

// operatorPassword reads the operator account's password, creating the
// Secret with a new one the first time. The Secret is written before the
// account exists, so a crash in between loses nothing: the next pass finds
// the Secret and sets the account up with it.
func (c *Controller) operatorPassword(ctx context.Context, ds *dittov1alpha1.DittoServer) (*corev1.Secret, string, error) {
	name := OperatorSecretName(ds)
	s, err := c.kube.CoreV1().Secrets(ds.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		// Kept for this name (it outlives the DittoServer, like the volumes
		// where the server remembers the account), or controlled by it (made
		// by an earlier operator version).
		if !metav1.IsControlledBy(s, ds) && !resources.KeptFor(s, ds) {
			return nil, "", &problemError{Problem{ReasonNotOwned, fmt.Sprintf("Secret %q exists and was not made by the operator for this DittoServer; the operator does not use or overwrite it", name)}}
		}
		if pw := string(s.Data[OperatorPasswordKey]); len(pw) >= minUserPasswordLength {
			return s, pw, nil
		}
		return nil, "", &problemError{Problem{ReasonSecretInvalid, fmt.Sprintf("Secret %q has no usable key %q; delete it and the operator makes a new one", name, OperatorPasswordKey)}}
	}
	if !apierrors.IsNotFound(err) {
		return nil, "", fmt.Errorf("get Secret %s/%s: %w", ds.Namespace, name, err)
	}
	pw, err := resources.RandomString(operatorPasswordLength)
	if err != nil {
		return nil, "", err
	}
	created, err := c.kube.CoreV1().Secrets(ds.Namespace).Create(ctx, operatorSecret(ds, pw), metav1.CreateOptions{FieldManager: EventComponent})
	if err != nil {
		if apierrors.IsAlreadyExists(err) {
			return c.operatorPassword(ctx, ds)
		}
		return nil, "", fmt.Errorf("create Secret %s/%s: %w", ds.Namespace, name, err)
	}
	klog.FromContext(ctx).V(2).Info("Created", "kind", "Secret", "name", name)
	return created, pw, nil
}

// AccountConfirmedAnnotation on the operator Secret holds the UID of the
// DittoServer whose server accepted the account's login. From then on, a
// server reached over plain HTTP that refuses the account is not sent the
// admin password: without TLS, the operator cannot tell the server from
// another endpoint that answers at its address (a pod with the Service's
// labels, a spoofed address), and refusing the account would be that
// endpoint's way to obtain the admin password. Over HTTPS the certificate
// is verified first, so the fallback (a restored volume, a lost account)
// stays automatic there.
const AccountConfirmedAnnotation = "dittofs.dittofs.com/operator-account-confirmed-for"

// confirmAccount records, once per DittoServer, that its server accepted
// the operator account.
func (c *Controller) confirmAccount(ctx context.Context, ds *dittov1alpha1.DittoServer, s *corev1.Secret) error {
	if s.Annotations[AccountConfirmedAnnotation] == string(ds.UID) {
		return nil
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, AccountConfirmedAnnotation, string(ds.UID))
	_, err := c.kube.CoreV1().Secrets(ds.Namespace).Patch(ctx, s.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: EventComponent})
	if err != nil {
		return fmt.Errorf("patch Secret %s/%s: record the confirmed operator account: %w", ds.Namespace, s.Name, err)
	}
	return nil
}

// setUpOperatorAccount logs in as the admin and creates the operator
// account, or resets its password when it exists.
func (c *Controller) setUpOperatorAccount(ctx context.Context, ds *dittov1alpha1.DittoServer, baseURL string, rt http.RoundTripper, password string) error {
	sel := resources.AdminPasswordSelector(ds)
	adminPassword, _, err := c.readSecretKey(ctx, ds.Namespace, sel.Name, sel.Key, "the admin password")
	if err != nil {
		return err
	}
	admin := c.newAPI(baseURL, rt)
	if err := admin.Login(ctx, adminUsername, adminPassword); err != nil {
		if dfsapi.IsUnauthorized(err) {
			return &problemError{Problem{ReasonLoginFailed, fmt.Sprintf(
				"the operator account cannot log in and the server refuses the admin password from Secret %q key %q (changed since the server's first start?): %v",
				sel.Name, sel.Key, err)}}
		}
		return classify(err)
	}
	users, err := admin.ListUsers(ctx)
	if err != nil {
		return classify(err)
	}
	account := dfsapi.User{Username: OperatorUsername, DisplayName: "DittoFS operator", Role: "admin", Enabled: true}
	exists := false
	for _, u := range users {
		if u.Username == OperatorUsername {
			exists, account = true, u
		}
	}
	if !exists {
		if _, err := admin.CreateUser(ctx, account, password); err != nil {
			return classify(err)
		}
	} else {
		if account.Role != "admin" || !account.Enabled {
			account.Role, account.Enabled = "admin", true
			if err := admin.UpdateUser(ctx, account); err != nil {
				return classify(err)
			}
		}
		if err := admin.SetUserPassword(ctx, OperatorUsername, password); err != nil {
			return classify(err)
		}
	}
	reason, msg := ReasonOperatorAccount, fmt.Sprintf("Created the operator's account %q on the server; its password is in Secret %q", OperatorUsername, OperatorSecretName(ds))
	if exists {
		reason, msg = ReasonOperatorAccountSet, fmt.Sprintf("The operator's account %q was refused; logged in as the admin and reset its password to the one in Secret %q", OperatorUsername, OperatorSecretName(ds))
	}
	c.recorder.Event(ds, corev1.EventTypeNormal, reason, msg)
	klog.FromContext(ctx).Info("Operator account set up", "dittoserver", klog.KObj(ds), "reset", exists)
	return nil
}

// unreachableError is a call that got no answer from the server.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

// classify marks an error without an answer from the server as unreachable;
// answers (*dfsapi.Error) pass through.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var apiErr *dfsapi.Error
	var unreachable *unreachableError
	var prob *problemError
	if errors.As(err, &apiErr) || errors.As(err, &unreachable) || errors.As(err, &prob) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return &unreachableError{err}
}
