package serverstate

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// The CRDs refuse what follows at admission; the operator checks it again
// on its own, because an object can predate a rule (stored before the CRD
// was upgraded) and a rule can be loosened by whoever edits the CRD. These
// are the limits that keep one team from hurting the others on a shared
// server.

const (
	// MinSnapshotInterval is the shortest interval of a snapshot policy:
	// below it one share's snapshots pile up faster than anyone prunes them.
	MinSnapshotInterval = time.Minute
	// MaxSnapshotKeepLast is the largest keepLast of a snapshot policy.
	MaxSnapshotKeepLast = 1000
)

// reservedGroups are the server's system groups: membership makes a user an
// administrator of the whole server.
var reservedGroups = []string{"admins", "operators"}

// principalName is what the CRDs admit as a group or user name on the
// server (dfs itself only requires a non-empty name; these names also go
// into URL path segments and into SMB and NFS identities).
var principalName = regexp.MustCompile(`^[a-z_][a-z0-9_.-]*$`)

// checkSnapshotBounds refuses a policy that takes snapshots more often than
// MinSnapshotInterval, keeps more than MaxSnapshotKeepLast, or bounds them
// neither by count nor by age.
func checkSnapshotBounds(interval time.Duration, keepLast int, ttl time.Duration) error {
	switch {
	case interval < MinSnapshotInterval:
		return fmt.Errorf("interval %v is shorter than %v", interval, MinSnapshotInterval)
	case keepLast > MaxSnapshotKeepLast:
		return fmt.Errorf("keepLast %d is more than %d", keepLast, MaxSnapshotKeepLast)
	case keepLast <= 0 && ttl <= 0:
		return fmt.Errorf("neither keepLast nor a positive ttl is set: snapshots without a bound fill the server's disk")
	}
	return nil
}

// userSpecProblem is what the operator refuses in a DittoUser's groups: a
// reserved group, or a name the CRD would not admit.
func userSpecProblem(u *dittov1alpha1.DittoUser) (Problem, bool) {
	for _, g := range u.Spec.Groups {
		if slices.Contains(reservedGroups, g) {
			return Problem{ReasonInvalidSpec, fmt.Sprintf("spec.groups must not list %s: the server's system groups admins and operators carry administrator rights", g)}, true
		}
		if !principalName.MatchString(g) {
			return Problem{ReasonInvalidSpec, fmt.Sprintf("spec.groups: group name %q must start with a lowercase letter or '_' and hold only lowercase letters, digits, '_', '.' and '-'", g)}, true
		}
	}
	return Problem{}, false
}
