package main

import (
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dittofs/dittofs-operator/test/harness/audit"
)

// auditTail keeps the operator's requests from the apiserver audit log as
// it grows during a run.
type auditTail struct {
	mu   sync.Mutex
	tail *audit.Tail
	// events are the completed requests of the user agent, in log order.
	events []audit.Event
	// watchStarts are the watches it opened (stage ResponseStarted), which
	// the log reports complete only when they end.
	watchStarts []audit.Event
	// last is the latest arrival time of any of them.
	last time.Time
}

// newAuditTail opens the log and skips what it already holds.
func newAuditTail(path, userAgentPrefix string) (*auditTail, error) {
	t, err := audit.OpenTail(path, userAgentPrefix)
	if err != nil {
		return nil, err
	}
	return &auditTail{tail: t}, nil
}

// poll reads the requests appended since the last call.
func (a *auditTail) poll() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	evs, err := a.tail.Poll()
	for _, ev := range evs {
		switch {
		case ev.Stage == audit.ResponseComplete && ev.Verb != "watch":
			a.events = append(a.events, ev)
		case ev.Stage == audit.ResponseStarted && ev.Verb == "watch":
			a.watchStarts = append(a.watchStarts, ev)
		default:
			continue
		}
		if ev.Received.After(a.last) {
			a.last = ev.Received
		}
	}
	return err
}

// requests returns the requests received in [from, to): every completed
// non-watch request plus every watch opened, each once.
func (a *auditTail) requests(from, to time.Time) []audit.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	in := func(e audit.Event) bool {
		return !e.Received.Before(from) && e.Received.Before(to)
	}
	out := audit.Filter(a.events, in)
	out = append(out, audit.Filter(a.watchStarts, in)...)
	sort.Slice(out, func(i, j int) bool { return out[i].Received.Before(out[j].Received) })
	return out
}

// lastRequest is when the latest request seen so far arrived (zero if none).
func (a *auditTail) lastRequest() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

func (a *auditTail) close() { _ = a.tail.Close() }

// requestKey names a kind of request: "verb resource[/subresource]".
func requestKey(e audit.Event) string {
	r := e.Resource
	if e.Subresource != "" {
		r += "/" + e.Subresource
	}
	if r == "" {
		r = "(non-resource)"
	}
	return e.Verb + " " + r
}

// countByKey counts requests per requestKey.
func countByKey(evs []audit.Event) map[string]int {
	m := map[string]int{}
	for _, e := range evs {
		m[requestKey(e)]++
	}
	return m
}

// latencyByKey is, for each requestKey, how long the API server took on the
// requests (received to response complete): count, median and 90th
// percentile in ms. Watches are left out: they last until they end.
func latencyByKey(evs []audit.Event) map[string]Latency {
	durs := map[string][]time.Duration{}
	for _, e := range evs {
		if e.Verb == "watch" || e.Stage != audit.ResponseComplete {
			continue
		}
		k := requestKey(e)
		if k == "create services" {
			// The API server allocates cluster IPs one at a time: Services
			// with one and headless Services are timed apart. Of a
			// server's Services, only the file Service has one.
			if strings.HasSuffix(e.Name, "-file") {
				k += " (cluster IP)"
			} else {
				k += " (headless)"
			}
		}
		durs[k] = append(durs[k], e.Timestamp.Sub(e.Received))
	}
	m := map[string]Latency{}
	for k, d := range durs {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		m[k] = Latency{Count: len(d), MedianMs: ms(median(d)), P90Ms: ms(d[(len(d)*9+9)/10-1])}
	}
	return m
}

// isWrite tells a request that changes state.
func isWrite(e audit.Event) bool {
	switch e.Verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

// isEvent tells an Event written (created or patched) by the client.
func isEvent(e audit.Event) bool {
	return e.Resource == "events" && (e.Verb == "create" || e.Verb == "patch" || e.Verb == "update")
}

// failedByCode counts requests answered with an HTTP status >= 400.
func failedByCode(evs []audit.Event) map[string]int {
	m := map[string]int{}
	for _, e := range evs {
		if e.Code >= 400 {
			m[requestKey(e)+" → "+strconv.Itoa(e.Code)]++
		}
	}
	return m
}
