package resources

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	dittov1alpha1 "github.com/dittofs/dittofs-operator/pkg/apis/dittofs/v1alpha1"
)

// WaitForPostgresImage provides pg_isready. Pinned to a major version rather
// than :latest, so a new PostgreSQL release cannot change what runs here.
const WaitForPostgresImage = "postgres:16-alpine"

// WaitForPostgresContainerName is the name of the init container.
const WaitForPostgresContainerName = "wait-for-postgres"

// The wait's budget: waitAttempts tries, each bounded by waitTimeout seconds
// and followed by waitInterval seconds, about 7 minutes in all. The Percona
// cluster is ready before the StatefulSet is created, so this only bridges a
// primary that is restarting or failing over; after the budget the container
// fails, the pod's status says why, and the kubelet retries with back-off.
const (
	waitAttempts = 60
	waitTimeout  = 2
	waitInterval = 5
)

// waitForPostgresScript is the init container's bounded wait.
var waitForPostgresScript = waitScript(waitAttempts, waitTimeout, waitInterval)

// waitScript is a loop of at most attempts pg_isready calls, each bounded by
// timeout seconds and followed by interval seconds. pg_isready only checks
// that the server accepts connections; it does not log in.
func waitScript(attempts, timeout, interval int) string {
	return fmt.Sprintf(`attempt=1
until pg_isready --quiet --timeout=%[2]d; do
  if [ "$attempt" -ge %[1]d ]; then
    echo "wait-for-postgres: PostgreSQL at $PGHOST:$PGPORT did not accept connections after %[1]d attempts (about %[3]d s); giving up" >&2
    exit 1
  fi
  echo "wait-for-postgres: PostgreSQL at $PGHOST:$PGPORT is not accepting connections yet (attempt $attempt of %[1]d)"
  attempt=$((attempt + 1))
  sleep %[4]d
done
echo "wait-for-postgres: PostgreSQL at $PGHOST:$PGPORT accepts connections"
`, attempts, timeout, attempts*(timeout+interval), interval)
}

// waitForPostgres keeps the server from starting, and failing, before the
// Percona primary accepts connections. It is hardened like the server
// container and small, so namespaces with quotas or "restricted" admit it.
func waitForPostgres(ds *dittov1alpha1.DittoServer, in Inputs) corev1.Container {
	return corev1.Container{
		Name:                     WaitForPostgresContainerName,
		Image:                    WaitForPostgresImage,
		ImagePullPolicy:          corev1.PullIfNotPresent,
		Command:                  []string{"/bin/sh", "-c", waitForPostgresScript},
		Env:                      postgresEnv(postgresSecret(ds, in)),
		SecurityContext:          containerSecurityContext(ds),
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("10m"),
				corev1.ResourceMemory: resource.MustParse("16Mi"),
			},
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
		},
	}
}
