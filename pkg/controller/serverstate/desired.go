package serverstate

import (
	"fmt"
	"net/netip"
	"net/url"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/controller/resources"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// Inputs are what the desired state of one server is derived from.
type Inputs struct {
	Server *dittov1alpha1.DittoServer
	// Shares and Users are every DittoShare and DittoUser that reference
	// Server, including those being deleted.
	Shares []*dittov1alpha1.DittoShare
	Users  []*dittov1alpha1.DittoUser
	// S3Endpoint is the endpoint read from the S3 credentials Secret ("" for AWS).
	S3Endpoint string
}

// StoreDecl is one store the operator declares. Config holds nothing read
// from a Secret: the S3 endpoint and keys are added just before a write
// (withS3Secrets), so that a converged pass reads no Secret.
type StoreDecl struct {
	Kind  dittov1alpha1.StoreKind
	Store dfsapi.Store
}

// UserDecl is one DittoUser as a server user.
type UserDecl struct {
	Obj  *dittov1alpha1.DittoUser
	User dfsapi.User
}

// ShareDecl is one DittoShare as a server share with its grants.
type ShareDecl struct {
	Obj         *dittov1alpha1.DittoShare
	Share       dfsapi.Share
	Permissions []dfsapi.Permission
	// SnapshotPolicy is nil when the DittoShare declares none.
	SnapshotPolicy *dfsapi.SnapshotPolicy
}

// Problem is why something cannot be realised as declared.
type Problem struct {
	Reason  string
	Message string
}

// Desired is the state the operator wants inside one server.
type Desired struct {
	Stores []StoreDecl
	// StoresProblem is set when a declared store cannot be built from the
	// spec (for example spec.s3 without a bucket).
	StoresProblem *Problem
	Groups        []string
	Users         []UserDecl
	Shares        []ShareDecl
	// Rejected are DittoShares and DittoUsers that cannot be realised as
	// they stand (a reserved or already claimed name), by UID.
	Rejected map[types.UID]Problem
}

// adminUsername is the initial administrator's name: DittoFS v0.29.0
// creates it as "admin" whatever admin.username says.
const adminUsername = "admin"

// DesiredState derives the server's desired stores, groups, users, shares
// and permissions from the Kubernetes objects. It is pure.
func DesiredState(in Inputs) Desired {
	ds := in.Server
	d := Desired{Rejected: map[types.UID]Problem{}}
	d.Stores, d.StoresProblem = desiredStores(ds)

	groups := map[string]bool{}
	for _, u := range sortedUsers(in.Users) {
		if p, bad := userSpecProblem(u); bad {
			d.Rejected[u.UID] = p
			continue
		}
		name := Username(u)
		if p, bad := reservedUsername(ds, name); bad {
			d.Rejected[u.UID] = p
			continue
		}
		if owner := claimOf(d.Users, name); owner != nil || claimedByDeleting(in.Users, u, name) {
			d.Rejected[u.UID] = Problem{ReasonNameConflict, fmt.Sprintf("username %q is already declared by an older DittoUser", name)}
			continue
		}
		if u.DeletionTimestamp != nil {
			continue
		}
		d.Users = append(d.Users, UserDecl{Obj: u, User: desiredUser(u)})
		for _, g := range u.Spec.Groups {
			groups[g] = true
		}
	}

	remote := ""
	if ds.Spec.S3 != nil {
		remote = resources.RemoteBlockStoreName
	}
	exports := map[string]bool{}
	for _, s := range sortedShares(in.Shares) {
		export := ExportName(s)
		if exports[export] {
			d.Rejected[s.UID] = Problem{ReasonNameConflict, fmt.Sprintf("export %q is already declared by an older DittoShare", export)}
			continue
		}
		exports[export] = true
		if s.DeletionTimestamp != nil {
			continue
		}
		policy, err := snapshotPolicy(s.Spec.SnapshotPolicy)
		if err != nil {
			// The CRD validates both durations; this catches what CEL
			// lets through (an overflowing duration).
			d.Rejected[s.UID] = Problem{ReasonInvalidSpec, "spec.snapshotPolicy: " + err.Error()}
			continue
		}
		decl := ShareDecl{Obj: s, Share: dfsapi.Share{
			Name:              export,
			MetadataStore:     resources.MetadataStoreName,
			LocalBlockStore:   resources.LocalBlockStoreName,
			RemoteBlockStore:  remote,
			ReadOnly:          s.Spec.ReadOnly,
			DefaultPermission: levelOr(s.Spec.DefaultPermission, dittov1alpha1.PermissionNone),
			QuotaBytes:        quotaBytes(s),
			Enabled:           true,
			Owner:             s.Spec.Owner,
		}, Permissions: desiredPermissions(s), SnapshotPolicy: policy}
		for _, p := range decl.Permissions {
			if p.Type == "group" {
				groups[p.Name] = true
			}
		}
		d.Shares = append(d.Shares, decl)
	}
	for g := range groups {
		d.Groups = append(d.Groups, g)
	}
	sort.Strings(d.Groups)
	return d
}

// desiredStores are the metadata store on the metadata volume, the local
// block store on the content volume and, with spec.s3, the remote S3 store.
func desiredStores(ds *dittov1alpha1.DittoServer) ([]StoreDecl, *Problem) {
	stores := []StoreDecl{
		{dittov1alpha1.StoreKindMetadata, dfsapi.Store{Name: resources.MetadataStoreName, Type: "badger",
			Config: map[string]any{"path": resources.MetadataStorePath()}}},
		{dittov1alpha1.StoreKindLocal, dfsapi.Store{Name: resources.LocalBlockStoreName, Type: "fs",
			Config: map[string]any{"path": resources.LocalBlockStorePath()}}},
	}
	s3 := ds.Spec.S3
	if s3 == nil {
		return stores, nil
	}
	switch {
	case s3.Bucket == "":
		return stores, &Problem{ReasonInvalidSpec, "spec.s3.bucket is required for the remote block store"}
	case s3.CredentialsSecretRef == nil || s3.CredentialsSecretRef.SecretName == "":
		return stores, &Problem{ReasonInvalidSpec, "spec.s3.credentialsSecretRef is required: the remote block store needs an access key"}
	}
	cfg := map[string]any{
		"bucket": s3.Bucket,
		"region": orDefault(s3.Region, resources.DefaultS3Region),
		// Explicit both ways, so that turning it off rewrites the store.
		"allow_private_endpoint": s3.AllowPrivateEndpoint,
	}
	return append(stores, StoreDecl{dittov1alpha1.StoreKindRemote, dfsapi.Store{Name: resources.RemoteBlockStoreName, Type: "s3", Config: cfg}}), nil
}

// S3 config keys that hold secrets; the server redacts them on reads.
const (
	s3AccessKeyIDKey     = "access_key_id"
	s3SecretAccessKeyKey = "secret_access_key"
)

// withS3Secrets returns a copy of the remote store with what the S3
// credentials Secret holds: the endpoint and the keys. The allowance for a
// private endpoint is not derived from it: it is spec.s3.allowPrivateEndpoint,
// already in the store's config.
func withS3Secrets(s dfsapi.Store, creds S3Credentials) dfsapi.Store {
	cfg := make(map[string]any, len(s.Config)+3)
	for k, v := range s.Config {
		cfg[k] = v
	}
	if creds.Endpoint != "" {
		cfg["endpoint"] = creds.Endpoint
	}
	cfg[s3AccessKeyIDKey], cfg[s3SecretAccessKeyKey] = creds.AccessKeyID, creds.SecretAccessKey
	s.Config = cfg
	return s
}

// PrivateEndpoint tells whether an S3 endpoint is inside a private network:
// a loopback, private or otherwise non-global address, localhost, or a name
// only a cluster or site resolver knows (one label, .svc, .cluster.local,
// .local, .internal). The server refuses such endpoints unless the store
// allows them (spec.s3.allowPrivateEndpoint); the operator refuses them first
// without that, with a message that names the field. A public name that
// resolves to a private address is still refused by the server.
func PrivateEndpoint(endpoint string) bool {
	raw := endpoint
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return false
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		return ip.IsLoopback() || ip.IsPrivate() || !ip.IsGlobalUnicast()
	}
	if host == "localhost" || !strings.Contains(host, ".") {
		return true
	}
	for _, suffix := range []string{".localhost", ".svc", ".cluster.local", ".local", ".internal", ".home.arpa"} {
		if strings.HasSuffix(host, suffix) {
			return true
		}
	}
	return false
}

