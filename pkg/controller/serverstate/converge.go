package serverstate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// converge logs in, handles deletions, then makes the server's stores,
// groups, users, shares and grants what the objects declare, and its
// portmapper what spec.portmapper says, in the order
// each needs the one before: a share needs its stores, a grant its share
// and its user or group. It reads the server's state once per kind and
// writes only differences. Errors that are an object's own (a refused
// share, a missing password Secret) become that object's condition; a
// server that does not answer stops the pass.
func (c *Controller) converge(ctx context.Context, p *pass) {
	ctx, cancel := context.WithTimeout(ctx, PassTimeout)
	defer cancel()
	ds := p.ds
	api, err := c.login(ctx, ds)
	if err != nil {
		c.failure(ctx, p, err)
		return
	}
	want := DesiredState(Inputs{Server: ds, Shares: p.shares, Users: p.users})
	for uid, prob := range want.Rejected {
		p.shareResults[uid] = notReady(prob.Reason, prob.Message)
		p.userResults[uid] = notReady(prob.Reason, prob.Message)
	}
	observed, err := observe(ctx, api, p)
	if err != nil {
		c.failure(ctx, p, err)
		return
	}
	if err := c.deleteReleased(ctx, p, api, want, observed); err != nil {
		c.failure(ctx, p, err)
		return
	}
	storesExist, err := c.convergeStores(ctx, p, api, want)
	if err != nil {
		c.failure(ctx, p, err)
		return
	}
	groups, err := c.convergeGroups(ctx, api, want)
	if err != nil {
		c.failure(ctx, p, err)
		return
	}
	users, err := c.convergeUsers(ctx, p, api, want, observed)
	if err != nil {
		c.failure(ctx, p, err)
		return
	}
	if err := c.convergeShares(ctx, p, api, want, observed, storesExist, users, groups); err != nil {
		c.failure(ctx, p, err)
		return
	}
	if err := c.convergePortmapper(ctx, p, api); err != nil {
		c.failure(ctx, p, err)
	}
}

// serverErr tells an error that is the server's answer about one object
// (kept on that object's condition) from one that stops the pass.
func serverErr(err error) (string, bool) {
	var apiErr *dfsapi.Error
	if errors.As(err, &apiErr) && !dfsapi.IsUnauthorized(err) {
		return apiErr.Error(), true
	}
	return "", false
}

func (c *Controller) convergeStores(ctx context.Context, p *pass, api dfsapi.API, want Desired) (bool, error) {
	ds := p.ds
	observed := map[dittov1alpha1.StoreKind][]dfsapi.Store{}
	var err error
	if observed[dittov1alpha1.StoreKindMetadata], err = api.ListMetadataStores(ctx); err != nil {
		return false, classify(err)
	}
	if observed[dittov1alpha1.StoreKindLocal], err = api.ListBlockStores(ctx, dfsapi.BlockLocal); err != nil {
		return false, classify(err)
	}
	if ds.Spec.S3 != nil {
		if observed[dittov1alpha1.StoreKindRemote], err = api.ListBlockStores(ctx, dfsapi.BlockRemote); err != nil {
			return false, classify(err)
		}
	}
	// The credentials version moves only with a successful write of them.
	p.s3Version = ds.Status.S3CredentialsVersion
	if ds.Spec.S3 == nil {
		p.s3Version = ""
	}
	allExist := true
	var problems []Problem
	for _, decl := range want.Stores {
		got, exists := findStore(observed[decl.Kind], decl.Store.Name)
		store := decl.Store
		write := !exists || storeDiffers(store, got)
		if decl.Kind == dittov1alpha1.StoreKindRemote {
			current := c.secretVersion(ds.Namespace, s3SecretName(ds))
			write = write || current == "" || current != ds.Status.S3CredentialsVersion
			if write {
				creds, version, err := c.readS3(ctx, ds)
				var prob *problemError
				if errors.As(err, &prob) {
					problems = append(problems, prob.Problem)
					allExist = allExist && exists
					if exists {
						p.stores = append(p.stores, storeStatus(decl))
					}
					continue
				}
				if err != nil {
					return false, err
				}
				store, p.s3Version = withS3Secrets(store, creds), version
			}
		}
		if write {
			if err := c.writeStore(ctx, api, decl.Kind, store, exists); err != nil {
				msg, ok := serverErr(err)
				if !ok {
					return false, classify(err)
				}
				problems = append(problems, Problem{ReasonServerError, msg})
				p.requeue = msg
				if decl.Kind == dittov1alpha1.StoreKindRemote {
					p.s3Version = ds.Status.S3CredentialsVersion
				}
				allExist = allExist && exists
				if exists {
					p.stores = append(p.stores, storeStatus(decl))
				}
				continue
			}
			reason := ReasonCreated
			if exists {
				reason = ReasonUpdated
			}
			c.recorder.Eventf(ds, corev1.EventTypeNormal, reason, "%s the %s store %q (%s) on the server", reason, decl.Kind, decl.Store.Name, decl.Store.Type)
			klog.FromContext(ctx).V(2).Info(reason+" store", "kind", decl.Kind, "name", decl.Store.Name)
		}
		p.stores = append(p.stores, storeStatus(decl))
	}
	switch {
	case want.StoresProblem != nil:
		p.storesReady = notReady(want.StoresProblem.Reason, want.StoresProblem.Message)
	case len(problems) > 0:
		msgs := make([]string, 0, len(problems))
		for _, prob := range problems {
			msgs = append(msgs, prob.Message)
		}
		p.storesReady = notReady(problems[0].Reason, strings.Join(msgs, "; "))
	default:
		p.storesReady = result{ready: true, reason: ReasonStoresInSync, message: storesMessage(want.Stores)}
	}
	return allExist && want.StoresProblem == nil, nil
}

