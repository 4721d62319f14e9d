package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"
)

// servers are the operator's HTTP endpoints: /healthz and /readyz on the
// probe address, /metrics on the metrics address, and with --profiling the
// Go profiles under /debug/pprof/ on the metrics address too.
type servers struct{ list []*http.Server }

func startServers(ctx context.Context, o options, reg *prometheus.Registry, readiness func() (bool, string)) (*servers, error) {
	s := &servers{}
	if o.healthAddr != "0" && o.healthAddr != "" {
		if err := s.serve(ctx, "health", o.healthAddr, healthMux(readiness)); err != nil {
			return nil, err
		}
	}
	if o.metricsAddr != "0" && o.metricsAddr != "" {
		if err := s.serve(ctx, "metrics", o.metricsAddr, metricsMux(reg, o.profiling)); err != nil {
			s.shutdown()
			return nil, err
		}
	}
	return s, nil
}

func (s *servers) serve(ctx context.Context, name, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.list = append(s.list, srv)
	klog.FromContext(ctx).Info("Serving", "endpoint", name, "address", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.FromContext(ctx).Error(err, "HTTP server failed", "endpoint", name)
		}
	}()
	return nil
}

func (s *servers) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range s.list {
		_ = srv.Shutdown(ctx)
	}
}

// healthMux serves /healthz and /readyz. /readyz answers 200 when readiness
// says ready and 503 otherwise, with readiness's lines (what each controller
// waits for) as the body either way.
func healthMux(readiness func() (bool, string)) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		ready, body := readiness()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write([]byte(body))
	})
	return mux
}

// metricsMux serves /metrics, and the profiles when profiling is on.
func metricsMux(reg *prometheus.Registry, profiling bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if profiling {
		handleProfiles(mux)
	}
	return mux
}

// handleProfiles serves net/http/pprof's handlers on mux (registered by hand:
// importing the package only for its side effect would serve them on
// http.DefaultServeMux, whatever the flag says).
func handleProfiles(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
