// Package errs keeps signalgate's one application error type: a code the
// transport maps to a status, a message safe to show the caller, and the
// wrapped cause kept for logs only.
package errs

import (
	"errors"
	"fmt"
)

// Code classifies an application error; each edge translates it once.
type Code string

// The codes every layer may return.
const (
	Invalid            Code = "invalid"             // the request is malformed
	TooLarge           Code = "too_large"           // the request exceeds a size limit
	Unauthenticated    Code = "unauthenticated"     // no valid credentials
	Forbidden          Code = "forbidden"           // valid credentials without the role
	NotFound           Code = "not_found"           // no such resource
	Conflict           Code = "conflict"            // the state does not allow it
	PreconditionFailed Code = "precondition_failed" // a stale If-Match
	Unprocessable      Code = "unprocessable"       // well-formed but refused (e.g. a policy that does not validate)
	TooManyRequests    Code = "too_many_requests"   // throttled; retry later
	Timeout            Code = "timeout"             // the client was too slow sending the request
	Unavailable        Code = "unavailable"         // cannot be done now; retry later
	Internal           Code = "internal"            // a bug or an infrastructure failure
)

// Error is an application error. Message is shown to callers; Err is not.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	switch {
	case e.Err != nil && e.Message != "":
		return e.Message + ": " + e.Err.Error()
	case e.Err != nil:
		return e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// E returns an Error with a formatted caller-facing message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error that keeps err as its hidden cause.
func Wrap(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// CodeOf returns the code of the first Error in err's chain, or Internal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// MessageOf returns the caller-facing message of err: the Error's message, or
// a generic text for anything else, so internal details never leak.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" && e.Code != Internal {
		return e.Message
	}
	return "internal error"
}