func (c *Controller) writeStore(ctx context.Context, api dfsapi.API, kind dittov1alpha1.StoreKind, s dfsapi.Store, exists bool) error {
	switch {
	case kind == dittov1alpha1.StoreKindMetadata && exists:
		return api.UpdateMetadataStore(ctx, s)
	case kind == dittov1alpha1.StoreKindMetadata:
		return api.CreateMetadataStore(ctx, s)
	case exists:
		return api.UpdateBlockStore(ctx, blockKind(kind), s)
	default:
		return api.CreateBlockStore(ctx, blockKind(kind), s)
	}
}

func blockKind(k dittov1alpha1.StoreKind) dfsapi.BlockKind {
	if k == dittov1alpha1.StoreKindRemote {
		return dfsapi.BlockRemote
	}
	return dfsapi.BlockLocal
}

func findStore(list []dfsapi.Store, name string) (dfsapi.Store, bool) {
	for _, s := range list {
		if s.Name == name {
			return s, true
		}
	}
	return dfsapi.Store{}, false
}

func storeStatus(d StoreDecl) dittov1alpha1.ServerStore {
	loc, _ := d.Store.Config["path"].(string)
	if b, ok := d.Store.Config["bucket"].(string); ok {
		loc = "s3://" + b
	}
	return dittov1alpha1.ServerStore{Kind: d.Kind, Name: d.Store.Name, Type: d.Store.Type, Location: loc}
}

func storesMessage(stores []StoreDecl) string {
	parts := make([]string, 0, len(stores))
	for _, s := range stores {
		parts = append(parts, fmt.Sprintf("%s %q (%s)", s.Kind, s.Store.Name, s.Store.Type))
	}
	return "Stores in place: " + strings.Join(parts, ", ")
}

// convergeGroups creates the groups users and grants name. Groups are never
// deleted: one may be used by users the operator does not manage.
func (c *Controller) convergeGroups(ctx context.Context, api dfsapi.API, want Desired) (map[string]bool, error) {
	have := map[string]bool{}
	if len(want.Groups) == 0 {
		return have, nil
	}
	groups, err := api.ListGroups(ctx)
	if err != nil {
		return nil, classify(err)
	}
	for _, g := range groups {
		have[g.Name] = true
	}
	for _, name := range want.Groups {
		if have[name] {
			continue
		}
		if err := api.CreateGroup(ctx, dfsapi.Group{Name: name}); err != nil && !dfsapi.IsConflict(err) {
			if _, ok := serverErr(err); ok {
				klog.FromContext(ctx).Info("The server refused a group", "group", name, "err", err)
				continue
			}
			return nil, classify(err)
		}
		have[name] = true
	}
	return have, nil
}

