// Package dfsapi is a client of the DittoFS server's REST control plane
// (v0.29): login, metadata and block stores, users, groups, shares and share
// permissions, and the NFS adapter's portmapper. Every call is bounded by a
// timeout; errors from the server are returned as *Error with the server's
// own problem detail.
package dfsapi

import "context"

// API is what the operator needs of one DittoFS server. *Client implements
// it; tests substitute a fake.
type API interface {
	// Login authenticates and keeps the access token for later calls; a
	// token that expires is refreshed (or the login repeated) transparently.
	Login(ctx context.Context, username, password string) error

	ListMetadataStores(ctx context.Context) ([]Store, error)
	CreateMetadataStore(ctx context.Context, s Store) error
	UpdateMetadataStore(ctx context.Context, s Store) error
	DeleteMetadataStore(ctx context.Context, name string) error

	// kind is BlockLocal or BlockRemote.
	ListBlockStores(ctx context.Context, kind BlockKind) ([]Store, error)
	CreateBlockStore(ctx context.Context, kind BlockKind, s Store) error
	UpdateBlockStore(ctx context.Context, kind BlockKind, s Store) error
	DeleteBlockStore(ctx context.Context, kind BlockKind, name string) error

	ListUsers(ctx context.Context) ([]User, error)
	// CreateUser returns the id the server gave the new user.
	CreateUser(ctx context.Context, u User, password string) (string, error)
	UpdateUser(ctx context.Context, u User) error
	// SetUserPassword resets a user's password (the caller must be an admin).
	SetUserPassword(ctx context.Context, username, password string) error
	DeleteUser(ctx context.Context, username string) error

	ListGroups(ctx context.Context) ([]Group, error)
	CreateGroup(ctx context.Context, g Group) error
	DeleteGroup(ctx context.Context, name string) error

	ListShares(ctx context.Context) ([]Share, error)
	// CreateShare returns the id the server gave the new share.
	CreateShare(ctx context.Context, s Share) (string, error)
	UpdateShare(ctx context.Context, s Share) error
	DeleteShare(ctx context.Context, name string) error

	ListSharePermissions(ctx context.Context, share string) ([]Permission, error)
	// SetSharePermission grants (or changes) one user's or group's level.
	SetSharePermission(ctx context.Context, share string, p Permission) error
	DeleteSharePermission(ctx context.Context, share string, p Permission) error

	// GetSnapshotPolicy returns nil when the share has no policy.
	GetSnapshotPolicy(ctx context.Context, share string) (*SnapshotPolicy, error)
	PutSnapshotPolicy(ctx context.Context, share string, p SnapshotPolicy) error
	// DeleteSnapshotPolicy succeeds when the share has no policy.
	DeleteSnapshotPolicy(ctx context.Context, share string) error

	GetNFSAdapter(ctx context.Context) (Adapter, error)
	// SetNFSAdapterEnabled(false) then (true) restarts the NFS adapter.
	SetNFSAdapterEnabled(ctx context.Context, enabled bool) error
	GetNFSPortmapper(ctx context.Context) (Portmapper, error)
	// SetNFSPortmapper takes effect when the NFS adapter next starts.
	SetNFSPortmapper(ctx context.Context, p Portmapper) error
}

// BlockKind is the tier of a block store.
type BlockKind string

const (
	BlockLocal  BlockKind = "local"
	BlockRemote BlockKind = "remote"
)

// Store is a metadata or block store. Config is the type-specific
// configuration as a JSON object (the server stores it as a JSON string).
// Secret values inside Config (S3 keys) are never logged by this package.
type Store struct {
	Name   string
	Type   string // metadata: memory|badger|postgres; local block: memory|fs; remote block: memory|s3
	Config map[string]any
}

// User is a DittoFS user. Role is user, admin or operator.
type User struct {
	// ID is the server's id of the user (read only: set by the server when
	// it creates the user, never sent).
	ID          string
	Username    string
	DisplayName string
	Role        string
	UID         *uint32
	GID         *uint32
	Groups      []string
	Enabled     bool
}

// Group is a DittoFS group.
type Group struct {
	Name string
	GID  *uint32
}

// Share is one export. Name is the export path ("/export").
type Share struct {
	// ID is the server's id of the share (read only, like User.ID).
	ID                string
	Name              string
	MetadataStore     string // metadata store name
	LocalBlockStore   string
	RemoteBlockStore  string // "" for none
	ReadOnly          bool
	DefaultPermission string // none|read|read-write|admin
	// QuotaBytes is the quota in bytes; 0 means unlimited.
	QuotaBytes int64
	Enabled    bool
	// Owner is the username whose uid/gid own the share's root directory,
	// set when the share is created ("" leaves it owned by root). The
	// server cannot change it later; it is not read back.
	Owner string
	// UsedBytes (the sum of the files' sizes, what the quota caps) and
	// PhysicalBytes (what its blocks take in the block store) are what the
	// server reports; read only.
	UsedBytes, PhysicalBytes int64
}

// Permission is one grant on a share: Type is "user" or "group", Level is
// none|read|read-write|admin.
type Permission struct {
	Type  string
	Name  string
	Level string
}

// Error is a failed call: the HTTP status and the server's problem detail.
type Error struct {
	Method, Path string
	Status       int
	Title        string
	Detail       string
}

func (e *Error) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	return e.Method + " " + e.Path + ": " + httpStatusText(e.Status) + ": " + msg
}
