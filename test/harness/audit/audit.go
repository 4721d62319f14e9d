// Package audit reads the kube-apiserver's JSON-lines audit log: what the
// API server saw of a client, request by request. Read parses a whole
// log; Tail follows a log that grows while a test or benchmark runs.
package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Event is one audit record of an API request.
type Event struct {
	Stage       string    // RequestReceived, ResponseStarted (watches), ResponseComplete, Panic
	Timestamp   time.Time // when the stage was reached (stageTimestamp)
	Received    time.Time // when the request arrived
	UserAgent   string
	User        string // authenticated user name ("admin", "kube-scheduler", ...)
	Verb        string // get, list, watch, create, update, patch, delete, ...
	APIGroup    string
	APIVersion  string
	Resource    string // plural, e.g. "statefulsets"
	Subresource string // e.g. "status"
	Namespace   string
	Name        string
	RequestURI  string
	Code        int // HTTP response code
	// Authorization is the authorizer's decision ("allow" or "forbid"),
	// which tells an RBAC denial from another 403 (an admission plugin's,
	// such as a write into a terminating namespace); empty when the request
	// was not authorized (anonymous health checks).
	Authorization string
}

// Forbidden reports whether the authorizer denied the request: RBAC said no.
func (e Event) Forbidden() bool { return e.Authorization == "forbid" }

// Stages of the records this package reads.
const (
	ResponseStarted  = "ResponseStarted"
	ResponseComplete = "ResponseComplete"
)

// line mirrors the fields of an audit.k8s.io/v1 Event that Event holds.
type line struct {
	Stage      string `json:"stage"`
	RequestURI string `json:"requestURI"`
	Verb       string `json:"verb"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	UserAgent string `json:"userAgent"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		APIGroup    string `json:"apiGroup"`
		APIVersion  string `json:"apiVersion"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	Annotations              map[string]string `json:"annotations"`
	RequestReceivedTimestamp time.Time         `json:"requestReceivedTimestamp"`
	StageTimestamp           time.Time         `json:"stageTimestamp"`
}

func decode(b []byte) (Event, error) {
	var l line
	if err := json.Unmarshal(b, &l); err != nil {
		return Event{}, err
	}
	ev := Event{
		Stage:      l.Stage,
		Timestamp:  l.StageTimestamp,
		Received:   l.RequestReceivedTimestamp,
		UserAgent:  l.UserAgent,
		User:       l.User.Username,
		Verb:       l.Verb,
		RequestURI: l.RequestURI,

		Authorization: l.Annotations["authorization.k8s.io/decision"],
	}
	if o := l.ObjectRef; o != nil {
		ev.APIGroup, ev.APIVersion = o.APIGroup, o.APIVersion
		ev.Resource, ev.Subresource = o.Resource, o.Subresource
		ev.Namespace, ev.Name = o.Namespace, o.Name
	}
	if l.ResponseStatus != nil {
		ev.Code = l.ResponseStatus.Code
	}
	return ev, nil
}

// lines splits a log into complete lines. The API server may be writing the
// last line; lines holds it back until its newline arrives.
type lines struct {
	r       *bufio.Reader
	partial []byte
}

func newLines(r io.Reader) *lines { return &lines{r: bufio.NewReaderSize(r, 1<<20)} }

// next returns the next complete line, or ok false when none is complete yet.
func (ls *lines) next() (b []byte, ok bool, err error) {
	chunk, err := ls.r.ReadBytes('\n')
	if err == io.EOF {
		ls.partial = append(ls.partial, chunk...)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if len(ls.partial) > 0 {
		chunk = append(ls.partial, chunk...)
		ls.partial = nil
	}
	return chunk, true, nil
}

// Read parses a JSON-lines audit log and returns the ResponseComplete
// events in file order (one per finished request; watches appear when they
// end). A trailing line that is still being written is ignored, so the log
// can be read while the cluster runs.
func Read(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	defer func() { _ = f.Close() }()
	return Parse(f)
}

// Parse is Read on a reader.
func Parse(r io.Reader) ([]Event, error) {
	var events []Event
	ls := newLines(r)
	for {
		b, ok, err := ls.next()
		if err != nil || !ok {
			return events, err
		}
		if b = bytes.TrimSpace(b); len(b) == 0 {
			continue
		}
		ev, err := decode(b)
		if err != nil {
			return events, fmt.Errorf("audit line %q: %w", b, err)
		}
		if ev.Stage == ResponseComplete {
			events = append(events, ev)
		}
	}
}

// Filter returns the events for which keep returns true.
func Filter(events []Event, keep func(Event) bool) []Event {
	var out []Event
	for _, e := range events {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// ByUser selects the events of one authenticated user, e.g. a
// ServiceAccount's "system:serviceaccount:<namespace>:<name>".
func ByUser(name string) func(Event) bool {
	return func(e Event) bool { return e.User == name }
}

// ByUserAgentPrefix selects events whose user agent starts with prefix; a
// client-go program's default user agent is "<binary name>/<version> (...)".
func ByUserAgentPrefix(prefix string) func(Event) bool {
	return func(e Event) bool { return strings.HasPrefix(e.UserAgent, prefix) }
}