// Username is the DittoUser's name on the server.
func Username(u *dittov1alpha1.DittoUser) string {
	if u.Spec.Username != "" {
		return u.Spec.Username
	}
	return u.Name
}

// ExportName is the DittoShare's export path on the server.
func ExportName(s *dittov1alpha1.DittoShare) string {
	if s.Spec.ExportName != "" {
		return s.Spec.ExportName
	}
	return "/" + s.Name
}

func reservedUsername(ds *dittov1alpha1.DittoServer, name string) (Problem, bool) {
	if name == OperatorUsername || name == adminUsername || name == resources.AdminUsername(ds) {
		return Problem{ReasonReservedName, fmt.Sprintf("username %q is reserved for the server's administrator or the operator's own account", name)}, true
	}
	return Problem{}, false
}

func claimOf(users []UserDecl, name string) *UserDecl {
	for i := range users {
		if users[i].User.Username == name {
			return &users[i]
		}
	}
	return nil
}

// claimedByDeleting tells whether an older DittoUser being deleted still
// holds name: the new one waits until the old user is gone from the server.
func claimedByDeleting(all []*dittov1alpha1.DittoUser, u *dittov1alpha1.DittoUser, name string) bool {
	for _, o := range sortedUsers(all) {
		if o.UID == u.UID {
			return false
		}
		if o.DeletionTimestamp != nil && Username(o) == name {
			return true
		}
	}
	return false
}