// convergeUsers creates the declared users that do not exist and updates
// and sets the passwords of those their DittoUser created; a user it did not
// create is left untouched (NameConflict). A password is set when the user
// is created and whenever its Secret's resourceVersion differs from the one
// recorded in the DittoUser's status.
func (c *Controller) convergeUsers(ctx context.Context, p *pass, api dfsapi.API, want Desired, observed serverObjects) (map[string]bool, error) {
	have := map[string]bool{}
	for name := range observed.users {
		have[name] = true
	}
	for _, decl := range want.Users {
		u := decl.Obj
		name := decl.User.Username
		cl, got := observed.userClaim(u)
		if !cl.mayChange() && cl != claimCreate {
			p.userResults[u.UID] = notReady(ReasonNameConflict, foreignUser(name))
			continue
		}
		exists := cl != claimCreate
		sel := u.Spec.PasswordSecretRef
		res := result{ready: true, reason: ReasonInSync, name: name, passwordVersion: u.Status.PasswordSecretVersion,
			created: recordOf(cl, got.ID)}
		current := c.secretVersion(u.Namespace, sel.Name)
		needPassword := !exists || current == "" || current != u.Status.PasswordSecretVersion
		var password string
		if needPassword {
			pw, version, err := c.userPassword(ctx, p.ds, u)
			var prob *problemError
			if errors.As(err, &prob) {
				r := notReady(prob.Reason, prob.Message)
				if exists {
					r.name, r.passwordVersion, r.created = name, u.Status.PasswordSecretVersion, res.created
				}
				p.userResults[u.UID] = r
				continue
			}
			if err != nil {
				return nil, err
			}
			password, res.passwordVersion = pw, version
		}
		var werr error
		switch {
		case !exists:
			if u, werr = c.recordUserIntent(ctx, p, u); werr != nil {
				if apierrors.IsConflict(werr) {
					// Another writer changed the DittoUser since the cache
					// read: the next pass, on the newer object, goes on.
					p.requeue = "the DittoUser changed while its creation was being recorded"
					continue
				}
				return nil, werr
			}
			var id string
			if id, werr = api.CreateUser(ctx, decl.User, password); werr == nil {
				have[name] = true
				res.reason, res.created = ReasonCreated, &dittov1alpha1.ServerObjectRecord{ID: id}
				c.recorder.Eventf(u, corev1.EventTypeNormal, ReasonCreated, "Created user %q on DittoServer %q", name, p.ds.Name)
			} else if dfsapi.IsConflict(werr) {
				// Made by someone else since the list: never this object's.
				r := notReady(ReasonNameConflict, foreignUser(name))
				r.forgetCreated = true
				p.userResults[u.UID] = r
				continue
			}
		default:
			if userDiffers(decl.User, got) {
				if werr = api.UpdateUser(ctx, decl.User); werr == nil {
					res.reason = ReasonUpdated
					c.recorder.Eventf(u, corev1.EventTypeNormal, ReasonUpdated, "Updated user %q on DittoServer %q", name, p.ds.Name)
				}
			}
			if werr == nil && needPassword {
				if werr = api.SetUserPassword(ctx, name, password); werr == nil {
					c.recorder.Eventf(u, corev1.EventTypeNormal, ReasonPasswordSet, "Set the password of user %q from Secret %q", name, sel.Name)
				}
			}
		}
		if werr != nil {
			msg, ok := serverErr(werr)
			if !ok {
				return nil, classify(werr)
			}
			r := notReady(ReasonServerError, msg)
			if exists {
				r.name, r.passwordVersion, r.created = name, u.Status.PasswordSecretVersion, res.created
			}
			p.userResults[u.UID] = r
			p.requeue = msg
			continue
		}
		p.userResults[u.UID] = res
	}
	return have, nil
}

// userPassword reads a DittoUser's password with a live GET; never from
// one of the server's own credentials Secrets.
func (c *Controller) userPassword(ctx context.Context, ds *dittov1alpha1.DittoServer, u *dittov1alpha1.DittoUser) (string, string, error) {
	sel := u.Spec.PasswordSecretRef
	if u.Namespace == ds.Namespace && serverSecrets(ds)[sel.Name] {
		return "", "", &problemError{Problem{ReasonSecretInvalid, fmt.Sprintf(
			"spec.passwordSecretRef names Secret %q, which holds DittoServer %q's own credentials: name a Secret made for this user", sel.Name, ds.Name)}}
	}
	pw, version, err := c.readSecretKey(ctx, u.Namespace, sel.Name, sel.Key, "spec.passwordSecretRef")
	if err != nil {
		return "", "", err
	}
	if len(pw) < minUserPasswordLength || len(pw) > 72 {
		return "", "", &problemError{Problem{ReasonSecretInvalid, fmt.Sprintf("the password in Secret %q key %q must be 8 to 72 characters", sel.Name, sel.Key)}}
	}
	return pw, version, nil
}

