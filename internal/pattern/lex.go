package pattern

import (
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// tok is a JSON token as AWS's streaming parser reports it.
type tok uint8

const (
	tokEOF tok = iota
	tokStartObject
	tokEndObject
	tokStartArray
	tokEndArray
	tokField
	tokString
	tokInt
	tokFloat
	tokTrue
	tokFalse
	tokNull
)

func (t tok) numeric() bool { return t == tokInt || t == tokFloat }

// lexer is a pull parser over a pattern that reproduces the observable
// behaviour of the Jackson streaming parser AWS uses to read patterns: the
// same token sequence, the same error texts for malformed JSON, and the same
// error locations. Two Jackson details matter for locations: after a field
// name the parser has already consumed the start of the value, and string
// values are consumed lazily (only the opening quote, until the text is read).
type lexer struct {
	src []byte
	ptr int // consumed input, as Jackson's _inputPtr

	line, lineStart int

	stack []byte // 'o' or 'a' per open container
	// afterValue is true when the innermost container has had a member and the
	// next token must be preceded by a comma.
	afterValue []bool
	rootDone   bool

	pending    tok // value token already consumed after a field name
	hasPending bool
	pendText   string

	cur     tok
	text    string // field name, string content or number text
	strEnd  int    // for a lazily consumed string: offset after the closing quote
	strLazy bool
	err     *compileError
}

func newLexer(src []byte) *lexer {
	return &lexer{src: src, line: 1}
}

const validValues = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"

// fail records a parse error at the current location and returns it.
func (l *lexer) fail(reason string) *compileError {
	if l.err == nil {
		l.err = &compileError{reason: reason, line: l.line, column: utf16Count(l.src[l.lineStart:l.ptr]) + 1}
	}
	return l.err
}

// getText marks the current string token as fully consumed and returns its text.
func (l *lexer) getText() string {
	if l.strLazy {
		l.ptr = l.strEnd
		l.strLazy = false
	}
	if l.cur == tokEndArray {
		return "]"
	}
	if l.cur == tokEndObject {
		return "}"
	}
	if l.cur == tokStartArray {
		return "["
	}
	if l.cur == tokStartObject {
		return "{"
	}
	return l.text
}

// next returns the next token. After an error it keeps returning tokEOF and
// l.err is set.
func (l *lexer) next() tok {
	if l.err != nil {
		return tokEOF
	}
	if l.strLazy {
		l.ptr = l.strEnd
		l.strLazy = false
	}
	if l.hasPending {
		l.hasPending = false
		l.cur = l.pending
		l.text = l.pendText
		if l.cur == tokString {
			l.strLazy = true
		}
		return l.cur
	}
	t := l.scan()
	l.cur = t
	return t
}

func (l *lexer) skipWS() bool {
	for l.ptr < len(l.src) {
		c := l.src[l.ptr]
		switch c {
		case ' ', '\t':
			l.ptr++
		case '\n':
			l.ptr++
			l.line++
			l.lineStart = l.ptr
		case '\r':
			l.ptr++
			if l.ptr < len(l.src) && l.src[l.ptr] == '\n' {
				l.ptr++
			}
			l.line++
			l.lineStart = l.ptr
		default:
			if c < 0x20 {
				l.ptr++
				l.fail("Illegal character (" + charDesc(rune(c)) + "): only regular white space (\\r, \\n, \\t) is allowed between tokens")
				return false
			}
			return true
		}
	}
	return false
}

func (l *lexer) scan() tok {
	if l.rootDone && len(l.stack) == 0 {
		return tokEOF
	}
	if !l.skipWS() {
		if l.err != nil {
			return tokEOF
		}
		if len(l.stack) > 0 {
			kind := "Object"
			if l.stack[len(l.stack)-1] == 'a' {
				kind = "Array"
			}
			l.fail("Unexpected end-of-input: expected close marker for " + kind)
		}
		return tokEOF
	}
	if len(l.stack) == 0 {
		return l.value(true)
	}
	top := len(l.stack) - 1
	c := l.src[l.ptr]
	if l.stack[top] == 'o' {
		if c == '}' {
			l.ptr++
			l.pop()
			return tokEndObject
		}
		if l.afterValue[top] {
			if c != ',' {
				l.fail("Unexpected character (" + charDesc(l.runeAt(l.ptr)) + "): was expecting comma to separate Object entries")
				return tokEOF
			}
			l.ptr++
			if !l.skipWS() {
				if l.err == nil {
					l.fail("Unexpected end-of-input: expected close marker for Object")
				}
				return tokEOF
			}
			c = l.src[l.ptr]
		}
		if c != '"' {
			l.fail("Unexpected character (" + charDesc(l.runeAt(l.ptr)) + "): was expecting double-quote to start field name")
			return tokEOF
		}
		l.ptr++
		name, ok := l.stringBody()
		if !ok {
			return tokEOF
		}
		l.text = name
		l.afterValue[top] = true
		if !l.skipWS() {
			if l.err == nil {
				l.fail("Unexpected end-of-input: was expecting a colon to separate field name and value")
			}
			return tokEOF
		}
		if l.src[l.ptr] != ':' {
			l.fail("Unexpected character (" + charDesc(l.runeAt(l.ptr)) + "): was expecting a colon to separate field name and value")
			return tokEOF
		}
		l.ptr++
		if !l.skipWS() {
			if l.err == nil {
				l.fail("Unexpected end-of-input: expected a value")
			}
			return tokEOF
		}
		saved := l.text
		v := l.value(false)
		if l.err != nil {
			return tokEOF
		}
		l.strLazy = false // the string value stays lazily consumed until delivered
		l.pendingText(v)
		l.text = saved
		return tokField
	}
	// array
	if c == ']' {
		l.ptr++
		l.pop()
		return tokEndArray
	}
	if l.afterValue[top] {
		if c != ',' {
			l.fail("Unexpected character (" + charDesc(l.runeAt(l.ptr)) + "): was expecting comma to separate Array entries")
			return tokEOF
		}
		l.ptr++
		if !l.skipWS() {
			if l.err == nil {
				l.fail("Unexpected end-of-input: expected close marker for Array")
			}
			return tokEOF
		}
		if l.src[l.ptr] == ']' {
			l.fail("Unexpected character (']' (code 93)): expected a value")
			return tokEOF
		}
	}
	l.afterValue[top] = true
	return l.value(false)
}

// pendingText stores a value token read eagerly after a field name. Its text
// is kept in pendText until the token is delivered.
func (l *lexer) pendingText(v tok) {
	l.pending = v
	l.hasPending = true
	l.pendText = l.text
}

func (l *lexer) pop() {
	l.stack = l.stack[:len(l.stack)-1]
	l.afterValue = l.afterValue[:len(l.afterValue)-1]
	if len(l.stack) == 0 {
		l.rootDone = true
	}
}

func (l *lexer) push(kind byte) {
	l.stack = append(l.stack, kind)
	l.afterValue = append(l.afterValue, false)
}

func (l *lexer) runeAt(i int) rune {
	r, _ := utf8.DecodeRune(l.src[i:])
	return r
}

// value reads the start of a value at l.ptr (whitespace already skipped).
func (l *lexer) value(root bool) tok {
	c := l.src[l.ptr]
	switch {
	case c == '{':
		l.ptr++
		l.push('o')
		return tokStartObject
	case c == '[':
		l.ptr++
		l.push('a')
		return tokStartArray
	case c == '"':
		start := l.ptr
		l.ptr++
		s, ok := l.stringBody()
		if !ok {
			return tokEOF
		}
		l.text = s
		l.strEnd = l.ptr
		l.ptr = start + 1
		l.strLazy = true
		if root {
			l.rootDone = true
		}
		return tokString
	case c == '-' || (c >= '0' && c <= '9'):
		t := l.number()
		if root {
			l.rootDone = true
		}
		return t
	case c == 't':
		return l.literal("true", tokTrue, root)
	case c == 'f':
		return l.literal("false", tokFalse, root)
	case c == 'n':
		return l.literal("null", tokNull, root)
	case c == ']' || c == '}':
		l.fail("Unexpected character (" + charDesc(rune(c)) + "): expected a value")
		return tokEOF
	}
	r, size := utf8.DecodeRune(l.src[l.ptr:])
	if unicode.IsLetter(r) || r == '_' || r == '$' {
		start := l.ptr
		l.ptr += size
		return l.invalidToken(start)
	}
	l.fail("Unexpected character (" + charDesc(r) + "): expected a valid value " + validValues)
	return tokEOF
}

func (l *lexer) invalidToken(start int) tok {
	for l.ptr < len(l.src) {
		r, size := utf8.DecodeRune(l.src[l.ptr:])
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '$') {
			break
		}
		l.ptr += size
	}
	l.fail("Unrecognized token '" + string(l.src[start:l.ptr]) + "': was expecting " + validValues)
	return tokEOF
}

