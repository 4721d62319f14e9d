package resources

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// MaxNameLength is the longest DittoServer name whose children are all valid:
// the StatefulSet's pods carry the label controller-revision-hash=<name>-<hash
// of up to 10 characters>, and a label value has at most 63 characters.
const MaxNameLength = 52

// PerconaMaxNameLength is the longest DittoServer name with Percona: the
// Percona operator (on Crunchy PGO) names the instance StatefulSet
// <cluster>-<instance set>-<4 random characters>, here
// <name>-postgres-instance1-xxxx, and a StatefulSet name has at most
// MaxNameLength characters for the same revision-label reason. Its backup
// CronJobs (<cluster>-repo1-full, at most 52) allow more.
const PerconaMaxNameLength = MaxNameLength - len("-postgres-"+PerconaInstanceSet+"-xxxx")

// ValidateName reports a DittoServer name the API server accepts but its
// children cannot carry: Service names are DNS-1035 labels (no dots, a letter
// first), and the pods' revision label bounds the length. The controller
// checks it before building anything, so the user gets one clear reason.
func ValidateName(ds *dittov1alpha1.DittoServer) error {
	if len(ds.Name) > MaxNameLength {
		return fmt.Errorf("metadata.name %q has %d characters; a DittoServer name must have at most %d, "+
			"because its StatefulSet's pods carry it in a label", ds.Name, len(ds.Name), MaxNameLength)
	}
	if PerconaEnabled(ds) && len(ds.Name) > PerconaMaxNameLength {
		return fmt.Errorf("metadata.name %q has %d characters; with spec.percona.enabled a DittoServer name must have at most %d, "+
			"because the Percona operator names the PostgreSQL StatefulSet %s-%s-xxxx (at most %d characters)",
			ds.Name, len(ds.Name), PerconaMaxNameLength, PerconaClusterName(ds), PerconaInstanceSet, MaxNameLength)
	}
	if errs := validation.IsDNS1035Label(ds.Name); len(errs) > 0 {
		return fmt.Errorf("metadata.name %q cannot name the DittoServer's Services (%s): "+
			"use lower-case letters, digits and '-', starting with a letter", ds.Name, strings.Join(errs, "; "))
	}
	return nil
}
