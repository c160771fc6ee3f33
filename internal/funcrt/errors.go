package funcrt

import (
	"errors"
	"fmt"
)

// ErrThrottled matches (errors.Is) every *ThrottleError.
var ErrThrottled = errors.New("funcrt: throttled")

// ErrClosed is returned by a Manager after Close.
var ErrClosed = errors.New("funcrt: manager closed")

// ErrPayloadTooLarge is returned when a request payload exceeds MaxPayloadSize.
var ErrPayloadTooLarge = errors.New("funcrt: request payload too large")

// ThrottleError reports that every environment is busy and no new one may be
// started; the Lambda service answers TooManyRequestsException.
type ThrottleError struct {
	// Limit is the Manager's MaxEnvironments.
	Limit int
}

func (e *ThrottleError) Error() string {
	return fmt.Sprintf("funcrt: all %d execution environments are busy", e.Limit)
}

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottleError) Is(target error) bool { return target == ErrThrottled }

// InitError reports that an environment could not be initialised (Prewarm).
type InitError struct {
	// ErrorType is Lambda's type, e.g. Runtime.InvalidEntrypoint, Runtime.ExitError.
	ErrorType string
	// Message is the error text without the "RequestId: ... Error: " prefix.
	Message string
}

func (e *InitError) Error() string {
	return fmt.Sprintf("funcrt: init failed: %s: %s", e.ErrorType, e.Message)
}

// Lambda's error types produced by the platform.
const (
	errTypeTimeout          = "Sandbox.Timedout"
	errTypeExit             = "Runtime.ExitError"
	errTypeInvalidEntry     = "Runtime.InvalidEntrypoint"
	errTypeOOM              = "Runtime.OutOfMemory"
	errTypeResponseTooLarge = "Function.ResponseSizeTooLarge"
	errTypeUnknown          = "Runtime.Unknown"
)
