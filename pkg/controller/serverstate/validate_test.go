package serverstate

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// The operator refuses on its own what the CRD refuses at admission, for
// objects stored before a rule existed.
func TestSnapshotPolicyBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		sp   dittov1alpha1.SnapshotPolicy
		err  string // "" when admitted
	}{
		{"1 ns", dittov1alpha1.SnapshotPolicy{Interval: "1ns", KeepLast: 7}, "shorter than 1m0s"},
		{"59 s", dittov1alpha1.SnapshotPolicy{Interval: "59s", KeepLast: 7}, "shorter than 1m0s"},
		{"1 m", dittov1alpha1.SnapshotPolicy{Interval: "1m", KeepLast: 7}, ""},
		{"@hourly with ttl only", dittov1alpha1.SnapshotPolicy{Interval: "@hourly", TTL: "720h"}, ""},
		{"keepLast 1001", dittov1alpha1.SnapshotPolicy{Interval: "1h", KeepLast: 1001}, "more than 1000"},
		{"keepLast 1000", dittov1alpha1.SnapshotPolicy{Interval: "1h", KeepLast: 1000}, ""},
		{"no bound", dittov1alpha1.SnapshotPolicy{Interval: "1h"}, "neither keepLast nor a positive ttl"},
		{"ttl 0s only", dittov1alpha1.SnapshotPolicy{Interval: "1h", TTL: "0s"}, "neither keepLast nor a positive ttl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			share := dittoShare("projects", func(s *dittov1alpha1.DittoShare) { s.Spec.SnapshotPolicy = &tc.sp })
			d := DesiredState(Inputs{Server: availableServer(), Shares: []*dittov1alpha1.DittoShare{share}})
			p, rejected := d.Rejected[share.UID]
			switch {
			case tc.err == "" && rejected:
				t.Errorf("rejected: %+v", p)
			case tc.err != "" && (!rejected || p.Reason != ReasonInvalidSpec || !strings.Contains(p.Message, "spec.snapshotPolicy") || !strings.Contains(p.Message, tc.err)):
				t.Errorf("Rejected = %+v, %v; want %s naming spec.snapshotPolicy with %q", p, rejected, ReasonInvalidSpec, tc.err)
			}
			if tc.err == "" && (len(d.Shares) != 1 || d.Shares[0].SnapshotPolicy == nil || d.Shares[0].SnapshotPolicy.Interval < time.Minute) {
				t.Errorf("declared shares %+v", d.Shares)
			}
		})
	}
}

func TestUserGroupsAreCheckedByTheOperator(t *testing.T) {
	for _, tc := range []struct {
		groups []string
		err    string
	}{
		{[]string{"staff", "admins"}, "must not list admins"},
		{[]string{"operators"}, "must not list operators"},
		{[]string{"Staff"}, `group name "Staff" must start with a lowercase letter`},
		{[]string{"a/b"}, `group name "a/b"`},
		{[]string{"staff", "team-a", "_svc", "x.y"}, ""},
	} {
		u := dittoUser("alice", func(u *dittov1alpha1.DittoUser) { u.Spec.Groups = tc.groups; u.UID = types.UID("u-alice") })
		d := DesiredState(Inputs{Server: availableServer(), Users: []*dittov1alpha1.DittoUser{u}})
		p, rejected := d.Rejected[u.UID]
		if tc.err == "" {
			if rejected || len(d.Users) != 1 {
				t.Errorf("%v: rejected %+v", tc.groups, p)
			}
			continue
		}
		if !rejected || p.Reason != ReasonInvalidSpec || !strings.Contains(p.Message, "spec.groups") || !strings.Contains(p.Message, tc.err) {
			t.Errorf("%v: Rejected = %+v, %v; want %s with %q", tc.groups, p, rejected, ReasonInvalidSpec, tc.err)
		}
		if len(d.Users) != 0 || len(d.Groups) != 0 {
			t.Errorf("%v: a refused user is declared: %+v, groups %v", tc.groups, d.Users, d.Groups)
		}
	}
}