func desiredUser(u *dittov1alpha1.DittoUser) dfsapi.User {
	groups := append([]string(nil), u.Spec.Groups...)
	sort.Strings(groups)
	return dfsapi.User{
		Username:    Username(u),
		DisplayName: u.Namespace + "/" + u.Name,
		Role:        "user",
		UID:         toUint32(u.Spec.UID),
		GID:         toUint32(u.Spec.GID),
		Groups:      groups,
		Enabled:     true,
	}
}

func toUint32(v *int64) *uint32 {
	if v == nil || *v < 0 || *v > 0xFFFFFFFF {
		return nil
	}
	x := uint32(*v)
	return &x
}

func quotaBytes(s *dittov1alpha1.DittoShare) int64 {
	if s.Spec.Quota == nil || s.Spec.Quota.Sign() <= 0 {
		return 0
	}
	return s.Spec.Quota.Value()
}

// desiredPermissions are the share's grants, one per user and per group
// (the last entry wins), sorted.
func desiredPermissions(s *dittov1alpha1.DittoShare) []dfsapi.Permission {
	byKey := map[string]dfsapi.Permission{}
	for _, p := range s.Spec.Permissions {
		perm := dfsapi.Permission{Type: "user", Name: p.User, Level: string(p.Level)}
		if p.Group != "" {
			perm = dfsapi.Permission{Type: "group", Name: p.Group, Level: string(p.Level)}
		}
		if perm.Name == "" {
			continue
		}
		byKey[perm.Type+"/"+perm.Name] = perm
	}
	out := make([]dfsapi.Permission, 0, len(byKey))
	for _, p := range byKey {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func levelOr(l, def dittov1alpha1.SharePermissionLevel) string {
	if l == "" {
		return string(def)
	}
	return string(l)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// snapshotPolicy is the declared policy with its durations parsed as the
// server parses them, so that it compares equal to the policy read back.
func snapshotPolicy(sp *dittov1alpha1.SnapshotPolicy) (*dfsapi.SnapshotPolicy, error) {
	if sp == nil {
		return nil, nil
	}
	interval, err := dfsapi.ParseSnapshotInterval(sp.Interval)
	if err != nil {
		return nil, err
	}
	ttl, err := dfsapi.ParseSnapshotTTL(sp.TTL)
	if err != nil {
		return nil, err
	}
	if err := checkSnapshotBounds(interval, int(sp.KeepLast), ttl); err != nil {
		return nil, err
	}
	return &dfsapi.SnapshotPolicy{
		Interval:   interval,
		KeepLast:   int(sp.KeepLast),
		TTL:        ttl,
		NamePrefix: sp.NamePrefix,
		Enabled:    sp.Enabled == nil || *sp.Enabled,
	}, nil
}

// sortedShares orders DittoShares so that a claim on an export is sticky:
// those that recorded creating their share on the server first, then the
// oldest (then by name), so that the older of two new claims wins and a
// later object never takes a claim over, whatever its timestamp.
func sortedShares(in []*dittov1alpha1.DittoShare) []*dittov1alpha1.DittoShare {
	out := append([]*dittov1alpha1.DittoShare(nil), in...)
	sort.SliceStable(out, func(i, j int) bool {
		return claimsFirst(out[i].Status.CreatedOnServer, out[j].Status.CreatedOnServer, &out[i].ObjectMeta, &out[j].ObjectMeta)
	})
	return out
}

func sortedUsers(in []*dittov1alpha1.DittoUser) []*dittov1alpha1.DittoUser {
	out := append([]*dittov1alpha1.DittoUser(nil), in...)
	sort.SliceStable(out, func(i, j int) bool {
		return claimsFirst(out[i].Status.CreatedOnServer, out[j].Status.CreatedOnServer, &out[i].ObjectMeta, &out[j].ObjectMeta)
	})
	return out
}

// claimsFirst orders two objects: the one holding a record of its creation
// on the server first, then the older, then by name.
func claimsFirst(ra, rb *dittov1alpha1.ServerObjectRecord, a, b *metav1.ObjectMeta) bool {
	if (ra != nil) != (rb != nil) {
		return ra != nil
	}
	ta, tb := a.CreationTimestamp, b.CreationTimestamp
	if !ta.Equal(&tb) {
		return ta.Before(&tb)
	}
	return a.Name < b.Name
}
