package logs

import (
	"fmt"

	"github.com/fogbank/fogbank/internal/protocol"
)

func errInvalidParam(format string, args ...any) *protocol.Error {
	return protocol.NewError(400, "InvalidParameterException", format, args...)
}

func errGroupNotFound() *protocol.Error {
	return protocol.NewError(400, "ResourceNotFoundException", "The specified log group does not exist.")
}

func errStreamNotFound() *protocol.Error {
	return protocol.NewError(400, "ResourceNotFoundException", "The specified log stream does not exist.")
}

func errAlreadyExists(what string) *protocol.Error {
	return protocol.NewError(400, "ResourceAlreadyExistsException", "The specified %s already exists", what)
}

func errValidation(field, value, constraint string) *protocol.Error {
	return protocol.ValidationError("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, field, constraint)
}

var _ = fmt.Sprintf
