package resources

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// Keys of a PostgreSQL Secret: the layout the Percona operator writes for a
// user, which a user's own spec.database.postgresSecretRef must follow. All
// are required: the pod does not start without them.
const (
	PostgresHostKey     = "host"
	PostgresPortKey     = "port"
	PostgresUserKey     = "user"
	PostgresPasswordKey = "password"
	PostgresDatabaseKey = "dbname"
)

// PostgresSecretKeys lists the keys the pod reads from the PostgreSQL Secret.
func PostgresSecretKeys() []string {
	return []string{PostgresHostKey, PostgresPortKey, PostgresUserKey, PostgresPasswordKey, PostgresDatabaseKey}
}

// Defaults of spec.s3 (the CRD's).
const (
	DefaultS3Region             = "eu-west-1"
	DefaultS3AccessKeyIDKey     = "accessKeyId"
	DefaultS3SecretAccessKeyKey = "secretAccessKey"
	DefaultS3EndpointKey        = "endpoint"
)

// serverEnv is the server container's environment. Every secret value is a
// secretKeyRef: nothing secret is in the pod spec or the ConfigMap. The
// server's loader maps DITTOFS_<SECTION>_<KEY> onto config.yaml keys, also
// for keys the file leaves out; the AWS SDK reads the AWS_* variables.
func serverEnv(ds *dittov1alpha1.DittoServer, in Inputs) []corev1.EnvVar {
	env := []corev1.EnvVar{
		secretEnv("DITTOFS_CONTROLPLANE_SECRET", jwtSelector(ds, in), false),
		secretEnv("DITTOFS_ADMIN_INITIAL_PASSWORD", adminSelector(ds, in), false),
	}
	if name := postgresSecret(ds, in); name != "" {
		for _, v := range []struct{ env, key string }{
			{"DITTOFS_DATABASE_POSTGRES_HOST", PostgresHostKey},
			{"DITTOFS_DATABASE_POSTGRES_PORT", PostgresPortKey},
			{"DITTOFS_DATABASE_POSTGRES_USER", PostgresUserKey},
			{"DITTOFS_DATABASE_POSTGRES_PASSWORD", PostgresPasswordKey},
			{"DITTOFS_DATABASE_POSTGRES_DATABASE", PostgresDatabaseKey},
		} {
			env = append(env, secretEnv(v.env, keyOf(name, v.key), false))
		}
	}
	return append(env, s3Env(ds)...)
}

// s3Env gives the AWS SDK the credentials, endpoint and region of spec.s3.
// The endpoint is optional in the Secret (AWS itself needs none).
func s3Env(ds *dittov1alpha1.DittoServer) []corev1.EnvVar {
	s3 := ds.Spec.S3
	if s3 == nil {
		return nil
	}
	var env []corev1.EnvVar
	if ref := s3.CredentialsSecretRef; ref != nil && ref.SecretName != "" {
		env = append(env,
			secretEnv("AWS_ACCESS_KEY_ID", keyOf(ref.SecretName, orDefault(ref.AccessKeyIDKey, DefaultS3AccessKeyIDKey)), false),
			secretEnv("AWS_SECRET_ACCESS_KEY", keyOf(ref.SecretName, orDefault(ref.SecretAccessKeyKey, DefaultS3SecretAccessKeyKey)), false),
			secretEnv("AWS_ENDPOINT_URL", keyOf(ref.SecretName, orDefault(ref.EndpointKey, DefaultS3EndpointKey)), true),
		)
	}
	return append(env, corev1.EnvVar{Name: "AWS_REGION", Value: orDefault(s3.Region, DefaultS3Region)})
}

// postgresEnv is the libpq environment of the wait-for-postgres container.
func postgresEnv(secretName string) []corev1.EnvVar {
	return []corev1.EnvVar{
		secretEnv("PGHOST", keyOf(secretName, PostgresHostKey), false),
		secretEnv("PGPORT", keyOf(secretName, PostgresPortKey), false),
		secretEnv("PGUSER", keyOf(secretName, PostgresUserKey), false),
		secretEnv("PGPASSWORD", keyOf(secretName, PostgresPasswordKey), false),
		secretEnv("PGDATABASE", keyOf(secretName, PostgresDatabaseKey), false),
	}
}

// jwtSelector, adminSelector and postgresSecret prefer what the controller
// resolved and fall back to what the spec implies, so a zero Inputs still
// renders a pod that points at the right Secrets.
func jwtSelector(ds *dittov1alpha1.DittoServer, in Inputs) corev1.SecretKeySelector {
	if in.JWTSecret.Name != "" && in.JWTSecret.Key != "" {
		return in.JWTSecret
	}
	return JWTSecretSelector(ds)
}

func adminSelector(ds *dittov1alpha1.DittoServer, in Inputs) corev1.SecretKeySelector {
	if in.AdminPassword.Name != "" && in.AdminPassword.Key != "" {
		return in.AdminPassword
	}
	return AdminPasswordSelector(ds)
}

func postgresSecret(ds *dittov1alpha1.DittoServer, in Inputs) string {
	if !UsesPostgres(ds) {
		return ""
	}
	if in.PostgresSecretName != "" {
		return in.PostgresSecretName
	}
	return PostgresSecretName(ds)
}

func secretEnv(name string, sel corev1.SecretKeySelector, optional bool) corev1.EnvVar {
	ref := sel.DeepCopy()
	ref.Optional = nil
	if optional {
		ref.Optional = ptr.To(true)
	}
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: ref}}
}

func keyOf(secretName, key string) corev1.SecretKeySelector {
	return corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secretName}, Key: key}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