func (l *lexer) literal(word string, t tok, root bool) tok {
	start := l.ptr
	i := 0
	for i < len(word) && l.ptr < len(l.src) && l.src[l.ptr] == word[i] {
		l.ptr++
		i++
	}
	if i < len(word) {
		if l.ptr >= len(l.src) {
			l.fail("Unexpected end-of-input in a value")
			return tokEOF
		}
		return l.invalidToken(start)
	}
	if l.ptr < len(l.src) {
		r, _ := utf8.DecodeRune(l.src[l.ptr:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '$' {
			return l.invalidToken(start)
		}
	}
	l.text = word
	if root {
		l.rootDone = true
	}
	return t
}

func (l *lexer) number() tok {
	start := l.ptr
	if l.src[l.ptr] == '-' {
		l.ptr++
		if l.ptr >= len(l.src) {
			l.fail("Unexpected end-of-input in a Number value")
			return tokEOF
		}
		if c := l.src[l.ptr]; c < '0' || c > '9' {
			l.ptr++
			l.fail("Unexpected character (" + charDesc(l.runeAt(l.ptr-1)) + ") in numeric value: expected digit (0-9) to follow minus sign, for valid numeric value")
			return tokEOF
		}
	}
	intStart := l.ptr
	for l.ptr < len(l.src) && l.src[l.ptr] >= '0' && l.src[l.ptr] <= '9' {
		l.ptr++
	}
	if l.ptr-intStart > 1 && l.src[intStart] == '0' {
		l.fail("Invalid numeric value: Leading zeroes not allowed")
		return tokEOF
	}
	t := tokInt
	if l.ptr < len(l.src) && l.src[l.ptr] == '.' {
		t = tokFloat
		l.ptr++
		fs := l.ptr
		for l.ptr < len(l.src) && l.src[l.ptr] >= '0' && l.src[l.ptr] <= '9' {
			l.ptr++
		}
		if l.ptr == fs {
			if l.ptr < len(l.src) {
				l.ptr++
				l.fail("Unexpected character (" + charDesc(l.runeAt(l.ptr-1)) + ") in numeric value: Decimal point not followed by a digit")
			} else {
				l.fail("Unexpected end-of-input in a Number value")
			}
			return tokEOF
		}
	}
	if l.ptr < len(l.src) && (l.src[l.ptr] == 'e' || l.src[l.ptr] == 'E') {
		t = tokFloat
		l.ptr++
		if l.ptr < len(l.src) && (l.src[l.ptr] == '+' || l.src[l.ptr] == '-') {
			l.ptr++
		}
		es := l.ptr
		for l.ptr < len(l.src) && l.src[l.ptr] >= '0' && l.src[l.ptr] <= '9' {
			l.ptr++
		}
		if l.ptr == es {
			if l.ptr < len(l.src) {
				l.ptr++
				l.fail("Unexpected character (" + charDesc(l.runeAt(l.ptr-1)) + ") in numeric value: Exponent indicator not followed by a digit")
			} else {
				l.fail("Unexpected end-of-input in a Number value")
			}
			return tokEOF
		}
	}
	l.text = string(l.src[start:l.ptr])
	return t
}

// stringBody parses a JSON string whose opening quote is already consumed and
// leaves l.ptr after the closing quote.
func (l *lexer) stringBody() (string, bool) {
	start := l.ptr
	simple := true
	for l.ptr < len(l.src) {
		c := l.src[l.ptr]
		if c == '"' {
			if simple {
				s := string(l.src[start:l.ptr])
				l.ptr++
				return s, true
			}
			break
		}
		if c == '\\' {
			simple = false
			break
		}
		if c < 0x20 {
			l.ptr++
			l.fail("Illegal unquoted character (" + charDesc(rune(c)) + "): has to be escaped using backslash to be included in string value")
			return "", false
		}
		l.ptr++
	}
	if simple {
		l.fail("Unexpected end-of-input: was expecting closing quote for a string value")
		return "", false
	}
	buf := make([]byte, 0, l.ptr-start+16)
	buf = append(buf, l.src[start:l.ptr]...)
	for l.ptr < len(l.src) {
		c := l.src[l.ptr]
		switch {
		case c == '"':
			l.ptr++
			return string(buf), true
		case c == '\\':
			l.ptr++
			if l.ptr >= len(l.src) {
				l.fail("Unexpected end-of-input in character escape sequence")
				return "", false
			}
			e := l.src[l.ptr]
			l.ptr++
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := l.hex4()
				if !ok {
					return "", false
				}
				if utf16.IsSurrogate(r) && l.ptr+1 < len(l.src) && l.src[l.ptr] == '\\' && l.src[l.ptr+1] == 'u' {
					save := l.ptr
					l.ptr += 2
					r2, ok := l.hex4()
					if !ok {
						return "", false
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						buf = utf8.AppendRune(buf, d)
						continue
					}
					l.ptr = save
				}
				buf = utf8.AppendRune(buf, r)
			default:
				l.fail("Unrecognized character escape " + charDesc(rune(e)))
				return "", false
			}
		case c < 0x20:
			l.ptr++
			l.fail("Illegal unquoted character (" + charDesc(rune(c)) + "): has to be escaped using backslash to be included in string value")
			return "", false
		default:
			buf = append(buf, c)
			l.ptr++
		}
	}
	l.fail("Unexpected end-of-input: was expecting closing quote for a string value")
	return "", false
}

func (l *lexer) hex4() (rune, bool) {
	var r rune
	for i := 0; i < 4; i++ {
		if l.ptr >= len(l.src) {
			l.fail("Unexpected end-of-input in character escape sequence")
			return 0, false
		}
		c := l.src[l.ptr]
		l.ptr++
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			l.fail("Unexpected character (" + charDesc(rune(c)) + "): expected a hex-digit for character escape sequence")
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// charDesc renders a character the way Jackson does in error messages.
func charDesc(r rune) string {
	if r < 0x20 || r == 0x7f {
		return "CTRL-CHAR, code " + strconv.Itoa(int(r))
	}
	if r > 255 {
		return "'" + string(r) + "' (code " + strconv.Itoa(int(r)) + " / 0x" + strconv.FormatInt(int64(r), 16) + ")"
	}
	return "'" + string(r) + "' (code " + strconv.Itoa(int(r)) + ")"
}
