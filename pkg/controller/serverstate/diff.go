package serverstate

import (
	"fmt"
	"reflect"
	"slices"
	"sort"

	"github.com/dittofs/dittofs-operator/pkg/dfsapi"
)

// Comparisons of the desired state with what the server reports. They look
// only at what the operator declares: keys the server adds to a store's
// config, a share's usage or a user's e-mail are not the operator's business.

// storeDiffers tells whether an existing store differs from the declared one
// in its type or any declared config key. Secret keys are never compared:
// the server redacts them on reads (their changes follow the Secret's
// resourceVersion instead).
func storeDiffers(want, got dfsapi.Store) bool {
	if want.Type != got.Type {
		return true
	}
	for k, v := range want.Config {
		if k == s3AccessKeyIDKey || k == s3SecretAccessKeyKey {
			continue
		}
		if !sameValue(v, got.Config[k]) {
			return true
		}
	}
	return false
}

// sameValue compares a declared config value with one decoded from JSON.
func sameValue(want, got any) bool {
	if reflect.DeepEqual(want, got) {
		return true
	}
	return fmt.Sprint(want) == fmt.Sprint(got) && got != nil
}

// userDiffers tells whether a server user differs from the declared one.
func userDiffers(want, got dfsapi.User) bool {
	if want.Role != got.Role || want.Enabled != got.Enabled {
		return true
	}
	if want.UID != nil && (got.UID == nil || *want.UID != *got.UID) {
		return true
	}
	if want.GID != nil && (got.GID == nil || *want.GID != *got.GID) {
		return true
	}
	g := append([]string(nil), got.Groups...)
	sort.Strings(g)
	return !slices.Equal(want.Groups, g)
}

// shareDiffers tells whether an existing share differs from the declared
// one in what a DittoShare edit may change, or is disabled (a declared share
// is served). Its stores are chosen when it is created and never changed by
// the operator: moving a share between stores would leave its data behind.
func shareDiffers(want, got dfsapi.Share) bool {
	return want.ReadOnly != got.ReadOnly || want.Enabled != got.Enabled ||
		want.DefaultPermission != got.DefaultPermission ||
		reportedQuota(want.QuotaBytes) != reportedQuota(got.QuotaBytes)
}

// reportedQuota is a quota as the server reports it: two decimals of the
// largest binary unit ("1.50GiB"), "" for none. A quota that is not a round
// number is read back approximately, so quotas are compared in this form.
func reportedQuota(n int64) string {
	if n <= 0 {
		return ""
	}
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.size {
			return fmt.Sprintf("%.2f%s", float64(n)/float64(u.size), u.name)
		}
	}
	return fmt.Sprintf("%dB", n)
}

// permissionChanges are the grants to set and to remove so that a share's
// user and group grants are exactly the declared ones. Grants of other
// types (directory SIDs) are left alone.
func permissionChanges(want, got []dfsapi.Permission) (set, remove []dfsapi.Permission) {
	have := map[string]dfsapi.Permission{}
	for _, p := range got {
		if p.Type == "user" || p.Type == "group" {
			have[p.Type+"/"+p.Name] = p
		}
	}
	for _, p := range want {
		key := p.Type + "/" + p.Name
		if cur, ok := have[key]; !ok || cur.Level != p.Level {
			set = append(set, p)
		}
		delete(have, key)
	}
	for _, p := range have {
		remove = append(remove, p)
	}
	sort.Slice(remove, func(i, j int) bool { return remove[i].Type+remove[i].Name < remove[j].Type+remove[j].Name })
	return set, remove
}
