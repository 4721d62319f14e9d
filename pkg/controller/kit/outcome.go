// Package kit holds the parts of a controller that do not depend on the
// resource being reconciled: how a step ended (Kind, Error), the memory of
// the operator's own writes (OwnWrites), and the workers with their shutdown
// drain (RunWorkers). A controller built on it classifies
// a pass's outcome in one place, and lets only its write helpers consult and
// feed the read-your-writes memory.
package kit

import (
	"errors"
	"fmt"
)

// Kind says how a step of a pass ended.
type Kind int

const (
	// Succeeded: the step did what it had to.
	Succeeded Kind = iota
	// Failed: an API request or a computation failed. Reported once as a
	// Warning event and retried with backoff; the status keeps describing
	// the last completed pass.
	Failed
	// Waiting: the pass stopped at a gate on something outside the operator
	// (a Secret, the database, a fix of the spec). The status says what it
	// waits for; requeued with backoff in case no event arrives. Not an error.
	Waiting
	// CacheBehind: an informer cache has not delivered one of the operator's
	// own writes yet. The pass ends without a word; the delivery requeues.
	CacheBehind
	// NotOwned: an object the operator would write is controlled by someone
	// else. It is never adopted or overwritten; like Waiting, the status
	// says what to fix.
	NotOwned
)

func (k Kind) String() string {
	switch k {
	case Succeeded:
		return "Succeeded"
	case Failed:
		return "Failed"
	case Waiting:
		return "Waiting"
	case CacheBehind:
		return "CacheBehind"
	case NotOwned:
		return "NotOwned"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is a step's outcome other than success. Its message is the cause's:
// for Waiting and NotOwned it is what the status shows the user.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// KindOf classifies a step's result: nil succeeded, an *Error (wrapped or
// not) is of its kind, and any other error failed.
func KindOf(err error) Kind {
	if err == nil {
		return Succeeded
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Failed
}

// Waitf ends a pass at a gate.
func Waitf(format string, args ...any) error {
	return &Error{Kind: Waiting, Err: fmt.Errorf(format, args...)}
}

// AsWaiting turns an outcome the status already reports (a NotOwned object)
// into Waiting for the work queue.
func AsWaiting(err error) error { return &Error{Kind: Waiting, Err: err} }

// ErrCacheBehind ends a pass whose caches miss one of the operator's writes.
var ErrCacheBehind error = &Error{Kind: CacheBehind, Err: errors.New("cache has not seen this operator's last write yet")}

// NotOwnedError reports that the name an owner's child needs is taken by an
// object the owner does not control.
func NotOwnedError(kind, namespace, name, ownerKind string) error {
	return &Error{Kind: NotOwned, Err: fmt.Errorf("%s %s/%s exists but is not controlled by this %s; delete or rename it",
		kind, namespace, name, ownerKind)}
}

// In names the step a failure came from ("ConfigMap: update ConfigMap …").
// Other outcomes pass unchanged: their message is meant for the status.
func In(step string, err error) error {
	if KindOf(err) != Failed {
		return err
	}
	return fmt.Errorf("%s: %w", step, err)
}
