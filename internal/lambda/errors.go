package lambda

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/fogbank/fogbank/internal/protocol"
)

// userError is a Lambda error with the body Lambda sends for "User" faults:
// {"Type":"User","Message":"..."}.
func userError(status int, code, format string, args ...any) *protocol.Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &protocol.Error{Code: code, Message: msg, Status: status,
		Fields: map[string]any{"Type": "User", "Message": msg}}
}

func errNotFound(format string, args ...any) *protocol.Error {
	return userError(http.StatusNotFound, "ResourceNotFoundException", format, args...)
}

func errFunctionNotFound(arn string) *protocol.Error {
	return errNotFound("Function not found: %s", arn)
}

func errInvalidParam(format string, args ...any) *protocol.Error {
	return userError(http.StatusBadRequest, "InvalidParameterValueException", format, args...)
}

func errConflict(format string, args ...any) *protocol.Error {
	return userError(http.StatusConflict, "ResourceConflictException", format, args...)
}

func errPrecondition(format string, args ...any) *protocol.Error {
	return userError(http.StatusPreconditionFailed, "PreconditionFailedException", format, args...)
}

// errValidation is the Smithy validation error (no Type field).
func errValidation(format string, args ...any) *protocol.Error {
	return protocol.ValidationError(format, args...)
}

func errValidationPattern(value, field, pattern string) *protocol.Error {
	return errValidation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", value, field, pattern)
}

// Throttle reasons Lambda reports in TooManyRequestsException.
const (
	reasonReserved = "ReservedFunctionConcurrentInvocationLimitExceeded"
	reasonAccount  = "ConcurrentInvocationLimitExceeded"
)

func errTooManyRequests(reason string) *protocol.Error {
	return &protocol.Error{Code: "TooManyRequestsException", Message: "Rate Exceeded.", Status: http.StatusTooManyRequests,
		Fields:  map[string]any{"Type": "User", "Reason": reason},
		Headers: map[string]string{"Retry-After": strconv.Itoa(1)}}
}

func errRequestTooLarge(msg string) *protocol.Error {
	return userError(http.StatusRequestEntityTooLarge, "RequestTooLargeException", "%s", msg)
}
