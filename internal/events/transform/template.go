package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Predefined variable names an InputTemplate may use without declaring them
// in InputPathsMap.
const (
	VarRuleARN       = "aws.events.rule-arn"
	VarRuleName      = "aws.events.rule-name"
	VarIngestionTime = "aws.events.event.ingestion-time"
	VarEvent         = "aws.events.event"
	VarEventJSON     = "aws.events.event.json"
)

var predefined = map[string]bool{VarRuleARN: true, VarRuleName: true, VarIngestionTime: true, VarEvent: true, VarEventJSON: true}

// MaxPathsMapEntries is AWS's limit on InputPathsMap entries.
const MaxPathsMapEntries = 100

// ErrRender reports a template that cannot be rendered for an event (for
// example an object substituted inside a JSON string); the invocation
// fails without retry, as AWS's does.
var ErrRender = errors.New("transform: cannot render input template")

// PlaceholderError reports a <name> in InputTemplate that is neither a key of
// InputPathsMap nor a predefined variable.
type PlaceholderError struct{ Name string }

// Error implements error.
func (e *PlaceholderError) Error() string {
	return "transform: invalid placeholder " + e.Name
}

// PathError reports an InputPathsMap value that is not a valid JSONPath.
type PathError struct {
	Key  string
	Path string
	Err  error
}

// Error implements error.
func (e *PathError) Error() string {
	return fmt.Sprintf("transform: InputPathsMap %s: %v", e.Key, e.Err)
}

// Unwrap returns the path error.
func (e *PathError) Unwrap() error { return e.Err }

type mode int

const (
	modeJSON   mode = iota // template is a JSON object or array
	modeString             // template is one or more quoted strings
	modePlain              // anything else: plain text
)

// Transformer is a compiled InputTransformer. It is immutable and safe for
// concurrent use.
type Transformer struct {
	paths    map[string]Path
	template string
	mode     mode
}

// Vars are the values of the predefined variables for one invocation.
type Vars struct {
	RuleARN  string
	RuleName string
	// IngestionTime is when EventBridge received the event.
	IngestionTime time.Time
}

// New compiles an InputTransformer: it checks every InputPathsMap value and
// that every placeholder of the template is defined.
func New(pathsMap map[string]string, template string) (*Transformer, error) {
	t := &Transformer{paths: make(map[string]Path, len(pathsMap)), template: template}
	keys := make([]string, 0, len(pathsMap))
	for k := range pathsMap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, err := ParsePath(pathsMap[k])
		if err != nil {
			return nil, &PathError{Key: k, Path: pathsMap[k], Err: err}
		}
		t.paths[k] = p
	}
	for _, name := range Placeholders(template) {
		if _, ok := t.paths[name]; !ok && !predefined[name] {
			return nil, &PlaceholderError{Name: name}
		}
	}
	switch trimmed := strings.TrimSpace(template); {
	case strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "["):
		t.mode = modeJSON
	case strings.HasPrefix(trimmed, `"`):
		t.mode = modeString
	default:
		t.mode = modePlain
	}
	return t, nil
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// placeholderAt returns the name of a <name> placeholder starting at s[i]
// ('<') and its length, or "" when there is none.
func placeholderAt(s string, i int) (string, int) {
	j := i + 1
	for j < len(s) && isNameByte(s[j]) {
		j++
	}
	if j == i+1 || j >= len(s) || s[j] != '>' {
		return "", 0
	}
	return s[i+1 : j], j + 1 - i
}

// Placeholders lists the distinct placeholder names of a template in order
// of first use.
func Placeholders(template string) []string {
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(template); i++ {
		if template[i] != '<' {
			continue
		}
		if name, n := placeholderAt(template, i); n > 0 {
			if !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
			i += n - 1
		}
	}
	return out
}

// Render produces the target input for event (the full event envelope).
func (t *Transformer) Render(event []byte, v Vars) ([]byte, error) {
	values := map[string]json.RawMessage{}
	missing := map[string]bool{}
	for k, p := range t.paths {
		if raw, ok := p.Select(event); ok {
			values[k] = raw
		} else {
			missing[k] = true
		}
	}
	var b bytes.Buffer
	s := t.template
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && inQuote && i+1 < len(s):
			b.WriteByte(c)
			b.WriteByte(s[i+1])
			i++
			continue
		case c == '"':
			inQuote = !inQuote
		case c == '<':
			name, n := placeholderAt(s, i)
			if n == 0 {
				break
			}
			raw, err := t.value(name, values, missing, event, v)
			if err != nil {
				return nil, err
			}
			if err := t.substitute(&b, raw, inQuote); err != nil {
				return nil, err
			}
			i += n - 1
			continue
		}
		b.WriteByte(c)
	}
	out := b.Bytes()
	if t.mode == modeJSON && !json.Valid(out) {
		return nil, fmt.Errorf("%w: the result is not valid JSON", ErrRender)
	}
	return out, nil
}

