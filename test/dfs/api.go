package dfs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// DefaultVersion is the DittoFS version the operator targets.
const DefaultVersion = "v0.29.0"

// Login posts {"username","password"} to /api/v1/auth/login on
// 127.0.0.1:apiPort and returns the access token of a 200 response.
func Login(apiPort int, user, password string) (token string, status int, err error) {
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Post(fmt.Sprintf("http://127.0.0.1:%d/api/v1/auth/login", apiPort), "application/json", bytes.NewReader(body))
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", resp.StatusCode, fmt.Errorf("login as %q: status %d: %.300s", user, resp.StatusCode, raw)
	}
	var out struct {
		AccessToken string `json:"access_token"`
		Data        struct {
			AccessToken string `json:"access_token"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", resp.StatusCode, fmt.Errorf("login response: %w", err)
	}
	if out.AccessToken == "" {
		out.AccessToken = out.Data.AccessToken
	}
	if out.AccessToken == "" {
		return "", resp.StatusCode, fmt.Errorf("login response without access_token: %.300s", raw)
	}
	return out.AccessToken, resp.StatusCode, nil
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
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	script := filepath.Join(root, "hack", "build-dfs.sh")
	var stderr bytes.Buffer
	cmd := exec.Command("bash", script)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w\n%s", script, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	path := lines[len(lines)-1]
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s printed %q: %w", script, path, err)
	}
	return path, nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack", "build-dfs.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("hack/build-dfs.sh not found above the working directory")
		}
		dir = parent
	}
}
