package localcluster

import "github.com/dittofs/dittofs-operator/test/harness/audit"

// AuditEvent is one API request from the apiserver audit log (see the
// audit package, which reads it).
type AuditEvent = audit.Event

// ReadAudit parses a JSON-lines audit log and returns the ResponseComplete
// events in file order (one per finished request; watches appear when they
// end). A trailing line that is still being written is ignored, so the log
// can be read while the cluster runs.
func ReadAudit(path string) ([]AuditEvent, error) { return audit.Read(path) }

// FilterAudit returns the events for which keep returns true.
func FilterAudit(events []AuditEvent, keep func(AuditEvent) bool) []AuditEvent {
	return audit.Filter(events, keep)
}

// ByUserAgentPrefix selects events whose user agent starts with prefix; a
// client-go program's default user agent is "<binary name>/<version> (...)".
func ByUserAgentPrefix(prefix string) func(AuditEvent) bool { return audit.ByUserAgentPrefix(prefix) }
