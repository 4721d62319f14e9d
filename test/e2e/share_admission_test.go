package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

var (
	dittoShareGVR = dittov1alpha1.SchemeGroupVersion.WithResource("dittoshares")
	dittoUserGVR  = dittov1alpha1.SchemeGroupVersion.WithResource("dittousers")
)

// Every DittoShare and DittoUser of artifacts/examples is admitted as a user
// would apply it: its Secrets created, a server-side dry run for the rest.
func TestShareAdmissionAcceptsEverySample(t *testing.T) {
	n := newNamespace(t, nil)
	files, err := filepath.Glob(filepath.Join(env.root, "artifacts", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in artifacts/examples (%v)", err)
	}
	admitted := 0
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		objs := readSample(t, name)
		for _, o := range objs {
			switch o.GetKind() {
			case "Secret":
				n.create(o)
			case "DittoShare", "DittoUser":
				n.dryRun(o)
				admitted++
			}
		}
	}
	if admitted == 0 {
		t.Fatal("no sample declares a DittoShare or a DittoUser")
	}
}

// A share that says only which server serves it gets the documented
// defaults: kept on deletion, denied to everyone not granted, writable.
func TestShareAdmissionDefaults(t *testing.T) {
	n := newNamespace(t, nil)
	share := sampleObject(t, "shares", "DittoShare")
	unstructured.RemoveNestedField(share.Object, "spec")
	mergeSpec(t, share, `serverRef: {name: dittofs-files}`)
	got := n.dryRun(share)
	for field, want := range map[string]any{"deletionPolicy": "Retain", "defaultPermission": "none", "readOnly": false} {
		if v, _, _ := unstructured.NestedFieldNoCopy(got.Object, "spec", field); v != want {
			t.Errorf("spec.%s = %v after admission, want %v", field, v, want)
		}
	}
	for _, field := range []string{"exportName", "quota", "permissions"} {
		if v, ok, _ := unstructured.NestedFieldNoCopy(got.Object, "spec", field); ok {
			t.Errorf("spec.%s = %v after admission, want it unset", field, v)
		}
	}
}

