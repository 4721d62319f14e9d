package controller

// What the controller keeps in memory stays bounded: records and key names
// of objects that no longer matter are dropped.

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// The key names of a Secret are kept while some DittoServer reads it, and
// forgotten once none does: after an edit that drops the reference, or the
// deletion of the last reader.
func TestSecretKeysForgottenWhenNoDittoServerReadsThem(t *testing.T) {
	jwt := strings.Repeat("j", 40)
	f := newFixture(t, false,
		newDittoServer(withFinalizer, withJWTSecret("shared", "secret")),
		named("other", withFinalizer, withJWTSecret("shared", "secret")),
		newSecret("shared", map[string]string{"secret": jwt}))
	f.converge()
	remembered := func(name string) bool {
		s, err := f.kube.Get(gvrSecrets, testNamespace, name)
		if err != nil {
			return false
		}
		_, ok := f.c.secretKeys.get(testNamespace, name, s.(*corev1.Secret).ResourceVersion)
		return ok
	}
	if !remembered("shared") {
		t.Fatal("the key names of the referenced Secret are not remembered after the first pass")
	}

	// nas stops reading the Secret; other still does.
	before := f.dittoServer().DeepCopy()
	f.edit(func(ds *dittov1alpha1.DittoServer) { ds.Spec.Identity = nil }, true)
	f.catchUp()
	f.c.forgetSecretsNoLongerRead(before, f.dittoServer())
	if _, ok := f.c.secretKeys.get(testNamespace, "shared", f.get(f.kube, gvrSecrets, "shared").(*corev1.Secret).ResourceVersion); !ok {
		t.Error("the key names of a Secret another DittoServer reads were forgotten")
	}

	// The last reader is deleted.
	other, err := f.ditto.Get(gvrDittoServers, testNamespace, "other")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ditto.Delete(gvrDittoServers, testNamespace, "other"); err != nil {
		t.Fatal(err)
	}
	f.catchUp()
	f.c.forgetSecretsNoLongerRead(other, nil)
	// nas reads its own generated Secret, and nothing else any more.
	if n := f.c.secretKeys.len(); n != 1 || !remembered("nas-generated") {
		t.Errorf("%d Secrets remembered, want only nas-generated, which nas reads", n)
	}
}

// However many Secrets are referenced, the key memory holds at most
// maxRememberedSecrets of them.
func TestSecretKeysAreCapped(t *testing.T) {
	s := newSecretKeyCache()
	for i := range maxRememberedSecrets + 10 {
		s.put(testNamespace, fmt.Sprint("secret-", i), secretInfo{resourceVersion: "1"})
	}
	if n := s.len(); n != maxRememberedSecrets {
		t.Errorf("%d Secrets remembered, want the cap %d", n, maxRememberedSecrets)
	}
	last := fmt.Sprint("secret-", maxRememberedSecrets+9)
	if _, ok := s.get(testNamespace, last, "1"); !ok {
		t.Error("the Secret just put was not kept")
	}
	s.put(testNamespace, last, secretInfo{resourceVersion: "2"})
	if n := s.len(); n != maxRememberedSecrets {
		t.Errorf("a new version of a remembered Secret changed the count to %d", n)
	}
}
