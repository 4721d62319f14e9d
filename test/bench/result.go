package main

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/dittofs/dittofs-operator/test/localcluster"
)

// Result is everything one run measured; it is written as JSON.
type Result struct {
	Date    time.Time `json:"date"`
	Machine Machine   `json:"machine"`
	N       int       `json:"n"`
	// OperatorArgs are the flags given to the operator beyond the kubeconfig,
	// loopback ports and --leader-elect=false; all others are defaults.
	OperatorArgs []string `json:"operatorArgs"`
	KubeVersion  string   `json:"kubeVersion"`
	// FastPods: kwok ran pods without simulated kubelet delays.
	FastPods    bool              `json:"fastPods"`
	Create      CreateResult      `json:"create"`
	Convergence ConvergenceResult `json:"convergence"`
	Requests    RequestsResult    `json:"requests"`
	Steady      SteadyResult      `json:"steadyState"`
	Memory      MemoryResult      `json:"memory"`
	CPU         CPUResult         `json:"cpu"`
	Latency     LatencyResult     `json:"latency"`
	Errors      ErrorsResult      `json:"errors"`
	Claims      ClaimsResult      `json:"claims"`
}

// Machine describes where the run happened.
type Machine struct {
	Cores     int    `json:"cores"`
	CPU       string `json:"cpu"`
	MemoryMiB int64  `json:"memoryMiB"`
	GoVersion string `json:"goVersion"`
	OS        string `json:"os"`
	// LoadAvg is the 1-minute load average before the first create and when
	// the last DittoServer converged: the machine may be shared, and a load
	// above the core count slows every figure down.
	LoadAvg [2]float64 `json:"loadAvg"`
}

// CreateResult is step 1: creating the DittoServers.
type CreateResult struct {
	Seconds float64 `json:"seconds"`
}

// ConvergenceResult is step 2, in seconds from the first create.
type ConvergenceResult struct {
	MedianSeconds float64 `json:"medianSeconds"`
	LastSeconds   float64 `json:"lastSeconds"`
	P90Seconds    float64 `json:"p90Seconds"`
	// FirstStatus: the DittoServer first shows a phase (kubectl get ditto).
	FirstStatus Spread `json:"firstStatus"`
	// StatefulSetCreated: the operator's first pass done.
	StatefulSetCreated Spread `json:"statefulSetCreated"`
	// StatefulSetAvailable: pods Running and Ready (the rest of the control plane).
	StatefulSetAvailable Spread `json:"statefulSetAvailable"`
}

// Spread is the median and the last of a milestone, in seconds from the first create.
type Spread struct {
	MedianSeconds float64 `json:"medianSeconds"`
	LastSeconds   float64 `json:"lastSeconds"`
}

func spread(sorted []time.Duration) Spread {
	if len(sorted) == 0 {
		return Spread{}
	}
	return Spread{seconds(median(sorted)), seconds(sorted[len(sorted)-1])}
}

// RequestsResult is step 3: the operator's requests from the audit log.
type RequestsResult struct {
	// StartupRequests were made before the first DittoServer existed
	// (initial lists and watches); not counted below.
	StartupRequests int `json:"startupRequests"`
	// UntilConverged counts from the first create to the last convergence.
	UntilConverged       map[string]int `json:"untilConverged"`
	UntilConvergedTotal  int            `json:"untilConvergedTotal"`
	UntilConvergedPerDS  float64        `json:"untilConvergedPerDittoServer"`
	UntilQuiet           map[string]int `json:"untilQuiet"`
	UntilQuietTotal      int            `json:"untilQuietTotal"`
	UntilQuietPerDS      float64        `json:"untilQuietPerDittoServer"`
	QuietAfterSeconds    float64        `json:"quietAfterSeconds"` // last request, from the first create
	QuietWindowSeconds   float64        `json:"quietWindowSeconds"`
	ReconcilesUntilQuiet float64        `json:"reconcilesUntilQuiet"`
	// PassLatency is the API server's time on the operator's requests during
	// its pass (from the first create to the last StatefulSet created), by
	// requestKey: what the pass waits on.
	PassLatency map[string]Latency `json:"passLatency"`
}

// Latency is the API server's time on one kind of request.
type Latency struct {
	Count    int     `json:"count"`
	MedianMs float64 `json:"medianMs"`
	P90Ms    float64 `json:"p90Ms"`
}