// A share or user spec the CRD must refuse is refused at admission, with a
// message that names the field to fix.
func TestShareAdmissionRejectsInvalidSpecs(t *testing.T) {
	n := newNamespace(t, nil)
	long := strings.Repeat("a", 81)
	cases := []struct {
		name  string
		kind  string // DittoShare or DittoUser, from the shares sample
		meta  string // metadata.name instead of the sample's, if set
		spec  string // merged over the sample's spec; a null value removes the field
		field string // must appear in the error and in a cause
		msg   string // part of the expected message
	}{
		// DittoShare
		{"share without serverRef", "DittoShare", "", `serverRef: null`, "spec.serverRef", "Required value"},
		{"share with an empty serverRef name", "DittoShare", "", `serverRef: {name: ""}`, "spec.serverRef.name", "is required"},
		{"export without slash", "DittoShare", "", `exportName: projects`, "spec.exportName", `must be "/" followed by one lowercase name`},
		{"export with upper case", "DittoShare", "", `exportName: /Projects`, "spec.exportName", "lowercased name"},
		{"nested export", "DittoShare", "", `exportName: /teams/projects`, "spec.exportName", `must be "/" followed by one lowercase name`},
		{"export of dots", "DittoShare", "", `exportName: /..`, "spec.exportName", `must be "/" followed by one lowercase name`},
		{"export too long for SMB", "DittoShare", "", `exportName: /` + long, "spec.exportName", "Too long"},
		{"default export too long for SMB", "DittoShare", long, ``, "spec.exportName", "is required when metadata.name is longer than 80 characters"},
		{"quota 0", "DittoShare", "", `quota: "0"`, "spec.quota", "must be greater than 0"},
		{"negative quota", "DittoShare", "", `quota: -1Gi`, "spec.quota", "must be greater than 0"},
		{"unknown default permission", "DittoShare", "", `defaultPermission: write`, "spec.defaultPermission", "Unsupported value"},
		{"unknown deletion policy", "DittoShare", "", `deletionPolicy: Orphan`, "spec.deletionPolicy", "Unsupported value"},
		{"permission for a user and a group", "DittoShare", "", `permissions: [{user: alice, group: staff, level: read}]`, "spec.permissions[0]", "names exactly one of user and group"},
		{"permission for nobody", "DittoShare", "", `permissions: [{user: alice, level: read}, {level: read}]`, "spec.permissions[1]", "names exactly one of user and group"},
		{"permission without level", "DittoShare", "", `permissions: [{user: alice}]`, "spec.permissions[0].level", "Required value"},
		{"unknown permission level", "DittoShare", "", `permissions: [{user: alice, level: write}]`, "spec.permissions[0].level", "Unsupported value"},
		{"user listed twice", "DittoShare", "", `permissions: [{user: alice, level: read}, {group: staff, level: read}, {user: alice, level: admin}]`, "spec.permissions", "each user and each group at most once"},
		{"group listed twice", "DittoShare", "", `permissions: [{group: staff, level: read}, {group: staff, level: read-write}]`, "spec.permissions", "each user and each group at most once"},
		{"volume without a claim name", "DittoShare", "", `volume: {mountOptions: [hard]}`, "spec.volume.claimName", "Required value"},
		{"volume claim name not a DNS subdomain", "DittoShare", "", `volume: {claimName: Projects_Data}`, "spec.volume.claimName", "must be a DNS subdomain"},
		{"volume mount option with a space", "DittoShare", "", `volume: {claimName: data, mountOptions: ["ro ,hard"]}`, "spec.volume.mountOptions[0]", "should match"},
		{"too many permissions", "DittoShare", "", `permissions: [` + permissionList(65) + `]`, "spec.permissions", "Too many"},
		// DittoUser
		{"user without serverRef", "DittoUser", "", `serverRef: null`, "spec.serverRef", "Required value"},
		{"user with an empty serverRef name", "DittoUser", "", `serverRef: {name: ""}`, "spec.serverRef.name", "is required"},
		{"username with upper case", "DittoUser", "", `username: Alice`, "spec.username", "lowercase letters"},
		{"username starting with a digit", "DittoUser", "", `username: 1alice`, "spec.username", "must start with a lowercase letter"},
		{"username too long", "DittoUser", "", `username: ` + long, "spec.username", "Too long"},
		{"username admin", "DittoUser", "", `username: admin`, "spec.username", "must not be admin or dittofs-operator"},
		{"username of the operator", "DittoUser", "", `username: dittofs-operator`, "spec.username", "must not be admin or dittofs-operator"},
		{"name admin without username", "DittoUser", "admin", ``, "spec.username", "must not be admin or dittofs-operator"},
		{"name that is no username", "DittoUser", "1st-user", ``, "spec.username", "is required when metadata.name is no valid username"},
		{"password without Secret name", "DittoUser", "", `passwordSecretRef: {name: "", key: password}`, "spec.passwordSecretRef.name", "is required"},
		{"password without key", "DittoUser", "", `passwordSecretRef: {key: null}`, "spec.passwordSecretRef.key", "Required value"},
		{"optional password", "DittoUser", "", `passwordSecretRef: {name: alice-password, key: password, optional: true}`, "spec.passwordSecretRef.optional", "must not be true"},
		{"uid 0", "DittoUser", "", `uid: 0`, "spec.uid", "greater than or equal to 1"},
		{"uid beyond 32 bits", "DittoUser", "", `uid: 4294967295`, "spec.uid", "less than or equal to 4294967294"},
		{"gid 0", "DittoUser", "", `gid: 0`, "spec.gid", "greater than or equal to 1"},
		{"admins group", "DittoUser", "", `groups: [staff, admins]`, "spec.groups", "must not list admins or operators"},
		{"operators group", "DittoUser", "", `groups: [operators]`, "spec.groups", "must not list admins or operators"},
		{"group listed twice", "DittoUser", "", `groups: [staff, staff]`, "spec.groups[1]", "Duplicate value"},
		{"empty group name", "DittoUser", "", `groups: [""]`, "spec.groups[0]", "at least 1 chars long"},
		{"group name with upper case", "DittoUser", "", `groups: [staff, Staff]`, "spec.groups", "each group name must start with a lowercase letter"},
		{"group name with a slash", "DittoUser", "", `groups: [a/b]`, "spec.groups", "each group name must start with a lowercase letter"},
		// Principals and snapshot policies (one team must not fill the shared disk).
		{"permission for a user with a space", "DittoShare", "", `permissions: [{user: "bob smith", level: read}]`, "spec.permissions[0]", "spec.permissions[].user must start with a lowercase letter"},
		{"permission for a group with a slash", "DittoShare", "", `permissions: [{group: "../admins", level: read}]`, "spec.permissions[0]", "spec.permissions[].group must start with a lowercase letter"},
		{"snapshot every nanosecond", "DittoShare", "", `snapshotPolicy: {interval: 1ns, keepLast: 7}`, "spec.snapshotPolicy.interval", "of at least 1m"},
		{"snapshot every 59 seconds", "DittoShare", "", `snapshotPolicy: {interval: 59s, keepLast: 7}`, "spec.snapshotPolicy.interval", "of at least 1m"},
		{"snapshots kept by the thousand", "DittoShare", "", `snapshotPolicy: {interval: 1h, keepLast: 1001}`, "spec.snapshotPolicy.keepLast", "less than or equal to 1000"},
		{"snapshots without a bound", "DittoShare", "", `snapshotPolicy: {interval: 1h}`, "spec.snapshotPolicy", "must set keepLast or a positive ttl"},
		{"snapshots with keepLast 0 and ttl 0s", "DittoShare", "", `snapshotPolicy: {interval: 1h, keepLast: 0, ttl: 0s}`, "spec.snapshotPolicy", "must set keepLast or a positive ttl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := sampleObject(t, "shares", tc.kind)
			if tc.meta != "" {
				obj.SetName(tc.meta)
			}
			mergeSpec(t, obj, tc.spec)
			_, err := env.dyn.Resource(gvrOf(t, obj)).Namespace(n.name).Create(t.Context(), obj, metav1.CreateOptions{DryRun: dryRun})
			assertInvalid(t, err, tc.field, tc.msg)
		})
	}
}

