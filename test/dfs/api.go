package dfs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// DefaultVersion is the DittoFS version the operator targets.
const DefaultVersion = "v0.29.0"

// LoginReply is what POST /api/v1/auth/login answered.
type LoginReply struct {
	Status             int
	AccessToken        string
	ExpiresIn          int64
	MustChangePassword bool
	Body               []byte
}

// PostLogin posts {"username","password"} to /api/v1/auth/login on
// 127.0.0.1:apiPort and returns the answer whatever its status: a refused
// login is a reply, not an error. err is set when no reply arrived or a 200
// reply is not the login response.
func PostLogin(apiPort int, user, password string) (LoginReply, error) {
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Post(fmt.Sprintf("http://127.0.0.1:%d/api/v1/auth/login", apiPort), "application/json", bytes.NewReader(body))
	if err != nil {
		return LoginReply{}, fmt.Errorf("login as %q: %w", user, err)
	}
	defer func() { _ = resp.Body.Close() }()
	r := LoginReply{Status: resp.StatusCode}
	if r.Body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20)); err != nil {
		return r, fmt.Errorf("login as %q: %w", user, err)
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		User        struct {
			MustChangePassword bool `json:"must_change_password"`
		} `json:"user"`
		Data struct {
			AccessToken string `json:"access_token"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil && r.Status == http.StatusOK {
		return r, fmt.Errorf("login response: %w", err)
	}
	r.AccessToken, r.ExpiresIn, r.MustChangePassword = out.AccessToken, out.ExpiresIn, out.User.MustChangePassword
	if r.AccessToken == "" {
		r.AccessToken = out.Data.AccessToken
	}
	return r, nil
}

// Login posts {"username","password"} to /api/v1/auth/login on
// 127.0.0.1:apiPort and returns the access token of a 200 response.
func Login(apiPort int, user, password string) (token string, status int, err error) {
	r, err := PostLogin(apiPort, user, password)
	if err != nil {
		return "", r.Status, err
	}
	if r.Status != http.StatusOK {
		return "", r.Status, fmt.Errorf("login as %q: status %d: %.300s", user, r.Status, r.Body)
	}
	if r.AccessToken == "" {
		return "", r.Status, fmt.Errorf("login response without access_token: %.300s", r.Body)
	}
	return r.AccessToken, r.Status, nil
}

// Request sends method path to 127.0.0.1:apiPort with the bearer token and
// body as JSON (none when empty), and returns the status and up to 1 MiB of
// the response body.
func Request(apiPort int, token, method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", apiPort, path), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return resp.StatusCode, raw, nil
}

// Health is the body of GET /health and GET /health/ready.
type Health struct {
	Status string         `json:"status"`
	Data   map[string]any `json:"data"`
	Error  string         `json:"error,omitempty"`
}

// GetHealth fetches and decodes path (/health or /health/ready).
func GetHealth(apiPort int, path string) (Health, int, error) {
	var h Health
	status, body, err := ProbeHTTP(apiPort, path, 5*time.Second)
	if err != nil {
		return h, status, err
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return h, status, fmt.Errorf("GET %s: %w: %.300s", path, err, body)
	}
	return h, status, nil
}

// Binary returns the path of the dfs binary: $DFS_BINARY when set, else the
// result of hack/build-dfs.sh (which builds it once and caches it). The
// repository root is found from the working directory.
func Binary() (string, error) {
	if p := os.Getenv("DFS_BINARY"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("DFS_BINARY: %w", err)
		}
		return p, nil
	}
	return proc.BuildScript("build-dfs.sh")
}
