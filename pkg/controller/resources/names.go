package resources

import (
	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// Keys of the Secrets the operator generates.
const (
	JWTSecretKey     = "jwt-secret"
	AdminPasswordKey = "password"
)

// Names of the objects a DittoServer produces.
func ConfigMapName(ds *dittov1alpha1.DittoServer) string       { return ds.Name + "-config" }
func HeadlessServiceName(ds *dittov1alpha1.DittoServer) string { return ds.Name + "-headless" }
func FileServiceName(ds *dittov1alpha1.DittoServer) string     { return ds.Name + "-file" }
func APIServiceName(ds *dittov1alpha1.DittoServer) string      { return ds.Name + "-api" }
func MetricsServiceName(ds *dittov1alpha1.DittoServer) string  { return ds.Name + "-metrics" }
func StatefulSetName(ds *dittov1alpha1.DittoServer) string     { return ds.Name }
func PerconaClusterName(ds *dittov1alpha1.DittoServer) string  { return ds.Name + "-postgres" }

// OperatorSecretName is the Secret with the password of the operator's own
// account on the server (made by the server state controller).
func OperatorSecretName(ds *dittov1alpha1.DittoServer) string { return ds.Name + "-operator" }

// PerconaUserSecretName is the Secret the Percona operator writes for the dittofs user.
func PerconaUserSecretName(ds *dittov1alpha1.DittoServer) string {
	return PerconaClusterName(ds) + "-pguser-" + PerconaUser
}

// PerconaUser is the PostgreSQL user created for DittoFS in a Percona cluster.
const PerconaUser = "dittofs"

// CredentialsSecretName is the one Secret with the values the operator
// generates (the JWT signing secret, the initial admin password). Not "-credentials":
// users name their own Secrets so (the s3 sample's dittofs-s3-credentials
// would be taken by a server named dittofs-s3).
func CredentialsSecretName(ds *dittov1alpha1.DittoServer) string { return ds.Name + "-generated" }
