package dfsapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"k8s.io/klog/v2"
)

// DefaultTimeout bounds every request when no WithTimeout option is given.
const DefaultTimeout = 10 * time.Second

// Response bodies are read up to a limit, never whole: a hostile or broken
// server must not make the operator, which serves many servers with a few
// workers in one small pod, hold large buffers. A body over the limit is an
// error that names it.
const (
	// MaxListBytes bounds a list (users, groups, shares, stores, grants).
	// dfs writes about 300 to 500 bytes per user, share or store, so 1 MiB
	// holds some 2000 of them, beyond what one file server declares; 16
	// workers reading one list each stay within 16 MiB.
	MaxListBytes = 1 << 20
	// MaxObjectBytes bounds every other body: one object, a token, a
	// problem document (a few hundred bytes each).
	MaxObjectBytes = 64 << 10
	// MaxErrorText bounds the title and the detail of an error, in bytes:
	// they reach conditions and events, which must stay readable and far
	// below the API server's limits on a status.
	MaxErrorText = 512
)

// Client is the REST client of one DittoFS server. It is safe for concurrent
// use. The access token and the credentials of the last successful Login are
// kept in memory only, so that a 401 (expired token, server restarted with
// another JWT secret) is answered by logging in again once.
type Client struct {
	base      string
	http      *http.Client
	timeout   time.Duration
	userAgent string

	// loginMu serializes the logins that answer a 401, so that calls
	// refused together cause one new login.
	loginMu  sync.Mutex
	mu       sync.Mutex
	token    string
	username string
	password string

	// storeNames maps store ids (stable UUIDs: an id never changes its name)
	// to names, so that listing shares, which report ids, costs one GET.
	storeNames sync.Map
}

var _ API = (*Client)(nil)

// Option configures a Client.
type Option func(*options)

type options struct {
	transport http.RoundTripper
	caPool    *x509.CertPool
	timeout   time.Duration
	userAgent string
}

// WithTransport sends every request through rt, for example the transport of
// a rest.Config when the base URL is the Kubernetes API server's service
// proxy. It takes precedence over WithCAPool.
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.transport = rt } }

// WithCAPool verifies the server's TLS certificate against pool (the CA of
// spec.controlPlane.tls) instead of the system roots.
func WithCAPool(pool *x509.CertPool) Option { return func(o *options) { o.caPool = pool } }

// WithTimeout bounds each request (DefaultTimeout when unset or not positive).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

// New returns a client of the server at baseURL: the root under which the
// server's paths (/api/v1/...) are found, e.g. http://NAME-api.NS.svc:8080 or
// https://APISERVER/api/v1/namespaces/NS/services/http:NAME-api:8080/proxy.
func New(baseURL string, opts ...Option) *Client {
	o := options{timeout: DefaultTimeout, userAgent: "dittofs-operator"}
	for _, opt := range opts {
		opt(&o)
	}
	if o.timeout <= 0 {
		o.timeout = DefaultTimeout
	}
	rt := o.transport
	if rt == nil {
		var cfg *tls.Config
		if o.caPool != nil {
			cfg = &tls.Config{RootCAs: o.caPool, MinVersion: tls.VersionTLS12}
		}
		rt = NewTransport(cfg)
	}
	return &Client{
		base: strings.TrimRight(baseURL, "/"),
		// A redirect is never followed (it would carry the token, or a
		// login's password, to another address): the 3xx is returned
		// and send makes it an error.
		http: &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		timeout:   o.timeout,
		userAgent: o.userAgent,
	}
}

// NewTransport is the transport for a server's API: the default one's
// timeouts and pooling, cfg for TLS, and no proxy from HTTP_PROXY or
// HTTPS_PROXY: the server is reached directly (or through a tunnel on
// loopback), never through a proxy that would see its credentials.
func NewTransport(cfg *tls.Config) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.TLSClientConfig = cfg
	return tr
}

// request is one REST call. secrets are values that must never appear in an
// error (passwords, S3 keys): they are masked if the server echoes them.
type request struct {
	method, path string
	body         any
	out          any
	secrets      []string
	// noAuth: a call that must not carry a token nor be retried after a
	// 401 (login, refresh).
	noAuth bool
	// timeout replaces the client's per-call timeout when set.
	timeout time.Duration
}

// do sends r with the current token; on a 401 it logs in again once with the
// kept credentials and repeats the call.
func (c *Client) do(ctx context.Context, r request) error {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("%s %s: encode request: %w", r.method, r.path, err)
		}
	}
	c.mu.Lock()
	token, canRelogin := c.token, c.username != "" && !r.noAuth
	c.mu.Unlock()
	if r.noAuth {
		token = ""
	}
	err := c.send(ctx, r, payload, token)
	if !canRelogin || !IsUnauthorized(err) {
		return err
	}
	if token, err = c.relogin(ctx, token); err != nil {
		return err
	}
	return c.send(ctx, r, payload, token)
}

