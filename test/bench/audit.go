package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/dittofs/dittofs-operator/test/localcluster"
)

// auditTail reads the apiserver audit log incrementally and keeps the
// requests of one user agent. The log grows by tens of MB during a run, so
// it is read from where the last read stopped rather than parsed whole
// each time, and lines of other clients are skipped before decoding.
type auditTail struct {
	mu     sync.Mutex
	f      *os.File
	r      *bufio.Reader
	needle []byte
	// partial holds a line not yet fully written by the apiserver.
	partial []byte
	// events are the completed requests of the user agent, in log order.
	events []localcluster.AuditEvent
	// watchStarts are the watches it opened (stage ResponseStarted), which
	// the log reports complete only when they end.
	watchStarts []localcluster.AuditEvent
	// last is the latest arrival time of any of them.
	last time.Time
}

// auditLine is the part of an audit.k8s.io/v1 Event the benchmark reads.
type auditLine struct {
	Stage     string `json:"stage"`
	Verb      string `json:"verb"`
	UserAgent string `json:"userAgent"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	RequestReceivedTimestamp time.Time `json:"requestReceivedTimestamp"`
	StageTimestamp           time.Time `json:"stageTimestamp"`
}

// newAuditTail opens the log and skips what it already holds.
func newAuditTail(path, userAgentPrefix string) (*auditTail, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, err
	}
	// A line being written when we seeked is skipped by the first poll:
	// it starts mid-line, does not hold a complete JSON object and is dropped.
	return &auditTail{
		f:      f,
		r:      bufio.NewReaderSize(f, 1<<20),
		needle: []byte(`"userAgent":"` + userAgentPrefix),
	}, nil
}

// poll reads the lines appended since the last call.
func (a *auditTail) poll() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		chunk, err := a.r.ReadBytes('\n')
		if len(chunk) > 0 && err == io.EOF {
			// Not finished yet: keep it for the next poll.
			a.partial = append(a.partial, chunk...)
			return nil
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		line := chunk
		if len(a.partial) > 0 {
			line = append(a.partial, chunk...)
			a.partial = nil
		}
		if !bytes.Contains(line, a.needle) {
			continue
		}
		var l auditLine
		if json.Unmarshal(line, &l) != nil {
			continue
		}
		ev := localcluster.AuditEvent{
			Timestamp: l.StageTimestamp, Received: l.RequestReceivedTimestamp,
			UserAgent: l.UserAgent, Verb: l.Verb,
		}
		if o := l.ObjectRef; o != nil {
			ev.Resource, ev.Subresource, ev.Namespace, ev.Name = o.Resource, o.Subresource, o.Namespace, o.Name
		}
		if l.ResponseStatus != nil {
			ev.Code = l.ResponseStatus.Code
		}
		switch {
		case l.Stage == "ResponseComplete" && l.Verb != "watch":
			a.events = append(a.events, ev)
		case l.Stage == "ResponseStarted" && l.Verb == "watch":
			a.watchStarts = append(a.watchStarts, ev)
		default:
			continue
		}
		if ev.Received.After(a.last) {
			a.last = ev.Received
		}
	}
}

// requests returns the requests received in [from, to): every completed
// non-watch request plus every watch opened, each once.
func (a *auditTail) requests(from, to time.Time) []localcluster.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	in := func(e localcluster.AuditEvent) bool {
		return !e.Received.Before(from) && e.Received.Before(to)
	}
	out := localcluster.FilterAudit(a.events, in)
	out = append(out, localcluster.FilterAudit(a.watchStarts, in)...)
	sort.Slice(out, func(i, j int) bool { return out[i].Received.Before(out[j].Received) })
	return out
}

// lastRequest is when the latest request seen so far arrived (zero if none).
func (a *auditTail) lastRequest() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

func (a *auditTail) close() { _ = a.f.Close() }

// requestKey names a kind of request: "verb resource[/subresource]".
func requestKey(e localcluster.AuditEvent) string {
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
func countByKey(evs []localcluster.AuditEvent) map[string]int {
	m := map[string]int{}
	for _, e := range evs {
		m[requestKey(e)]++
	}
	return m
}

// isWrite tells a request that changes state.
func isWrite(e localcluster.AuditEvent) bool {
	switch e.Verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

// isEvent tells an Event written (created or patched) by the client.
func isEvent(e localcluster.AuditEvent) bool {
	return e.Resource == "events" && (e.Verb == "create" || e.Verb == "patch" || e.Verb == "update")
}

// failedByCode counts requests answered with an HTTP status >= 400.
func failedByCode(evs []localcluster.AuditEvent) map[string]int {
	m := map[string]int{}
	for _, e := range evs {
		if e.Code >= 400 {
			m[requestKey(e)+" → "+strconv.Itoa(e.Code)]++
		}
	}
	return m
}
