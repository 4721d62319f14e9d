package dfsapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

type userWire struct {
	ID          string   `json:"id"`
	Username    string   `json:"username"`
	DisplayName string   `json:"display_name,omitempty"`
	Role        string   `json:"role"`
	UID         *uint32  `json:"uid,omitempty"`
	GID         *uint32  `json:"gid,omitempty"`
	Groups      []string `json:"groups,omitempty"`
	Enabled     bool     `json:"enabled"`
}

// createUserBody is POST /api/v1/users.
type createUserBody struct {
	Username    string   `json:"username"`
	Password    string   `json:"password"`
	DisplayName string   `json:"display_name,omitempty"`
	Role        string   `json:"role,omitempty"`
	UID         *uint32  `json:"uid,omitempty"`
	GID         *uint32  `json:"gid,omitempty"`
	Groups      []string `json:"groups,omitempty"`
	Enabled     bool     `json:"enabled"`
}

// updateUserBody is PUT /api/v1/users/{name}: absent fields are unchanged.
type updateUserBody struct {
	DisplayName *string   `json:"display_name,omitempty"`
	Role        *string   `json:"role,omitempty"`
	UID         *uint32   `json:"uid,omitempty"`
	GID         *uint32   `json:"gid,omitempty"`
	Groups      *[]string `json:"groups,omitempty"`
	Enabled     bool      `json:"enabled"`
}

func userPath(name string) string { return "/api/v1/users/" + url.PathEscape(name) }

// ListUsers returns every user, the built-in admin included.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	var wire []userWire
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/users", out: &wire}); err != nil {
		return nil, err
	}
	out := make([]User, len(wire))
	for i, w := range wire {
		out[i] = User(w)
	}
	return out, nil
}

// CreateUser creates u with password, as u says: Enabled false creates a
// disabled user; an empty Role is the server's default ("user"). The
// groups named must exist. An existing name is a 409 (IsConflict). A user
// created with role admin must change its password at its first login
// (Login does that for the operator's own account).
func (c *Client) CreateUser(ctx context.Context, u User, password string) (string, error) {
	var created userWire
	err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/users", secrets: []string{password},
		body: createUserBody{Username: u.Username, Password: password, DisplayName: u.DisplayName,
			Role: u.Role, UID: u.UID, GID: u.GID, Groups: u.Groups, Enabled: u.Enabled}, out: &created})
	return created.ID, err
}

// UpdateUser makes the user named u.Username match u: display name, role
// (unchanged when empty), uid and gid (unchanged when nil: the server
// cannot unset them), enabled, and the group list (replaced when u.Groups
// is not nil, unchanged when nil). The password is not touched.
func (c *Client) UpdateUser(ctx context.Context, u User) error {
	body := updateUserBody{DisplayName: &u.DisplayName, UID: u.UID, GID: u.GID, Enabled: u.Enabled}
	if u.Role != "" {
		body.Role = &u.Role
	}
	if u.Groups != nil {
		groups := u.Groups
		body.Groups = &groups
	}
	return c.do(ctx, request{method: http.MethodPut, path: userPath(u.Username), body: body})
}

// SetUserPassword resets a user's password (admin only; no current password
// needed). For a user whose role is admin the server then requires a
// password change at its next login.
func (c *Client) SetUserPassword(ctx context.Context, username, password string) error {
	err := c.do(ctx, request{method: http.MethodPost, path: userPath(username) + "/password",
		body: map[string]string{"new_password": password}, secrets: []string{password}})
	if err != nil {
		return fmt.Errorf("reset the password of %q: %w", username, err)
	}
	return nil
}

// DeleteUser deletes the user and its share permissions (the built-in admin
// cannot be deleted: 403).
func (c *Client) DeleteUser(ctx context.Context, username string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: userPath(username)})
}

type groupWire struct {
	Name string  `json:"name"`
	GID  *uint32 `json:"gid,omitempty"`
}

// ListGroups returns every group, the built-in admins, operators and users
// included.
func (c *Client) ListGroups(ctx context.Context) ([]Group, error) {
	var wire []groupWire
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/groups", out: &wire}); err != nil {
		return nil, err
	}
	out := make([]Group, len(wire))
	for i, w := range wire {
		out[i] = Group(w)
	}
	return out, nil
}

// CreateGroup creates g (409 when the name exists). A nil or zero GID
// creates a group without a gid.
func (c *Client) CreateGroup(ctx context.Context, g Group) error {
	return c.do(ctx, request{method: http.MethodPost, path: "/api/v1/groups", body: groupWire(g)})
}

// DeleteGroup deletes a group (the built-in groups cannot be deleted: 403).
func (c *Client) DeleteGroup(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/api/v1/groups/" + url.PathEscape(name)})
}