// value returns the raw JSON of a placeholder; nil means missing.
func (t *Transformer) value(name string, values map[string]json.RawMessage, missing map[string]bool, event []byte, v Vars) (json.RawMessage, error) {
	if raw, ok := values[name]; ok {
		return raw, nil
	}
	if missing[name] {
		return nil, nil
	}
	switch name {
	case VarRuleARN:
		return jsonString(v.RuleARN), nil
	case VarRuleName:
		return jsonString(v.RuleName), nil
	case VarIngestionTime:
		return jsonString(v.IngestionTime.UTC().Format(time.RFC3339)), nil
	case VarEventJSON:
		return json.RawMessage(event), nil
	case VarEvent:
		return eventSummary(event, v), nil
	}
	return nil, &PlaceholderError{Name: name}
}

// eventSummary is <aws.events.event>: the envelope without detail, with
// "detailType" for "detail-type" and time set to the ingestion time, as AWS
// renders it.
func eventSummary(event []byte, v Vars) json.RawMessage {
	var env map[string]json.RawMessage
	if json.Unmarshal(event, &env) != nil {
		return json.RawMessage("null")
	}
	out := map[string]json.RawMessage{}
	for _, k := range []string{"id", "account", "source", "region", "resources", "version"} {
		if raw, ok := env[k]; ok {
			out[k] = raw
		}
	}
	if raw, ok := env["detail-type"]; ok {
		out["detailType"] = raw
	}
	out["time"] = jsonString(v.IngestionTime.UTC().Format(time.RFC3339))
	b, _ := json.Marshal(out)
	return b
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func (t *Transformer) substitute(b *bytes.Buffer, raw json.RawMessage, inQuote bool) error {
	if raw == nil { // missing value
		if !inQuote && t.mode != modePlain {
			b.WriteString("null")
		}
		return nil
	}
	switch raw[0] {
	case '"':
		if !inQuote && t.mode != modePlain {
			b.Write(raw)
			return nil
		}
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return fmt.Errorf("%w: %v", ErrRender, err)
		}
		if inQuote {
			esc, _ := json.Marshal(str)
			b.Write(esc[1 : len(esc)-1])
		} else {
			b.WriteString(str)
		}
		return nil
	case '{', '[':
		switch {
		case !inQuote && t.mode != modePlain:
			compact(b, raw)
		case inQuote && t.mode == modeString:
			flatten(b, raw)
		default:
			return fmt.Errorf("%w: an object or array cannot be placed there", ErrRender)
		}
		return nil
	default: // number, true, false, null
		b.Write(raw)
		return nil
	}
}

func compact(b *bytes.Buffer, raw json.RawMessage) {
	if err := json.Compact(b, raw); err != nil {
		b.Write(raw)
	}
}

// flatten renders an object or array inside a string template the way AWS
// does: members in event order, no quotes around strings, e.g.
// {acc_id:0a787ecb,sf_id:baz} and [ACTIVE,INACTIVE].
func flatten(b *bytes.Buffer, raw json.RawMessage) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out bytes.Buffer
	if err := flattenTokens(dec, &out); err != nil {
		b.Write(raw)
		return
	}
	b.Write(out.Bytes())
}

func flattenTokens(dec *json.Decoder, b *bytes.Buffer) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch x := tok.(type) {
	case json.Delim:
		closing := byte('}')
		if x == '[' {
			closing = ']'
		}
		b.WriteByte(byte(x))
		for i := 0; dec.More(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			if x == '{' {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				b.WriteString(fmt.Sprint(k))
				b.WriteByte(':')
			}
			if err := flattenTokens(dec, b); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
		b.WriteByte(closing)
	case string:
		b.WriteString(x)
	case nil:
		b.WriteString("null")
	default:
		fmt.Fprint(b, x)
	}
	return nil
}
