package controller

// Inputs the user must provide: referenced Secrets, their keys, the
// StorageClass. Anything missing is ConfigReady=False with what to fix, one
// Warning per transition, a requeue with backoff, and no child touched; once
// fixed, the server converges.

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

func TestMissingInputs(t *testing.T) {
	longJWT := strings.Repeat("j", 40)
	for _, tc := range []struct {
		name    string
		spec    func(*dittov1alpha1.DittoServer)
		objects []runtime.Object
		// reads of the first pass besides the status write
		reads   []string
		reason  string
		message string // the Warning's and the condition's message prefix
		// fix is what the user does; the server then converges.
		fix runtime.Object
	}{
		{
			name:    "JWT Secret missing",
			spec:    withJWTSecret("user-jwt", "secret"),
			reason:  ReasonSecretNotFound,
			message: `Secret "user-jwt" (spec.identity.jwt.secretRef) not found in namespace "storage"`,
			fix:     newSecret("user-jwt", map[string]string{"secret": longJWT}),
		},
		{
			name:    "JWT Secret without the key",
			spec:    withJWTSecret("user-jwt", "secret"),
			objects: []runtime.Object{newSecret("user-jwt", map[string]string{"other": longJWT})},
			reads:   []string{"get secrets user-jwt"},
			reason:  ReasonSecretKeyMissing,
			message: `Secret "user-jwt" (spec.identity.jwt.secretRef) has no key "secret"`,
			fix:     newSecret("user-jwt", map[string]string{"secret": longJWT}),
		},
		{
			name:    "JWT secret too short",
			spec:    withJWTSecret("user-jwt", "secret"),
			objects: []runtime.Object{newSecret("user-jwt", map[string]string{"secret": "short"})},
			reads:   []string{"get secrets user-jwt"},
			reason:  ReasonSecretInvalid,
			message: `Secret "user-jwt" key "secret" (spec.identity.jwt.secretRef) must hold at least 32 characters`,
			fix:     newSecret("user-jwt", map[string]string{"secret": longJWT}),
		},
		{
			name: "admin password Secret missing",
			spec: func(ds *dittov1alpha1.DittoServer) {
				ds.Spec.Identity = &dittov1alpha1.IdentitySpec{Admin: &dittov1alpha1.AdminSpec{PasswordSecretRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "admin-pw"}, Key: "password"}}}
			},
			reason:  ReasonSecretNotFound,
			message: `Secret "admin-pw" (spec.identity.admin.passwordSecretRef) not found`,
			fix:     newSecret("admin-pw", map[string]string{"password": "correct horse"}),
		},
		{
			name: "S3 credentials without the secret key",
			spec: func(ds *dittov1alpha1.DittoServer) {
				ds.Spec.S3 = &dittov1alpha1.S3Spec{CredentialsSecretRef: &dittov1alpha1.S3CredentialsSecretRef{SecretName: "s3"}}
			},
			objects: []runtime.Object{newSecret("s3", map[string]string{"accessKeyId": "AK"})},
			reads:   []string{"get secrets s3"},
			reason:  ReasonSecretKeyMissing,
			message: `Secret "s3" (spec.s3.credentialsSecretRef) has no key "secretAccessKey"`,
			fix:     newSecret("s3", map[string]string{"accessKeyId": "AK", "secretAccessKey": "SK"}),
		},
		{
			name: "PostgreSQL Secret missing",
			spec: func(ds *dittov1alpha1.DittoServer) {
				ds.Spec.Database = &dittov1alpha1.DatabaseSpec{Type: dittov1alpha1.DatabasePostgres,
					PostgresSecretRef: &corev1.LocalObjectReference{Name: "pg"}}
			},
			reason:  ReasonSecretNotFound,
			message: `Secret "pg" (spec.database.postgresSecretRef) not found`,
			fix:     postgresSecret("pg"),
		},
		{
			name:    "TLS Secret missing",
			spec:    withTLS("nas-cert"),
			reason:  ReasonSecretNotFound,
			message: `Secret "nas-cert" (spec.controlPlane.tls.secretName) not found`,
			fix:     newSecret("nas-cert", map[string]string{"tls.crt": "CERT", "tls.key": "KEY"}),
		},
		{
			name:    "TLS Secret without the key",
			spec:    withTLS("nas-cert"),
			objects: []runtime.Object{newSecret("nas-cert", map[string]string{"tls.crt": "CERT", "ca.crt": "CA"})},
			reads:   []string{"get secrets nas-cert"},
			reason:  ReasonSecretKeyMissing,
			message: `Secret "nas-cert" (spec.controlPlane.tls.secretName) has no key "tls.key"`,
			fix:     newSecret("nas-cert", map[string]string{"tls.crt": "CERT", "tls.key": "KEY"}),
		},
		{
			name:    "StorageClass missing",
			spec:    func(ds *dittov1alpha1.DittoServer) { ds.Spec.Storage.StorageClassName = ptr.To("fast") },
			reason:  ReasonStorageClassNotFound,
			message: `StorageClass "fast" (spec.storage.storageClassName) not found`,
			fix:     &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Provisioner: "csi.example.com"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, false, append([]runtime.Object{newDittoServer(withFinalizer, tc.spec)}, tc.objects...)...)

			for pass := 1; pass <= 3; pass++ {
				expectErr(t, f.sync(), errWaiting)
				if pass == 1 {
					expectActions(t, f.actions(), append(tc.reads, "apply dittoservers/status nas")...)
					expectEvents(t, f.events(), "Warning "+tc.reason+" "+tc.message)
				} else {
					expectActions(t, f.actions())
					expectEvents(t, f.events())
				}
				f.catchUp()
			}
			ds := f.dittoServer()
			expectStatus(t, ds, dittov1alpha1.PhaseFailed,
				"ConfigReady=False/"+tc.reason, "Progressing=False/InvalidSpec", "Ready=False/NotReady")
			if msg := condition(ds, ConditionConfigReady).Message; !strings.HasPrefix(msg, tc.message) {
				t.Errorf("ConfigReady message %q, want prefix %q", msg, tc.message)
			}
			for _, name := range []string{"nas-jwt", "nas-admin"} {
				if f.exists(f.kube, gvrSecrets, name) {
					t.Errorf("Secret %s generated before the inputs resolved", name)
				}
			}
			if f.exists(f.kube, gvrStatefulSets, testName) || f.exists(f.kube, gvrConfigMaps, "nas-config") {
				t.Error("children created before the inputs resolved")
			}

			f.put(tc.fix)
			f.converge()
			expectStatus(t, f.dittoServer(), dittov1alpha1.PhasePending, "ConfigReady=True/InputsResolved")
			if !f.exists(f.kube, gvrStatefulSets, testName) {
				t.Error("no StatefulSet once the inputs resolved")
			}
		})
	}
}