// SteadyResult is step 4: two resync periods after quiet.
type SteadyResult struct {
	WindowSeconds float64        `json:"windowSeconds"`
	Requests      map[string]int `json:"requests"`
	Writes        int            `json:"writes"`
	Events        int            `json:"events"`
	// Reconciles shows the resyncs happened: about N per resync period.
	Reconciles float64 `json:"reconciles"`
}

// MemoryResult is step 5. Each RSS is the median of ten readings a second
// apart, each heap figure the lowest of them (the closest to the live heap).
type MemoryResult struct {
	// Idle is before the first DittoServer: caches synced, nothing to do.
	IdleRSSMiB           float64 `json:"idleRSSMiB"`
	IdleHeapMiB          float64 `json:"idleHeapInuseMiB"`
	ConvergedRSSMiB      float64 `json:"convergedRSSMiB"`
	AfterUnrelatedRSSMiB float64 `json:"afterUnrelatedRSSMiB"`
	DeltaMiB             float64 `json:"deltaMiB"`
	ConvergedHeapMiB     float64 `json:"convergedHeapInuseMiB"`
	AfterUnrelatedHeap   float64 `json:"afterUnrelatedHeapInuseMiB"`
	// LiveHeap figures are the median of go_gc_heap_live_bytes (the heap the
	// live objects occupied at the last collection), without the garbage of
	// the last passes; 0 from an operator that does not serve it.
	IdleLiveHeapMiB           float64 `json:"idleLiveHeapMiB,omitempty"`
	ConvergedLiveHeapMiB      float64 `json:"convergedLiveHeapMiB,omitempty"`
	AfterUnrelatedLiveHeapMiB float64 `json:"afterUnrelatedLiveHeapMiB,omitempty"`
	// HeapPerDSKiB is (converged − idle) / N of the heap in use (lowest
	// reading); LiveHeapPerDSKiB the same of the live heap.
	HeapPerDSKiB     float64 `json:"heapPerDittoServerKiB"`
	LiveHeapPerDSKiB float64 `json:"liveHeapPerDittoServerKiB,omitempty"`
	UnrelatedObjects int     `json:"unrelatedObjects"`
	UnrelatedBytes   int     `json:"unrelatedBytesEach"`
	// RequestsDuring are the operator's requests while the unrelated
	// objects were created and during the wait.
	RequestsDuring map[string]int `json:"operatorRequestsDuring"`
}

// CPUResult is the operator's CPU time (process_cpu_seconds_total): from the
// first create until it was quiet (its first pass and the status writes that
// follow), and over the steady-state window (resyncs only).
type CPUResult struct {
	UntilQuietSeconds   float64 `json:"untilQuietSeconds"`
	SteadySeconds       float64 `json:"steadySeconds"`
	SteadyWindowSeconds float64 `json:"steadyWindowSeconds"`
}

// LatencyResult is step 6, in milliseconds.
type LatencyResult struct {
	SamplesMs []float64 `json:"samplesMs"`
	MedianMs  float64   `json:"medianMs"`
}

// ErrorsResult is step 7, over the whole run.
type ErrorsResult struct {
	ReconcileErrors  float64 `json:"reconcileErrors"`
	ReconcileWaiting float64 `json:"reconcileWaiting"`
	ReconcileSuccess float64 `json:"reconcileSuccess"`
	Conflicts        float64 `json:"conflicts"`
	// FailedRequests are the operator's requests answered >= 400, by kind and code.
	FailedRequests   map[string]int `json:"failedRequests"`
	OperatorWarnings int            `json:"operatorWarningEvents"`
	// OtherWarnings are Warning events from other components (scheduler,
	// StatefulSet controller) in the namespace, by reason.
	OtherWarnings map[string]int `json:"otherWarningEvents"`
}

func newResult(cfg config, e *env) *Result {
	return &Result{
		Date:         time.Now().UTC().Truncate(time.Second),
		Machine:      machine(),
		N:            cfg.n,
		OperatorArgs: e.opArgs,
		KubeVersion:  localcluster.KubeVersion,
		FastPods:     cfg.fastPods,
	}
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		_ = f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				m.MemoryMiB = kb / 1024
				break
			}
		}
		_ = f.Close()
	}
	return m
}

// loadAvg is the 1-minute load average (0 when unknown).
func loadAvg() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func seconds(d time.Duration) float64 { return round(d.Seconds(), 2) }

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 1) }

func mib(b int64) float64 { return round(float64(b)/(1<<20), 1) }

func round(v float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	if v < 0 {
		return -float64(int64(-v*p+0.5)) / p
	}
	return float64(int64(v*p+0.5)) / p
}
