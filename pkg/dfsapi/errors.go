package dfsapi

import (
	"errors"
	"fmt"
	"net/http"
)

func httpStatusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprintf("%d", code)
}

// IsNotFound reports a 404 from the server.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports a 409 (for example a store or share that already exists).
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

// IsUnauthorized reports a 401: a token or password the server refused.
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

func hasStatus(err error, code int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == code
}
