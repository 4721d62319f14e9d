package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
)

// Two controllers share controller-runtime's reconcile series on one
// registry, told apart by the controller label; errors are counted twice,
// as a result and in the errors total, as controller-runtime does.
func TestReconcileMetricsUseControllerRuntimeNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	servers, state := NewReconcile(reg, "dittoserver"), NewReconcile(reg, "serverstate")
	start := time.Now()
	servers.Observe(start, ResultSuccess)
	servers.Observe(start, ResultError)
	state.Observe(start, ResultRequeue)

	want := `
# HELP controller_runtime_reconcile_errors_total Total number of reconciliation errors per controller.
# TYPE controller_runtime_reconcile_errors_total counter
controller_runtime_reconcile_errors_total{controller="dittoserver"} 1
controller_runtime_reconcile_errors_total{controller="serverstate"} 0
# HELP controller_runtime_reconcile_total Total number of reconciliations per controller, by result: success, requeue (waiting on an outside change, retried with backoff) or error.
# TYPE controller_runtime_reconcile_total counter
controller_runtime_reconcile_total{controller="dittoserver",result="error"} 1
controller_runtime_reconcile_total{controller="dittoserver",result="requeue"} 0
controller_runtime_reconcile_total{controller="dittoserver",result="success"} 1
controller_runtime_reconcile_total{controller="serverstate",result="error"} 0
controller_runtime_reconcile_total{controller="serverstate",result="requeue"} 1
controller_runtime_reconcile_total{controller="serverstate",result="success"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"controller_runtime_reconcile_total", "controller_runtime_reconcile_errors_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "controller_runtime_reconcile_time_seconds"); n != 2 {
		t.Errorf("controller_runtime_reconcile_time_seconds has %d series, want one per controller", n)
	}
	var nilMetrics *Reconcile
	nilMetrics.Observe(start, ResultError) // records nothing, does not panic
}

// The workqueue metrics carry the queue's name, as every Kubernetes
// controller's do.
func TestWorkqueueMetricsCarryTheQueueName(t *testing.T) {
	reg := prometheus.NewRegistry()
	RegisterWorkqueueMetrics(reg)
	q := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "metrics-test"})
	defer q.ShutDown()
	q.Add("a")
	q.Add("b")
	q.AddRateLimited("c")
	item, _ := q.Get()
	q.Done(item)

	want := `
# HELP workqueue_adds_total Total adds handled by the workqueue.
# TYPE workqueue_adds_total counter
workqueue_adds_total{name="metrics-test"} 2
# HELP workqueue_depth Current depth of the workqueue.
# TYPE workqueue_depth gauge
workqueue_depth{name="metrics-test"} 1
# HELP workqueue_retries_total Total retries handled by the workqueue.
# TYPE workqueue_retries_total counter
workqueue_retries_total{name="metrics-test"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"workqueue_adds_total", "workqueue_depth", "workqueue_retries_total"); err != nil {
		t.Error(err)
	}
	for _, name := range []string{"workqueue_queue_duration_seconds", "workqueue_work_duration_seconds"} {
		if n := testutil.CollectAndCount(reg, name); n != 1 {
			t.Errorf("%s has %d series, want 1", name, n)
		}
	}
}

// Once installed, every request a client-go client sends is counted by
// code, method and host, and timed by verb and host; the leader election
// status follows On and Off.
func TestClientMetricsCountAPIRequests(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/missing") {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`))
			return
		}
		_, _ = w.Write([]byte(`{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"default"}}`))
	}))
	defer api.Close()

	reg := prometheus.NewRegistry()
	m := NewClient(reg)
	m.Install()
	kube, err := kubernetes.NewForConfig(&rest.Config{Host: api.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := kube.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	_, _ = kube.CoreV1().Namespaces().Get(ctx, "missing", metav1.GetOptions{})

	host := strings.TrimPrefix(api.URL, "http://")
	want := `
# HELP rest_client_requests_total Number of HTTP requests to the Kubernetes API server, partitioned by status code, method, and host.
# TYPE rest_client_requests_total counter
rest_client_requests_total{code="200",host="` + host + `",method="GET"} 1
rest_client_requests_total{code="404",host="` + host + `",method="GET"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rest_client_requests_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "rest_client_request_duration_seconds"); n != 1 {
		t.Errorf("rest_client_request_duration_seconds has %d series, want 1 (verb GET, one host)", n)
	}

	leader := leaderProvider{m}.NewLeaderMetric()
	leader.On("dittofs-operator")
	if got := testutil.ToFloat64(m.leader.WithLabelValues("dittofs-operator")); got != 1 {
		t.Errorf("leader_election_master_status while leading = %v, want 1", got)
	}
	leader.Off("dittofs-operator")
	leader.SlowpathExercised("dittofs-operator")
	if got := testutil.ToFloat64(m.leader.WithLabelValues("dittofs-operator")); got != 0 {
		t.Errorf("leader_election_master_status after release = %v, want 0", got)
	}
	if got := testutil.ToFloat64(m.slowpath.WithLabelValues("dittofs-operator")); got != 1 {
		t.Errorf("leader_election_slowpath_total = %v, want 1", got)
	}
}
