package protocol

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an AWS API error: a code, a message and an HTTP status. Services
// keep their errors as data (constructors returning *Error) and return them;
// the protocol writers render them in the request's wire format.
type Error struct {
	// Code is the error shape name, as awsJson/restJson clients see it
	// ("QueueDoesNotExist", "ResourceNotFoundException").
	Code    string
	Message string
	// Status is the HTTP status; zero means 400.
	Status int
	// Receiver marks a server-side fault (Type "Receiver" in query errors);
	// otherwise the fault is the sender's.
	Receiver bool
	// QueryCode is the legacy awsQuery code of an awsQueryCompatible service
	// ("AWS.SimpleQueueService.NonExistentQueue"). It is sent in query
	// responses and in the X-Amzn-Query-Error header of JSON responses.
	QueryCode string
	// Fields are extra members of a JSON error body (Lambda's "Type",
	// "Reason"...). Keys must not be "__type" or "message".
	Fields map[string]any
	// Headers are extra response headers (e.g. Retry-After).
	Headers map[string]string
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// HTTPStatus returns Status or 400 when unset.
func (e *Error) HTTPStatus() int {
	if e.Status == 0 {
		return http.StatusBadRequest
	}
	return e.Status
}

// WireQueryCode returns the code query clients see.
func (e *Error) WireQueryCode() string {
	if e.QueryCode != "" {
		return e.QueryCode
	}
	return e.Code
}

// FaultType returns "Sender" or "Receiver".
func (e *Error) FaultType() string {
	if e.Receiver || e.HTTPStatus() >= 500 {
		return "Receiver"
	}
	return "Sender"
}

// NewError returns an *Error with the given status, code and message.
func NewError(status int, code, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Code: code, Message: msg, Status: status}
}

// Common errors shared by every service (AWS "common errors").

// InternalFailure is the 500 error AWS returns for unexpected faults.
func InternalFailure() *Error {
	return &Error{Code: "InternalFailure", Message: "The request processing has failed because of an unknown error, exception or failure.", Status: 500, Receiver: true}
}

// UnknownOperation answers an operation a JSON service does not serve.
func UnknownOperation(op string) *Error {
	return &Error{Code: "UnknownOperationException", Message: "Unknown operation " + op, Status: 400}
}

// InvalidAction answers a query Action the service does not serve.
func InvalidAction(action string) *Error {
	return &Error{Code: "InvalidAction", Message: "The action or operation requested is invalid. Verify that the action is typed correctly. Unknown Action: " + action, Status: 400}
}

// MissingAction answers a query request without Action.
func MissingAction() *Error {
	return &Error{Code: "MissingAction", Message: "The request must contain the parameter Action.", Status: 400}
}

// SerializationError answers a body that cannot be decoded.
func SerializationError(msg string) *Error {
	return &Error{Code: "SerializationException", Message: msg, Status: 400}
}

// ValidationError is the generic validation failure of JSON services.
func ValidationError(format string, args ...any) *Error {
	return NewError(400, "ValidationException", format, args...)
}

// AsError converts any error into an *Error: an *Error (anywhere in the
// chain) is returned as is; anything else becomes InternalFailure and
// internal is true so the caller can log it.
func AsError(err error) (e *Error, internal bool) {
	if errors.As(err, &e) {
		return e, false
	}
	return InternalFailure(), true
}