// What is close to an invalid spec but fine is admitted: the same name for a
// user and a group, an explicit export or username equal to the default.
func TestShareAdmissionAcceptsEdgeCases(t *testing.T) {
	n := newNamespace(t, nil)
	for _, tc := range []struct{ name, kind, spec string }{
		{"user and group of the same name", "DittoShare", `permissions: [{user: alice, level: read}, {group: alice, level: read-write}]`},
		{"explicit default export", "DittoShare", `exportName: /projects`},
		{"export of 80 characters", "DittoShare", `exportName: /` + strings.Repeat("a", 80)},
		{"quota in bytes", "DittoShare", `quota: 1048576`},
		{"64 permissions", "DittoShare", `permissions: [` + permissionList(64) + `]`},
		{"explicit default username", "DittoUser", `username: alice`},
		{"largest uid", "DittoUser", `{uid: 4294967294, gid: 4294967294}`},
		{"ordinary groups", "DittoUser", `groups: [staff, users, team-a]`},
		{"groups with '_' and '.'", "DittoUser", `groups: [_svc, team.a]`},
		{"snapshots every minute, kept by count", "DittoShare", `snapshotPolicy: {interval: 1m, keepLast: 1000}`},
		{"snapshots kept by age", "DittoShare", `snapshotPolicy: {interval: "@hourly", ttl: 720h}`},
		{"volume with a dotted claim name and options", "DittoShare", `volume: {claimName: projects.data, mountOptions: [hard, "rsize=1048576", "nfsvers=4.1", lock]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := sampleObject(t, "shares", tc.kind)
			mergeSpec(t, obj, tc.spec)
			n.dryRun(obj)
		})
	}
}

// Clients mount a share by its export, its files live on one server, and
// files and grants belong to a username: these cannot change once created.
// Everything else stays editable.
func TestShareAdmissionIdentityIsImmutable(t *testing.T) {
	n := newNamespace(t, nil)
	share := sampleObject(t, "shares", "DittoShare") // no exportName: "/projects" by default
	explicit := sampleObject(t, "shares", "DittoShare")
	explicit.SetName("explicit")
	mergeSpec(t, explicit, `exportName: /data`)
	user := sampleObject(t, "shares", "DittoUser") // no username: "alice" by default
	mounted := sampleObject(t, "shares", "DittoShare")
	mounted.SetName("mounted")
	mergeSpec(t, mounted, `volume: {claimName: data}`)
	n.create(share, explicit, user, mounted)

	for _, tc := range []struct {
		name, kind, object, patch string
		field, msg                string // empty: the patch is admitted
	}{
		{"share moved to another server", "DittoShare", share.GetName(), `{"spec":{"serverRef":{"name":"other"}}}`, "spec.serverRef", "spec.serverRef is immutable"},
		{"export set to another path", "DittoShare", share.GetName(), `{"spec":{"exportName":"/elsewhere"}}`, "spec.exportName", "spec.exportName is immutable"},
		{"export set to its default", "DittoShare", share.GetName(), `{"spec":{"exportName":"/projects"}}`, "", ""},
		{"explicit export changed", "DittoShare", "explicit", `{"spec":{"exportName":"/data2"}}`, "spec.exportName", "spec.exportName is immutable"},
		{"explicit export removed", "DittoShare", "explicit", `{"spec":{"exportName":null}}`, "spec.exportName", "spec.exportName is immutable"},
		{"owner changed", "DittoShare", share.GetName(), `{"spec":{"owner":"bob"}}`, "spec.owner", "spec.owner is immutable"},
		{"owner removed", "DittoShare", share.GetName(), `{"spec":{"owner":null}}`, "spec.owner", "spec.owner is immutable"},
		{"volume added", "DittoShare", "explicit", `{"spec":{"volume":{"claimName":"data"}}}`, "", ""},
		{"volume claim renamed", "DittoShare", "mounted", `{"spec":{"volume":{"claimName":"other"}}}`, "spec.volume.claimName", "spec.volume.claimName is immutable"},
		{"volume options edited", "DittoShare", "mounted", `{"spec":{"volume":{"claimName":"data","mountOptions":["hard"]}}}`, "", ""},
		{"volume removed", "DittoShare", "mounted", `{"spec":{"volume":null}}`, "", ""},
		{"share settings edited", "DittoShare", share.GetName(), `{"spec":{"readOnly":true,"quota":"1Ti","defaultPermission":"read","deletionPolicy":"Delete","permissions":[{"group":"staff","level":"read"}]}}`, "", ""},
		{"user moved to another server", "DittoUser", user.GetName(), `{"spec":{"serverRef":{"name":"other"}}}`, "spec.serverRef", "spec.serverRef is immutable"},
		{"username changed", "DittoUser", user.GetName(), `{"spec":{"username":"bob"}}`, "spec.username", "spec.username is immutable"},
		{"username set to its default", "DittoUser", user.GetName(), `{"spec":{"username":"alice"}}`, "", ""},
		{"user settings edited", "DittoUser", user.GetName(), `{"spec":{"uid":2000,"gid":2000,"groups":["staff"],"passwordSecretRef":{"name":"other","key":"pw"}}}`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gvr := dittoShareGVR
			if tc.kind == "DittoUser" {
				gvr = dittoUserGVR
			}
			_, err := env.dyn.Resource(gvr).Namespace(n.name).Patch(t.Context(), tc.object, types.MergePatchType, []byte(tc.patch), metav1.PatchOptions{DryRun: dryRun})
			if tc.field == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			assertInvalid(t, err, tc.field, tc.msg)
		})
	}
}

// kubectl shows shares and users by their short names with the columns a
// user needs, and `kubectl explain` documents the fields.
func TestShareKubectlColumnsAndExplain(t *testing.T) {
	n := newNamespace(t, nil)
	share := sampleObject(t, "shares", "DittoShare")
	user := sampleObject(t, "shares", "DittoUser")
	n.create(share, user)

	for _, tc := range []struct {
		args    []string
		columns []string // the header, in order
		row     []string // leading cells of the object's row (spec-derived only)
	}{
		{[]string{"get", "dshare"}, []string{"NAME", "SERVER", "EXPORT", "READ-ONLY", "READY", "REASON", "AGE"}, []string{"projects", "dittofs-files"}},
		{[]string{"get", "dshare", "-o", "wide"}, []string{"NAME", "SERVER", "EXPORT", "READ-ONLY", "READY", "REASON", "CLAIM", "USED", "DELETION", "MESSAGE", "AGE"}, []string{"projects", "dittofs-files"}},
		{[]string{"get", "duser"}, []string{"NAME", "SERVER", "USERNAME", "UID", "READY", "REASON", "AGE"}, []string{"alice", "dittofs-files"}},
		{[]string{"get", "duser", "-o", "wide"}, []string{"NAME", "SERVER", "USERNAME", "UID", "READY", "REASON", "GID", "MESSAGE", "AGE"}, []string{"alice", "dittofs-files"}},
	} {
		out := n.kubectl(tc.args...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			t.Errorf("kubectl %s: want a header and one row:\n%s", strings.Join(tc.args, " "), out)
			continue
		}
		if got := strings.Fields(lines[0]); strings.Join(got, " ") != strings.Join(tc.columns, " ") {
			t.Errorf("kubectl %s: columns %v, want %v", strings.Join(tc.args, " "), got, tc.columns)
		}
		if got := strings.Fields(lines[1]); len(got) < len(tc.row) || strings.Join(got[:len(tc.row)], " ") != strings.Join(tc.row, " ") {
			t.Errorf("kubectl %s: row %q, want it to start with %v", strings.Join(tc.args, " "), lines[1], tc.row)
		}
	}
	// The spec-only cells have their values before any status exists.
	out := n.kubectl("get", "dshare", "projects", "-o", "custom-columns=RO:.spec.readOnly,DEL:.spec.deletionPolicy", "--no-headers")
	if got := strings.Fields(out); strings.Join(got, " ") != "false Retain" {
		t.Errorf("defaulted readOnly and deletionPolicy: %q, want false Retain", out)
	}
	out = n.kubectl("get", "duser", "alice", "-o", "custom-columns=UID:.spec.uid,GID:.spec.gid", "--no-headers")
	if got := strings.Fields(out); strings.Join(got, " ") != "1000 1000" {
		t.Errorf("uid and gid: %q, want 1000 1000", out)
	}

	for _, tc := range []struct {
		field string
		want  []string
	}{
		{"dittoshare", []string{"DittoShare is one export of a DittoServer", "RBAC on DittoShares"}},
		{"dittoshare.spec.deletionPolicy", []string{"Retain (the default) leaves the share and its files on the server", "Delete"}},
		{"dittoshare.spec.exportName", []string{"NFS clients mount", "SMB share name", `Defaults to "/" + metadata.name`, "Immutable"}},
		{"dittoshare.spec.permissions", []string{"A user's own permission wins", "at most once"}},
		{"dittouser", []string{"DittoUser is one user of a DittoServer", "SMB clients", "uid"}},
		{"dittouser.spec.uid", []string{"NFS requests carrying this uid act as this user"}},
		{"dittouser.spec.passwordSecretRef", []string{"Changing the Secret's value changes the password"}},
	} {
		out := n.kubectl("explain", tc.field)
		flat := strings.Join(strings.Fields(out), " ")
		for _, w := range tc.want {
			if !strings.Contains(flat, w) {
				t.Errorf("kubectl explain %s does not say %q:\n%s", tc.field, w, out)
			}
		}
	}
}

// sampleObject returns the first document of the given kind in a sample.
func sampleObject(t *testing.T, sample, kind string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range readSample(t, sample) {
		if o.GetKind() == kind {
			return o
		}
	}
	t.Fatalf("sample %s holds no %s", sample, kind)
	return nil
}

func gvrOf(t *testing.T, obj *unstructured.Unstructured) schema.GroupVersionResource {
	t.Helper()
	gvr, ok := gvrByKind[obj.GetKind()]
	if !ok {
		t.Fatalf("no resource known for kind %s", obj.GetKind())
	}
	return gvr
}

// dryRun submits obj to the namespace with a server-side dry run and returns
// what the API server would store; a rejection fails the test.
func (n *testNS) dryRun(obj *unstructured.Unstructured) *unstructured.Unstructured {
	n.t.Helper()
	got, err := env.dyn.Resource(gvrOf(n.t, obj)).Namespace(n.name).Create(n.t.Context(), obj, metav1.CreateOptions{DryRun: dryRun})
	if err != nil {
		n.t.Fatalf("%s %s rejected: %v", obj.GetKind(), obj.GetName(), err)
	}
	return got
}

// permissionList is n distinct user grants, as a flow-style YAML list body.
func permissionList(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf("{user: user%d, level: read}", i)
	}
	return strings.Join(items, ", ")
}
