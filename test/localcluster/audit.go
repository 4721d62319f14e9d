package localcluster

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"strings"
	"time"
)

// AuditEvent is one completed API request from the apiserver audit log.
type AuditEvent struct {
	Timestamp   time.Time // when the response completed (stageTimestamp)
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
}

// auditLine mirrors the fields of an audit.k8s.io/v1 Event that ReadAudit
// uses.
type auditLine struct {
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
	RequestReceivedTimestamp time.Time `json:"requestReceivedTimestamp"`
	StageTimestamp           time.Time `json:"stageTimestamp"`
}

// ReadAudit parses a JSON-lines audit log and returns the ResponseComplete
// events in file order (one per finished request; watches appear when they
// end). A trailing line that is still being written is ignored, so the log
// can be read while the cluster runs.
func ReadAudit(path string) ([]AuditEvent, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseAudit(f)
}

func parseAudit(r io.Reader) ([]AuditEvent, error) {
	var events []AuditEvent
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			// Incomplete last line (or none): not yet fully written.
			return events, nil
		}
		if err != nil {
			return events, err
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var l auditLine
		if err := json.Unmarshal(line, &l); err != nil {
			return events, err
		}
		if l.Stage != "ResponseComplete" {
			continue
		}
		ev := AuditEvent{
			Timestamp:  l.StageTimestamp,
			Received:   l.RequestReceivedTimestamp,
			UserAgent:  l.UserAgent,
			User:       l.User.Username,
			Verb:       l.Verb,
			RequestURI: l.RequestURI,
		}
		if o := l.ObjectRef; o != nil {
			ev.APIGroup, ev.APIVersion = o.APIGroup, o.APIVersion
			ev.Resource, ev.Subresource = o.Resource, o.Subresource
			ev.Namespace, ev.Name = o.Namespace, o.Name
		}
		if l.ResponseStatus != nil {
			ev.Code = l.ResponseStatus.Code
		}
		events = append(events, ev)
	}
}

// FilterAudit returns the events for which keep returns true.
func FilterAudit(events []AuditEvent, keep func(AuditEvent) bool) []AuditEvent {
	var out []AuditEvent
	for _, e := range events {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// ByUserAgentPrefix selects events whose user agent starts with prefix; a
// client-go program's default user agent is "<binary name>/<version> (...)".
func ByUserAgentPrefix(prefix string) func(AuditEvent) bool {
	return func(e AuditEvent) bool { return strings.HasPrefix(e.UserAgent, prefix) }
}
