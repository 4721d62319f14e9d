package dfsapi

import (
	"context"
	"fmt"
	"net/http"
)

// tokenResponse is the body of POST /auth/login and POST /users/me/password.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	User        struct {
		MustChangePassword bool `json:"must_change_password"`
	} `json:"user"`
}

// Login authenticates as username and keeps the access token and the
// credentials (in memory) for later calls and for logging in again after a
// 401.
//
// An account that an admin created with role admin must change its password
// before the server lets it do anything else (must_change_password). The
// caller's password is the one it means to use (the operator keeps it in a
// Secret), so Login sets that same password again, which the server accepts
// without the current one while the flag is set, and continues with the
// token it returns.
func (c *Client) Login(ctx context.Context, username, password string) error {
	var resp tokenResponse
	err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/auth/login", noAuth: true,
		body:    map[string]string{"username": username, "password": password},
		out:     &resp,
		secrets: []string{password}})
	if err != nil {
		return fmt.Errorf("log in as %q: %w", username, err)
	}
	if resp.AccessToken == "" {
		return fmt.Errorf("log in as %q: %w", username, errNotLoggedIn)
	}
	if resp.User.MustChangePassword {
		// Sent with the new token directly: it must not be retried with
		// another login on a 401.
		token := resp.AccessToken
		resp = tokenResponse{}
		change := request{method: http.MethodPost, path: "/api/v1/users/me/password", out: &resp, secrets: []string{password}}
		if err := c.send(ctx, change, mustJSON(map[string]string{"new_password": password}), token); err != nil {
			return fmt.Errorf("log in as %q: clear the server's password-change requirement: %w", username, err)
		}
		if resp.AccessToken == "" {
			return fmt.Errorf("log in as %q: password change: %w", username, errNotLoggedIn)
		}
	}
	c.mu.Lock()
	c.token, c.username, c.password = resp.AccessToken, username, password
	c.mu.Unlock()
	return nil
}
