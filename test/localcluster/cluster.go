package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/dittofs/dittofs-operator/test/harness/proc"
)

// auditPolicy records every request at Metadata level (no bodies), once
// when the response is complete (and once when a watch starts streaming).
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
`

// Options configures Start. The zero value is usable.
type Options struct {
	// Binaries overrides the path of individual executables; empty fields
	// come from CachedBinaries and are built when missing.
	Binaries Binaries
	// WorkDir holds data, certificates, logs and the kubeconfig. When
	// empty a temporary directory is created and removed by Stop (unless
	// KeepWorkDir). A WorkDir given here is created if needed and never
	// removed.
	WorkDir     string
	KeepWorkDir bool
	// ServiceCIDR is the Service IP range; default "10.0.0.0/16" (a /24
	// runs out at about 250 Services).
	ServiceCIDR string
	// NumPVs is the number of static hostPath PersistentVolumes created in
	// StorageClass "standard" (100Gi, ReadWriteOnce each); 0 means 50, a
	// negative value means none. Add more later with CreatePVs.
	NumPVs int
	// NoAuditLog disables the apiserver audit log (on by default).
	NoAuditLog bool
	// FastPods drops the delays of kwok's pod stages, so pods become
	// Running and Ready, and deleted pods disappear, as soon as kwok sees
	// them. By default the stages keep kwok's "general" timing: each step
	// (created, Running, Ready) after 1 s plus up to 5 s of jitter, and a
	// deleted pod disappears at a random time within its grace period
	// (terminationGracePeriodSeconds, 30 s unless set).
	FastPods bool
	// NoPVRecycler disables the in-process loop that makes the static PVs
	// Available again once their claim is deleted (user agent
	// "localcluster-pv-recycler" in the audit log).
	NoPVRecycler bool
	// Log receives the output of every process, each line prefixed with
	// "[name] ". Nil means the output only goes to WorkDir/logs/<name>.log.
	Log io.Writer
}

// Cluster is a running control plane. Stop it with Stop.
type Cluster struct {
	// Kubeconfig is the path of an admin kubeconfig (token in
	// system:masters, CA pinned, server https://127.0.0.1:PORT).
	Kubeconfig string
	// AuditLogPath is the JSON-lines audit log; empty with NoAuditLog.
	AuditLogPath string
	// WorkDir is the directory holding everything the cluster writes.
	WorkDir string
	// KubectlPath is a kubectl of the same version as the server.
	KubectlPath string
	// Server is the apiserver URL.
	Server string
	// LogDir holds one <process>.log per component.
	LogDir string

	binaries   Binaries
	restConfig *rest.Config
	removeWork bool
	procs      []*process // in start order
	ports      []int      // loopback ports the components listen on
	pvMu       sync.Mutex
	nextPV     int
	cancel     context.CancelFunc // stops in-process helpers
	helpers    sync.WaitGroup
	stopOnce   sync.Once
	stopErr    error
}

// Start boots etcd, kube-apiserver, kube-controller-manager, kube-scheduler
// and kwok on free loopback ports, then creates a fake Node, the default
// StorageClass "standard" and the static PVs, and returns once the node is
// Ready and the "default" ServiceAccount exists. ctx bounds the startup only
// (including a first-time build of the binaries); the processes run until
// Stop. On error everything started so far is stopped.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.ServiceCIDR == "" {
		opts.ServiceCIDR = "10.0.0.0/16"
	}
	if opts.NumPVs == 0 {
		opts.NumPVs = 50
	}
	bins, err := EnsureBinaries(ctx, opts.Binaries, opts.Log)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
	}
	// Ports are picked free but bound later by the components; if another
	// process takes one in between, start over with new ports.
	for attempt := 1; ; attempt++ {
		c, err := start(ctx, opts, bins)
		if err == nil || attempt == 3 || !errors.Is(err, errPortInUse) || ctx.Err() != nil {
			return c, err
		}
	}
}

func start(ctx context.Context, opts Options, bins Binaries) (_ *Cluster, err error) {
	c := &Cluster{binaries: bins, KubectlPath: bins.Kubectl, WorkDir: opts.WorkDir}
	if c.WorkDir == "" {
		if c.WorkDir, err = os.MkdirTemp("", "localcluster-"); err != nil {
			return nil, err
		}
		c.removeWork = !opts.KeepWorkDir
	} else if c.WorkDir, err = filepath.Abs(c.WorkDir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = c.Stop()
		}
	}()
	c.LogDir = filepath.Join(c.WorkDir, "logs")
	for _, d := range []string{c.LogDir, filepath.Join(c.WorkDir, "etcd")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	svcIP, err := firstServiceIP(opts.ServiceCIDR)
	if err != nil {
		return nil, err
	}
	pki, err := writePKI(filepath.Join(c.WorkDir, "pki"), svcIP)
	if err != nil {
		return nil, fmt.Errorf("generate credentials: %w", err)
	}
	ports, err := proc.FreePorts(3)
	if err != nil {
		return nil, err
	}
	etcdPort, peerPort, apiPort := ports[0], ports[1], ports[2]
	c.ports = ports
	c.Server = "https://127.0.0.1:" + strconv.Itoa(apiPort)

	// etcd. Durability does not matter here; skipping fsync keeps writes
	// cheap on slow disks.
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	if err := c.start("etcd", bins.Etcd, opts.Log,
		"--name", "localcluster",
		"--data-dir", filepath.Join(c.WorkDir, "etcd"),
		"--listen-client-urls", etcdURL,
		"--advertise-client-urls", etcdURL,
		"--listen-peer-urls", "http://127.0.0.1:"+strconv.Itoa(peerPort),
		"--initial-advertise-peer-urls", "http://127.0.0.1:"+strconv.Itoa(peerPort),
		"--initial-cluster", "localcluster=http://127.0.0.1:"+strconv.Itoa(peerPort),
		"--unsafe-no-fsync",
		"--log-level", "warn",
	); err != nil {
		return nil, err
	}
	if err := c.waitHTTP(ctx, "etcd", etcdURL+"/health", nil); err != nil {
		return nil, err
	}

	apiArgs := []string{
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(apiPort),
		"--endpoint-reconciler-type", "none",
		"--tls-cert-file", pki.servingCert,
		"--tls-private-key-file", pki.servingKey,
		"--client-ca-file", pki.caCert,
		"--token-auth-file", pki.tokenFile,
		"--authorization-mode", "RBAC",
		"--service-account-key-file", pki.saPub,
		"--service-account-signing-key-file", pki.saKey,
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-cluster-ip-range", opts.ServiceCIDR,
		"--allow-privileged",
	}
	if !opts.NoAuditLog {
		policy := filepath.Join(c.WorkDir, "audit-policy.yaml")
		if err := os.WriteFile(policy, []byte(auditPolicy), 0o644); err != nil {
			return nil, err
		}
		c.AuditLogPath = filepath.Join(c.WorkDir, "audit.log")
		apiArgs = append(apiArgs,
			"--audit-policy-file", policy,
			"--audit-log-path", c.AuditLogPath,
			"--audit-log-mode", "blocking",
			"--audit-log-maxsize", "0",
		)
	}
	if err := c.start("kube-apiserver", bins.KubeAPIServer, opts.Log, apiArgs...); err != nil {
		return nil, err
	}
	c.restConfig = &rest.Config{
		Host:            c.Server,
		BearerToken:     pki.tokens["admin"],
		TLSClientConfig: rest.TLSClientConfig{CAData: pki.caPEM},
		QPS:             100,
		Burst:           200,
	}
	client, err := rest.HTTPClientFor(c.restConfig)
	if err != nil {
		return nil, err
	}
	if err := c.waitHTTP(ctx, "kube-apiserver", c.Server+"/readyz", client); err != nil {
		return nil, err
	}

	// One kubeconfig per identity, so audit events show who did what.
	kubeconfigs := map[string]string{}
	for _, id := range identities {
		path := filepath.Join(c.WorkDir, id+".kubeconfig")
		if err := pki.writeKubeconfig(path, c.Server, id); err != nil {
			return nil, err
		}
		kubeconfigs[id] = path
	}
	c.Kubeconfig = filepath.Join(c.WorkDir, "kubeconfig")
	if err := os.Rename(kubeconfigs["admin"], c.Kubeconfig); err != nil {
		return nil, err
	}

	if err := c.start("kube-controller-manager", bins.KubeControllerManager, opts.Log,
		append(controlLoopArgs(kubeconfigs["kube-controller-manager"]),
			"--service-account-private-key-file", pki.saKey,
			"--root-ca-file", pki.caCert,
			"--service-cluster-ip-range", opts.ServiceCIDR,
			"--controllers", "*",
		)...); err != nil {
		return nil, err
	}
	if err := c.start("kube-scheduler", bins.KubeScheduler, opts.Log,
		controlLoopArgs(kubeconfigs["kube-scheduler"])...); err != nil {
		return nil, err
	}
	stages := filepath.Join(c.WorkDir, "kwok-stages.yaml")
	stageYAML, err := kwokStageYAML(opts.FastPods)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(stages, stageYAML, 0o644); err != nil {
		return nil, err
	}
	if err := c.start("kwok", bins.Kwok, opts.Log,
		"--kubeconfig", kubeconfigs["kwok"],
		"--config", stages,
		"--manage-all-nodes=true",
		"--cidr", podCIDR,
		"--server-address", "127.0.0.1:0",
	); err != nil {
		return nil, err
	}

	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return nil, err
	}
	if err := c.createBaseObjects(ctx, cs); err != nil {
		return nil, err
	}
	if opts.NumPVs > 0 {
		if err := c.CreatePVs(ctx, opts.NumPVs); err != nil {
			return nil, err
		}
	}
	if err := c.waitReady(ctx, cs); err != nil {
		return nil, err
	}
	helperCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	if !opts.NoPVRecycler {
		c.helpers.Add(1)
		go func() {
			defer c.helpers.Done()
			c.recyclePVs(helperCtx)
		}()
	}
	return c, nil
}

// controlLoopArgs are the flags the controller manager and the scheduler
// share: their credentials, a single instance, no serving port.
func controlLoopArgs(kubeconfig string) []string {
	return []string{
		"--kubeconfig", kubeconfig,
		"--authentication-kubeconfig", kubeconfig,
		"--authorization-kubeconfig", kubeconfig,
		"--leader-elect=false",
		// The default client rate limit (20 QPS) would make the control
		// loops, not the operator, the bottleneck of larger benchmarks.
		"--kube-api-qps", "500",
		"--kube-api-burst", "1000",
		"--bind-address", "127.0.0.1",
		"--secure-port", "0",
	}
}

// start launches one component and records it for Stop.
func (c *Cluster) start(name, path string, log io.Writer, args ...string) error {
	p, err := startProcess(name, path, args, c.LogDir, log)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	return nil
}

// checkProcesses reports the first component that has exited.
func (c *Cluster) checkProcesses() error {
	for _, p := range c.procs {
		if p.exited() {
			return p.exitError()
		}
	}
	return nil
}

// waitHTTP polls url until it answers 200, a component exits, or ctx ends.
func (c *Cluster) waitHTTP(ctx context.Context, what, url string, client *http.Client) error {
	if client == nil {
		client = &http.Client{}
	}
	var last error
	for {
		if err := c.checkProcesses(); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %v (%w)", what, url, last, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// RESTConfig returns a copy of the admin client configuration (QPS 100,
// burst 200). Callers may modify it, for example to set UserAgent.
func (c *Cluster) RESTConfig() *rest.Config {
	return rest.CopyConfig(c.restConfig)
}

// Kubectl returns a command running the cluster's kubectl with KUBECONFIG
// set to the admin kubeconfig.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) *exec.Cmd {
	// A discovery cache of this cluster's own: kubectl keys the one in $HOME
	// by host and port, and other local clusters reuse ports.
	args = append([]string{"--cache-dir", filepath.Join(c.WorkDir, "kubectl-cache")}, args...)
	cmd := exec.CommandContext(ctx, c.KubectlPath, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	return cmd
}

// Audit reads the cluster's audit log; see ReadAudit.
func (c *Cluster) Audit() ([]AuditEvent, error) {
	if c.AuditLogPath == "" {
		return nil, errors.New("audit log disabled")
	}
	return ReadAudit(c.AuditLogPath)
}

// PIDs returns the process id of every component, keyed by name.
func (c *Cluster) PIDs() map[string]int {
	m := make(map[string]int, len(c.procs))
	for _, p := range c.procs {
		m[p.name] = p.pid()
	}
	return m
}

// Ports returns the loopback TCP ports the components listen on (etcd
// client and peer, kube-apiserver). kwok's own port is chosen by the kernel
// and the controller manager and scheduler serve no port.
func (c *Cluster) Ports() []int {
	return append([]int(nil), c.ports...)
}

// Stop terminates the components in reverse start order (SIGTERM, then
// SIGKILL after a grace period), stops the in-process helpers and removes
// a temporary WorkDir. It is idempotent and safe to call concurrently, for
// example from a defer and a signal handler; later calls wait for the first
// and return its result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		if c.cancel != nil {
			c.cancel()
		}
		c.helpers.Wait()
		var errs []error
		for i := len(c.procs) - 1; i >= 0; i-- {
			if err := c.procs[i].stop(15 * time.Second); err != nil {
				errs = append(errs, err)
			}
		}
		if c.removeWork {
			if err := os.RemoveAll(c.WorkDir); err != nil {
				errs = append(errs, err)
			}
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}
