package events

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fogbank/fogbank/internal/protocol"
)

// AWS error answers of EventBridge (awsJson1_1, all HTTP 400 unless noted).

func errValidation(format string, args ...any) *protocol.Error {
	return protocol.NewError(400, "ValidationException", format, args...)
}

func errNotFound(format string, args ...any) *protocol.Error {
	return protocol.NewError(400, "ResourceNotFoundException", format, args...)
}

func errExists(format string, args ...any) *protocol.Error {
	return protocol.NewError(400, "ResourceAlreadyExistsException", format, args...)
}

func errBusNotFound(name string) *protocol.Error {
	return errNotFound("Event bus %s does not exist.", name)
}

func errRuleNotFound(rule, bus string) *protocol.Error {
	return errNotFound("Rule %s does not exist on EventBus %s.", rule, bus)
}

func errLimit(format string, args ...any) *protocol.Error {
	return protocol.NewError(400, "LimitExceededException", format, args...)
}

func errInvalidPattern(msg string) *protocol.Error {
	return protocol.NewError(400, "InvalidEventPatternException", "%s", msg)
}

func errIllegalStatus(format string, args ...any) *protocol.Error {
	return protocol.NewError(400, "IllegalStatusException", format, args...)
}

func errConcurrentModification() *protocol.Error {
	return protocol.NewError(400, "ConcurrentModificationException", "Concurrent modification detected. Please retry.")
}

func errManagedRule(rule string) *protocol.Error {
	return protocol.NewError(400, "ManagedRuleException", "Rule %s is managed by an AWS service and can only be modified through that service.", rule)
}

func errAccessDenied(format string, args ...any) *protocol.Error {
	return protocol.NewError(400, "AccessDeniedException", format, args...)
}

// validationErrors collects smithy-style constraint violations and renders
// them as AWS does: "N validation error(s) detected: a; b".
type validationErrors []string

func (v *validationErrors) add(format string, args ...any) {
	*v = append(*v, fmt.Sprintf(format, args...))
}

// pattern checks value against AWS's regular-expression constraint text.
func (v *validationErrors) pattern(value, field, re string, ok bool) {
	if !ok {
		v.add("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", value, field, re)
	}
}

func (v *validationErrors) maxLen(value, field string, n int) {
	if len(value) > n {
		v.add("Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", value, field, n)
	}
}

func (v *validationErrors) minLen(value, field string, n int) {
	if len(value) < n {
		v.add("Value '%s' at '%s' failed to satisfy constraint: Member must have length greater than or equal to %d", value, field, n)
	}
}

func (v *validationErrors) enum(value, field string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	v.add("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [%s]", value, field, strings.Join(allowed, ", "))
}

func (v validationErrors) err() error {
	switch len(v) {
	case 0:
		return nil
	case 1:
		return errValidation("1 validation error detected: %s", v[0])
	}
	return errValidation("%d validation errors detected: %s", len(v), strings.Join(v, "; "))
}

// nameOK reports whether s matches [\.\-_A-Za-z0-9]+.
func nameOK(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// busNameOK reports whether s matches [/\.\-_A-Za-z0-9]+.
func busNameOK(s string) bool {
	return nameOK(strings.ReplaceAll(s, "/", "_"))
}

const nameRE = `[\.\-_A-Za-z0-9]+`
const busNameRE = `[/\.\-_A-Za-z0-9]+`

// isNotFound reports whether err is a ResourceNotFoundException answer.
func isNotFound(err error) bool {
	var pe *protocol.Error
	return errors.As(err, &pe) && pe.Code == "ResourceNotFoundException"
}
