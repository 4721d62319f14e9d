// Package resources holds the pure builders of every object a DittoServer
// produces: (DittoServer, resolved inputs) → desired object. Nothing here
// calls the API server; the controller resolves the inputs from its listers
// and writes what the builders return.
package resources

import (
	corev1 "k8s.io/api/core/v1"
)

// Inputs are what the controller resolved from the cluster for one DittoServer.
type Inputs struct {
	// JWTSecret selects the JWT signing secret: the user's spec.identity.jwt.secretRef,
	// or the generated Secret of Credentials (key JWTSecretKey).
	JWTSecret corev1.SecretKeySelector
	// AdminPassword selects the initial admin password: the user's
	// spec.identity.admin.passwordSecretRef, or the generated Secret of
	// Credentials (key AdminPasswordKey).
	AdminPassword corev1.SecretKeySelector
	// PostgresSecretName is the Secret with host, port, user, password and dbname
	// when the server uses PostgreSQL: the user's spec.database.postgresSecretRef or
	// the Percona user Secret <name>-postgres-pguser-dittofs. Empty for SQLite.
	PostgresSecretName string
	// SecretVersions maps the name of every Secret the pod reads to its
	// resourceVersion; it feeds the config hash so a changed Secret rolls the pod.
	SecretVersions map[string]string
}
