package audit

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// Tail follows an audit log from the moment it is opened and returns the
// records of one client. The log grows by tens of MB during a benchmark, so
// it is read from where the last read stopped rather than parsed whole each
// time, and lines of other clients are skipped before they are decoded.
type Tail struct {
	f      *os.File
	lines  *lines
	needle []byte
}

// OpenTail opens the log at path, skips what it already holds, and follows
// the records whose user agent starts with userAgentPrefix.
func OpenTail(path, userAgentPrefix string) (*Tail, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("seek to the end of the audit log: %w", err)
	}
	return &Tail{f: f, lines: newLines(f), needle: []byte(`"userAgent":"` + userAgentPrefix)}, nil
}

// Poll returns the client's records (every stage) appended since the last
// call, in log order. A line that the API server was writing when the log
// was opened starts mid-line and is skipped.
func (t *Tail) Poll() ([]Event, error) {
	var out []Event
	for {
		b, ok, err := t.lines.next()
		if err != nil {
			return out, fmt.Errorf("read audit log: %w", err)
		}
		if !ok {
			return out, nil
		}
		if !bytes.Contains(b, t.needle) {
			continue
		}
		if ev, err := decode(b); err == nil {
			out = append(out, ev)
		}
	}
}

// Close closes the log.
func (t *Tail) Close() error { return t.f.Close() }
