package pattern

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// eventBridgePrefix is the fixed text EventBridge puts before every reason in
// InvalidEventPatternException.
const eventBridgePrefix = "Event pattern is not valid. Reason: "

// maxSourceSnippet is how much of the pattern text AWS's JSON parser quotes in
// an error location before it truncates.
const maxSourceSnippet = 500

// InvalidPatternError reports an event pattern that EventBridge would reject.
//
// Message is the text EventBridge returns in InvalidEventPatternException
// without the parser location, e.g.
// `Event pattern is not valid. Reason: "int" must be an object or an array`.
// RawMessage returns the text with the location suffix that AWS's Java parser
// appends for syntax-level errors (when Line is not zero).
type InvalidPatternError struct {
	// Reason is the engine's explanation, e.g. `"int" must be an object or an array`.
	Reason string
	// Message is eventBridgePrefix + Reason.
	Message string
	// Line and Column locate the error the way AWS's JSON parser reports it
	// (1-based, columns in UTF-16 units). Zero when AWS reports no location.
	Line, Column int
	// Repeat is how many times AWS appends the location (1 or 2: errors that
	// AWS re-wraps inside list handling carry it twice). Zero means once.
	Repeat int

	source string
}

// Error returns Message.
func (e *InvalidPatternError) Error() string { return e.Message }

// Location returns the location suffix AWS appends to the reason, or "" when
// there is none: "\n at [Source: (String)\"…\"; line: 1, column: 11]", possibly
// repeated.
func (e *InvalidPatternError) Location() string {
	if e.Line == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n at [Source: (String)\"")
	src := e.source
	if n := utf16Len(src); n > maxSourceSnippet {
		cut := utf16Prefix(src, maxSourceSnippet)
		b.WriteString(src[:cut])
		b.WriteString("\"[truncated ")
		b.WriteString(strconv.Itoa(n - maxSourceSnippet))
		b.WriteString(" chars]")
	} else {
		b.WriteString(src)
		b.WriteByte('"')
	}
	b.WriteString("; line: ")
	b.WriteString(strconv.Itoa(e.Line))
	b.WriteString(", column: ")
	b.WriteString(strconv.Itoa(e.Column))
	b.WriteByte(']')
	loc := b.String()
	if e.Repeat > 1 {
		return loc + loc
	}
	return loc
}

// RawMessage returns Message followed by Location, which is the exact text of
// the Message field in AWS's InvalidEventPatternException.
func (e *InvalidPatternError) RawMessage() string { return e.Message + e.Location() }

// InvalidEventError reports an event that is not a JSON object.
type InvalidEventError struct {
	// Offset is the byte offset of the problem in the event.
	Offset int
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *InvalidEventError) Error() string {
	return "pattern: invalid event at offset " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// ErrInvalidEvent is matched (errors.Is) by every *InvalidEventError.
var ErrInvalidEvent = errors.New("pattern: invalid event")

// Is makes errors.Is(err, ErrInvalidEvent) true.
func (e *InvalidEventError) Is(target error) bool { return target == ErrInvalidEvent }

// compileError is the dialect-neutral form of a validation failure; the
// EventBridge and SNS front ends render it with their own prefixes.
type compileError struct {
	reason       string
	line, column int // zero when AWS reports no location
	repeat       int
}

func (e *compileError) Error() string { return e.reason }

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// utf16Prefix returns the byte length of the longest prefix of s holding at
// most n UTF-16 units.
func utf16Prefix(s string, n int) int {
	units := 0
	for i, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if units+w > n {
			return i
		}
		units += w
	}
	return len(s)
}

// utf16Count counts UTF-16 units in b (invalid bytes count as one unit each).
func utf16Count(b []byte) int {
	n := 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
		b = b[size:]
	}
	return n
}