// convergeShares creates the declared shares that do not exist, and
// updates those their DittoShare created and makes their user and group
// grants exactly the declared ones; a share it did not create is left
// untouched (NameConflict).
func (c *Controller) convergeShares(ctx context.Context, p *pass, api dfsapi.API, want Desired, observed serverObjects, storesExist bool, users, groups map[string]bool) error {
	for _, decl := range want.Shares {
		s := decl.Obj
		export := decl.Share.Name
		cl, got := observed.shareClaim(s)
		if !cl.mayChange() && cl != claimCreate {
			p.shareResults[s.UID] = notReady(ReasonNameConflict, foreignShare(export))
			continue
		}
		exists := cl != claimCreate
		if exists {
			p.shareUsage[s.UID] = observedUsage(got)
		}
		if !exists && !storesExist {
			p.shareResults[s.UID] = notReady(ReasonStoresNotReady, "Waiting for the server's stores: see the DittoServer's StoresReady condition")
			continue
		}
		if owner := decl.Share.Owner; !exists && owner != "" && !users[owner] {
			// The owner is fixed when the share is created: wait for the
			// user rather than create a root-owned share.
			p.shareResults[s.UID] = notReady(ReasonPrincipalNotFound, fmt.Sprintf(
				"Waiting for user %q (spec.owner) to exist on the server before creating share %s", owner, export))
			continue
		}
		res := result{ready: true, reason: ReasonInSync, name: export, created: recordOf(cl, got.ID)}
		var werr error
		switch {
		case !exists:
			if s, werr = c.recordShareIntent(ctx, p, s); werr != nil {
				if apierrors.IsConflict(werr) {
					// Another writer changed the DittoShare since the cache
					// read: the next pass, on the newer object, goes on.
					p.requeue = "the DittoShare changed while its creation was being recorded"
					continue
				}
				return werr
			}
			var id string
			if id, werr = api.CreateShare(ctx, decl.Share); werr == nil {
				res.reason, res.created = ReasonCreated, &dittov1alpha1.ServerObjectRecord{ID: id}
				// A new share is empty: its first usage goes with the
				// creation's status write, not in a write of its own.
				p.shareUsage[s.UID] = &dittov1alpha1.ShareUsage{QuotaBytes: decl.Share.QuotaBytes}
				c.recorder.Eventf(s, corev1.EventTypeNormal, ReasonCreated, "Created share %s on DittoServer %q", export, p.ds.Name)
			} else if dfsapi.IsConflict(werr) {
				// Made by someone else since the list: never this object's.
				r := notReady(ReasonNameConflict, foreignShare(export))
				r.forgetCreated = true
				p.shareResults[s.UID] = r
				continue
			}
		case shareDiffers(decl.Share, got):
			if werr = api.UpdateShare(ctx, decl.Share); werr == nil {
				res.reason = ReasonUpdated
				c.recorder.Eventf(s, corev1.EventTypeNormal, ReasonUpdated, "Updated share %s on DittoServer %q", export, p.ds.Name)
			}
		}
		decl.Obj = s
		var missing []string
		if werr == nil {
			missing, werr = c.convergeGrants(ctx, api, decl, !exists, users, groups)
		}
		applied := s.Status.SnapshotPolicyApplied
		if werr == nil {
			applied, werr = c.convergeSnapshotPolicy(ctx, p, api, decl, !exists)
		}
		if werr != nil {
			msg, ok := serverErr(werr)
			if !ok {
				return classify(werr)
			}
			r := notReady(ReasonServerError, msg)
			if exists || res.created != nil && res.created.ID != "" {
				r.name, r.created = export, res.created
			}
			r.snapshotPolicyApplied = &applied
			p.shareResults[s.UID] = r
			p.requeue = msg
			continue
		}
		if len(missing) > 0 {
			r := notReady(ReasonPrincipalNotFound, fmt.Sprintf("Share %s is exported, but these grants wait for their user or group to exist on the server: %s",
				export, strings.Join(missing, ", ")))
			r.name, r.created = export, res.created
			r.snapshotPolicyApplied = &applied
			p.shareResults[s.UID] = r
			continue
		}
		res.snapshotPolicyApplied = &applied
		p.shareResults[s.UID] = res
	}
	return nil
}

// convergeGrants sets and removes grants; it returns the declared grants
// whose principal does not exist on the server.
func (c *Controller) convergeGrants(ctx context.Context, api dfsapi.API, decl ShareDecl, created bool, users, groups map[string]bool) ([]string, error) {
	// A share created in this pass has no grants yet.
	var got []dfsapi.Permission
	if !created {
		var err error
		if got, err = api.ListSharePermissions(ctx, decl.Share.Name); err != nil {
			return nil, err
		}
	}
	set, remove := permissionChanges(decl.Permissions, got)
	var missing []string
	for _, perm := range set {
		if (perm.Type == "user" && !users[perm.Name]) || (perm.Type == "group" && !groups[perm.Name]) {
			missing = append(missing, perm.Type+" "+perm.Name)
			continue
		}
		if err := api.SetSharePermission(ctx, decl.Share.Name, perm); err != nil {
			if dfsapi.IsNotFound(err) {
				missing = append(missing, perm.Type+" "+perm.Name)
				continue
			}
			return nil, err
		}
	}
	for _, perm := range remove {
		if err := api.DeleteSharePermission(ctx, decl.Share.Name, perm); err != nil && !dfsapi.IsNotFound(err) {
			return nil, err
		}
	}
	sort.Strings(missing)
	return missing, nil
}

func normalizeExport(name string) string { return "/" + strings.TrimLeft(name, "/") }
