package promtest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestValue(t *testing.T) {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "requests_total"}, []string{"method", "code"})
	up := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "up"}, []string{"name"})
	reg.MustRegister(requests, up)
	requests.WithLabelValues("GET", "200").Add(3)
	requests.WithLabelValues("POST", "401").Inc()
	up.WithLabelValues("a").Set(1)

	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"requests_total", map[string]string{"method": "GET", "code": "200"}, 3},
		{"requests_total", map[string]string{"method": "POST"}, 1},
		{"requests_total", map[string]string{"method": "PUT"}, 0},
		{"up", map[string]string{"name": "a"}, 1},
		{"missing", nil, 0},
	} {
		if got := Value(t, reg, tc.name, tc.labels); got != tc.want {
			t.Errorf("Value(%s, %v) = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
}