// relogin logs in again unless another call already replaced the token that
// was refused, and returns the token to use.
func (c *Client) relogin(ctx context.Context, refused string) (string, error) {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	c.mu.Lock()
	user, pass, current := c.username, c.password, c.token
	c.mu.Unlock()
	if current != refused && current != "" {
		return current, nil
	}
	klog.FromContext(ctx).V(2).Info("DittoFS refused the access token; logging in again", "user", user)
	if err := c.Login(ctx, user, pass); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token, nil
}

func (c *Client) send(ctx context.Context, r request, payload []byte, token string) error {
	timeout := c.timeout
	if r.timeout > 0 {
		timeout = r.timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.base+r.path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error names the URL, never the body: no secret leaks here.
		return fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	limit := bodyLimit(r, resp.StatusCode)
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	klog.FromContext(ctx).V(4).Info("DittoFS request", "method", r.method, "path", r.path,
		"status", resp.StatusCode, "duration", time.Since(start))
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", r.method, r.path, err)
	}
	if int64(len(raw)) > limit {
		// Not read further: closing the body drops the connection.
		return &Error{Method: r.method, Path: r.path, Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode),
			Detail: fmt.Sprintf("response body larger than the client's limit of %s, not read", byteSize(limit))}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return &Error{Method: r.method, Path: r.path, Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode),
			Detail: boundText("redirect not followed (to " + mask(resp.Header.Get("Location"), r.secrets) + ")")}
	}
	if resp.StatusCode >= 400 {
		return problemError(r, resp, raw)
	}
	if r.out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, r.out); err != nil {
		// The body of a successful response is not echoed: it may hold
		// configuration the caller considers sensitive.
		return fmt.Errorf("%s %s: decode %d response: %w", r.method, r.path, resp.StatusCode, err)
	}
	return nil
}

// problem is an RFC 7807 problem document as the server writes it.
type problem struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// problemError turns a failed response into *Error: a problem document
// (handlers) or a plain-text body (the authentication middlewares).
func problemError(r request, resp *http.Response, raw []byte) error {
	e := &Error{Method: r.method, Path: r.path, Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
	var p problem
	if json.Unmarshal(raw, &p) == nil && (p.Title != "" || p.Detail != "") {
		if p.Title != "" {
			e.Title = p.Title
		}
		e.Detail = p.Detail
	} else {
		e.Detail = strings.TrimSpace(string(raw))
	}
	// Masked first, so that a cut never leaves part of a secret.
	e.Title, e.Detail = boundText(mask(e.Title, r.secrets)), boundText(mask(e.Detail, r.secrets))
	return e
}

// bodyLimit is how much of a response is read: a list's limit for a
// successful call that decodes a list, the object limit otherwise (errors
// included).
func bodyLimit(r request, status int) int64 {
	if status >= 300 || r.out == nil {
		return MaxObjectBytes
	}
	if t := reflect.TypeOf(r.out); t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Slice {
		return MaxListBytes
	}
	return MaxObjectBytes
}

// boundText cuts s to at most MaxErrorText bytes of valid UTF-8, marking a
// cut with an ellipsis (invalid bytes become U+FFFD).
func boundText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= MaxErrorText {
		return s
	}
	const ellipsis = "…"
	cut := MaxErrorText - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// byteSize prints a limit: "1 MiB", "64 KiB".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// mask replaces every occurrence of a secret value in s, as it is and as
// Go's %q prints it (the server quotes values so: a quote or a control
// character in a secret would otherwise let it through). A request that
// carries secrets also has the addresses the server resolved a host to
// masked: dfs refuses an S3 endpoint with "host %q resolves to
// private/internal address 10.0.0.7", and the address tells what a
// Secret's host name points at as well as the name would.
func mask(s string, secrets []string) string {
	masked := false
	for _, v := range secrets {
		if v == "" {
			continue
		}
		masked = true
		s = strings.ReplaceAll(s, v, "[redacted]")
		if q := strconv.Quote(v); q[1:len(q)-1] != v {
			s = strings.ReplaceAll(s, q[1:len(q)-1], "[redacted]")
		}
	}
	if masked {
		s = resolvedAddress.ReplaceAllString(s, "${1}[redacted]")
	}
	return s
}

// resolvedAddress matches the address in dfs's "resolves to <kind>
// address <ip>" (pkg/block/remote/s3: private/internal, link-local).
var resolvedAddress = regexp.MustCompile(`(resolves to [a-z/-]+ address )[0-9A-Fa-f.:%]+[0-9A-Za-z]`)

// errNotLoggedIn is returned by Login's own follow-up calls when the server
// answered without a token.
var errNotLoggedIn = errors.New("login response carries no access token")

// mustJSON encodes a value that cannot fail to encode (maps of strings).
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
