package dfs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probeBodyLimit is how much of a probe response the kubelet reads.
const probeBodyLimit = 10 * 1024

// ProbeHTTP performs a GET http://127.0.0.1:port/path as the kubelet's HTTP
// probe does (User-Agent kube-probe, redirects followed). err is set when no
// response arrived; the probe succeeds when err is nil and 200 <= status < 400.
func ProbeHTTP(port int, path string, timeout time.Duration) (status int, body []byte, err error) {
	return probeHTTP("http", port, path, nil, timeout)
}

func probeHTTP(scheme string, port int, path string, headers []corev1.HTTPHeader, timeout time.Duration) (int, []byte, error) {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // as the kubelet
			DisableKeepAlives: true,
			Proxy:             nil,
		},
	}
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s://127.0.0.1:%d%s", scheme, port, path), nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("User-Agent", "kube-probe/1.37")
	req.Header.Set("Accept", "*/*")
	for _, h := range headers {
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, probeBodyLimit))
	return resp.StatusCode, body, err
}

// ProbeTCP opens a TCP connection to 127.0.0.1:port, as a tcpSocket probe.
func ProbeTCP(port int, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), timeout)
	if err != nil {
		return err
	}
	return c.Close()
}

// WaitHTTP polls ProbeHTTP every 100ms until it succeeds or timeout passes.
func WaitHTTP(port int, path string, timeout time.Duration) (status int, body []byte, err error) {
	deadline := time.Now().Add(timeout)
	for {
		status, body, err = ProbeHTTP(port, path, time.Second)
		if err == nil && status >= 200 && status < 400 {
			return status, body, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("GET %s: status %d: %s", path, status, body)
			}
			return status, body, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ProbeResult is the outcome of RunProbe.
type ProbeResult struct {
	// Passed is true when SuccessThreshold consecutive attempts succeeded
	// before FailureThreshold consecutive attempts failed.
	Passed bool
	// Attempts made, and the time from the container start to the verdict.
	Attempts int
	Elapsed  time.Duration
	// Budget is initialDelay + failureThreshold × period: the time after
	// which a failing startup/liveness probe has the container killed.
	Budget time.Duration
	// LastStatus and LastErr describe the last attempt.
	LastStatus int
	LastErr    error
}

// RunProbe runs probe as declared (initialDelaySeconds from since, then every
// periodSeconds with timeoutSeconds; success/failure thresholds; zero fields
// take the API defaults) against 127.0.0.1, resolving named ports from ports.
// When pid > 0, an attempt also fails if the target port is bound only to
// loopback, since the kubelet connects to the pod IP, and the probe fails as
// soon as pid has exited. Exec and gRPC probes are not supported.
func RunProbe(ctx context.Context, probe *corev1.Probe, ports []corev1.ContainerPort, since time.Time, pid int) ProbeResult {
	return runProbe(ctx, probe, ports, since, pid, nil)
}

// RunProbe runs probe against p; see the package-level RunProbe.
func (p *Process) RunProbe(ctx context.Context, probe *corev1.Probe, ports []corev1.ContainerPort) ProbeResult {
	return runProbe(ctx, probe, ports, p.Started, p.PID, p.proc.Done())
}

func runProbe(ctx context.Context, probe *corev1.Probe, ports []corev1.ContainerPort, since time.Time, pid int, done <-chan struct{}) ProbeResult {
	sec := func(v, def int32) time.Duration {
		if v <= 0 {
			v = def
		}
		return time.Duration(v) * time.Second
	}
	period, timeout := sec(probe.PeriodSeconds, 10), sec(probe.TimeoutSeconds, 1)
	failures, successes := int(probe.FailureThreshold), int(probe.SuccessThreshold)
	if failures <= 0 {
		failures = 3
	}
	if successes <= 0 {
		successes = 1
	}
	res := ProbeResult{Budget: time.Duration(probe.InitialDelaySeconds)*time.Second + time.Duration(failures)*period}
	attempt, err := probeAttempt(probe, ports, timeout, pid)
	if err != nil {
		res.LastErr, res.Elapsed = err, time.Since(since)
		return res
	}
	next := since.Add(time.Duration(probe.InitialDelaySeconds) * time.Second)
	okRun, failRun := 0, 0
	for {
		select {
		case <-ctx.Done():
			res.LastErr, res.Elapsed = ctx.Err(), time.Since(since)
			return res
		case <-done:
			res.LastErr, res.Elapsed = errors.New("container exited"), time.Since(since)
			return res
		case <-time.After(time.Until(next)):
		}
		next = next.Add(period)
		res.Attempts++
		res.LastStatus, res.LastErr = attempt()
		if res.LastErr == nil {
			okRun, failRun = okRun+1, 0
		} else {
			okRun, failRun = 0, failRun+1
		}
		if okRun >= successes || failRun >= failures {
			res.Passed, res.Elapsed = okRun >= successes, time.Since(since)
			return res
		}
	}
}

// probeAttempt returns the function performing one attempt of probe.
func probeAttempt(probe *corev1.Probe, ports []corev1.ContainerPort, timeout time.Duration, pid int) (func() (int, error), error) {
	var target intstr.IntOrString
	var do func(port int) (int, error)
	switch {
	case probe.HTTPGet != nil:
		g := probe.HTTPGet
		if g.Host != "" && g.Host != "127.0.0.1" && g.Host != "localhost" {
			return nil, fmt.Errorf("httpGet host %q is not supported", g.Host)
		}
		scheme := "http"
		if g.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		target = g.Port
		do = func(port int) (int, error) {
			status, body, err := probeHTTP(scheme, port, g.Path, g.HTTPHeaders, timeout)
			if err == nil && (status < 200 || status >= 400) {
				err = fmt.Errorf("GET %s: status %d: %.200s", g.Path, status, body)
			}
			return status, err
		}
	case probe.TCPSocket != nil:
		target = probe.TCPSocket.Port
		do = func(port int) (int, error) { return 0, ProbeTCP(port, timeout) }
	default:
		return nil, errors.New("only httpGet and tcpSocket probes are supported")
	}
	port, err := resolvePort(target, ports)
	if err != nil {
		return nil, err
	}
	return func() (int, error) {
		if pid > 0 {
			if bound, err := ListeningTCPPorts(pid); err == nil {
				if b, ok := bound[port]; ok && b.LoopbackOnly() {
					return 0, fmt.Errorf("port %d is bound to %s only: unreachable on the pod IP", port, b)
				}
			}
		}
		return do(port)
	}, nil
}

func resolvePort(p intstr.IntOrString, ports []corev1.ContainerPort) (int, error) {
	if p.Type == intstr.Int {
		if p.IntVal <= 0 {
			return 0, fmt.Errorf("invalid probe port %d", p.IntVal)
		}
		return int(p.IntVal), nil
	}
	for _, cp := range ports {
		if cp.Name == p.StrVal && (cp.Protocol == "" || cp.Protocol == corev1.ProtocolTCP) {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil && n > 0 {
		return n, nil
	}
	return 0, fmt.Errorf("probe port %q is not a declared container port", p.StrVal)
}
