package autoscaling

import (
	"net/http"

	"github.com/fogbank/fogbank/internal/protocol"
)

func errValidation(format string, args ...any) *protocol.Error {
	return protocol.NewError(http.StatusBadRequest, "ValidationException", format, args...)
}

// errUnsupported is AWS's answer for a namespace, resource ID and dimension
// that do not go together; Fogbank gives it for every namespace but lambda.
func errUnsupported() *protocol.Error {
	return errValidation("Unsupported service namespace, resource type or scalable dimension")
}

func errObjectNotFound(format string, args ...any) *protocol.Error {
	return protocol.NewError(http.StatusBadRequest, "ObjectNotFoundException", format, args...)
}

func errTargetNotFound(t targetID) *protocol.Error {
	return errObjectNotFound("No scalable target registered for service namespace: %s, resource ID: %s, scalable dimension: %s",
		t.Namespace, t.ResourceID, t.Dimension)
}

func errInvalidNextToken() *protocol.Error {
	return protocol.NewError(http.StatusBadRequest, "InvalidNextTokenException", "Invalid token")
}

func errNotImplemented(op string) *protocol.Error {
	return protocol.NewError(http.StatusNotImplemented, "NotImplemented",
		"Fogbank does not implement Application Auto Scaling %s yet; see docs/compatibility.md", op)
}
