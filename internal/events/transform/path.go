package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidPath reports a JSONPath that EventBridge does not accept.
var ErrInvalidPath = errors.New("transform: invalid JSONPath")

// step is one element of a compiled path: a member name or an array index.
type step struct {
	name  string
	index int
	isIdx bool
}

// Path is a compiled JSONPath of the form EventBridge accepts in InputPath
// and InputPathsMap: "$" followed by ".name", "['name']" / `["name"]` and
// "[n]" steps. The zero value selects the whole document.
type Path struct {
	src   string
	steps []step
}

// String returns the path as written.
func (p Path) String() string { return p.src }

// ParsePath compiles a JSONPath. It returns an error wrapping ErrInvalidPath
// for anything outside the supported subset.
func ParsePath(s string) (Path, error) {
	if !strings.HasPrefix(s, "$") {
		return Path{}, fmt.Errorf("%w: %q must start with $", ErrInvalidPath, s)
	}
	p := Path{src: s}
	rest := s[1:]
	for len(rest) > 0 {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			name := rest[:end]
			if name == "" {
				return Path{}, fmt.Errorf("%w: empty member name in %q", ErrInvalidPath, s)
			}
			p.steps = append(p.steps, step{name: name})
			rest = rest[end:]
		case '[':
			if len(rest) > 1 && (rest[1] == '\'' || rest[1] == '"') {
				q := rest[1]
				closeAt := strings.IndexByte(rest[2:], q)
				if closeAt < 0 || 2+closeAt+1 >= len(rest) || rest[2+closeAt+1] != ']' {
					return Path{}, fmt.Errorf("%w: bad quoted member in %q", ErrInvalidPath, s)
				}
				p.steps = append(p.steps, step{name: rest[2 : 2+closeAt]})
				rest = rest[2+closeAt+2:]
				continue
			}
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return Path{}, fmt.Errorf("%w: unclosed [ in %q", ErrInvalidPath, s)
			}
			inner := rest[1:end]
			n, err := strconv.Atoi(inner)
			if err != nil || n < 0 {
				return Path{}, fmt.Errorf("%w: bad index %q in %q", ErrInvalidPath, inner, s)
			}
			p.steps = append(p.steps, step{index: n, isIdx: true})
			rest = rest[end+1:]
		default:
			return Path{}, fmt.Errorf("%w: unexpected %q in %q", ErrInvalidPath, rest[0], s)
		}
	}
	return p, nil
}

// Select returns the raw JSON of the value the path names in doc, and false
// when it does not exist (a missing member, an index out of range, or a step
// into a scalar).
func (p Path) Select(doc []byte) (json.RawMessage, bool) {
	cur := json.RawMessage(doc)
	for _, st := range p.steps {
		trim := bytes.TrimSpace(cur)
		if len(trim) == 0 {
			return nil, false
		}
		if st.isIdx {
			if trim[0] != '[' {
				return nil, false
			}
			var arr []json.RawMessage
			if json.Unmarshal(trim, &arr) != nil || st.index >= len(arr) {
				return nil, false
			}
			cur = arr[st.index]
			continue
		}
		if trim[0] != '{' {
			return nil, false
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(trim, &obj) != nil {
			return nil, false
		}
		v, ok := obj[st.name]
		if !ok {
			return nil, false
		}
		cur = v
	}
	return json.RawMessage(bytes.TrimSpace(cur)), true
}
