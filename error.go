package roster

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the http package.
const (
	ECONFLICT     = "conflict"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EFORBIDDEN    = "forbidden"
	EUNAUTHORIZED = "unauthorized"
	// EUNAVAILABLE: a system Roster talks to (through a connector) failed or
	// could not be reached; the message carries the system's error.
	EUNAVAILABLE = "unavailable"
	// ETOOMANY: the client failed to authenticate too often; it may try
	// again later.
	ETOOMANY = "too_many_attempts"
)

// Error is an application error: a code and a message meant for the person who
// made the call. Internal errors never carry their text to the caller.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Details lists individual problems, for example one per line of a
	// declarative file.
	Details []string `json:"details,omitempty"`
}

// Error implements the error interface.
func (e *Error) Error() string {
	if len(e.Details) == 0 {
		return fmt.Sprintf("roster %s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("roster %s: %s: %v", e.Code, e.Message, e.Details)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, EINTERNAL for any
// other error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the *Error in err's chain, or a generic
// message for internal errors so that their text never leaks.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorDetails returns the details of the *Error in err's chain.
func ErrorDetails(err error) []string {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}