// A Secret that goes missing under a running server: ConfigReady turns False
// once, and the running children are left alone.
func TestSecretDeletedUnderARunningServer(t *testing.T) {
	f := newFixture(t, false, newDittoServer(withFinalizer, withJWTSecret("user-jwt", "secret")),
		newSecret("user-jwt", map[string]string{"secret": strings.Repeat("j", 40)}))
	f.converge()
	if err := f.kube.Delete(gvrSecrets, testNamespace, "user-jwt"); err != nil {
		t.Fatal(err)
	}
	f.catchUp()
	expectErr(t, f.sync(), errWaiting)
	expectActions(t, f.actions(), "apply dittoservers/status nas")
	expectEvents(t, f.events(), `Warning SecretNotFound Secret "user-jwt"`)
	if !f.exists(f.kube, gvrStatefulSets, testName) {
		t.Error("StatefulSet gone with the Secret")
	}
	f.catchUp()
	expectErr(t, f.sync(), errWaiting)
	expectActions(t, f.actions())
	expectEvents(t, f.events())
}

// A name the API server accepts for a DittoServer but not for its Services
// is refused before anything is created.
func TestInvalidNameIsRefused(t *testing.T) {
	for _, name := range []string{"my.nas", "n" + strings.Repeat("a", 60)} {
		t.Run(name[:6], func(t *testing.T) {
			ds := newDittoServer(withFinalizer, func(ds *dittov1alpha1.DittoServer) { ds.Name = name })
			f := newFixture(t, false, ds)
			key := cache.ObjectName{Namespace: testNamespace, Name: name}
			for pass := 1; pass <= 2; pass++ {
				f.clear()
				expectErr(t, f.c.sync(f.ctx, key), errWaiting)
				if pass == 1 {
					expectActions(t, f.actions(), "apply dittoservers/status "+name)
					expectEvents(t, f.events(), `Warning InvalidSpec metadata.name "`+name+`"`)
				} else {
					expectActions(t, f.actions())
					expectEvents(t, f.events())
				}
				f.catchUp()
			}
			got, err := f.ditto.Get(gvrDittoServers, testNamespace, name)
			if err != nil {
				t.Fatal(err)
			}
			expectStatus(t, got.(*dittov1alpha1.DittoServer), dittov1alpha1.PhaseFailed, "ConfigReady=False/InvalidSpec")
		})
	}
}
