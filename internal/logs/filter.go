package logs

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// FilterPattern is a parsed CloudWatch Logs filter pattern. Supported:
// the empty pattern (everything), term patterns (plain terms that must all
// occur, "quoted phrases", ?optional terms of which one must occur, -terms
// that must not occur) and JSON patterns ({ $.path op value } joined by &&
// or ||, evaluated left to right; op is =, !=, <, <=, >, >=; values are
// quoted strings, numbers, wildcards with *, true, false or null).
// Space-delimited ([...]) patterns are rejected.
type FilterPattern struct {
	all      []string
	any      []string
	none     []string
	json     []jsonCond
	joins    []string // "&&" or "||" between json conditions
	matchAll bool
}

type jsonCond struct {
	path  []string
	op    string
	value any // string, float64, bool or nil
	isStr bool
}

// ErrFilterPattern is wrapped by every ParseFilterPattern error.
var ErrFilterPattern = errors.New("logs: invalid filter pattern")

// ParseFilterPattern parses a filter pattern.
func ParseFilterPattern(p string) (*FilterPattern, error) {
	p = strings.TrimSpace(p)
	fp := &FilterPattern{}
	switch {
	case p == "" || p == `""`:
		fp.matchAll = true
		return fp, nil
	case strings.HasPrefix(p, "{"):
		return fp, fp.parseJSON(p)
	case strings.HasPrefix(p, "["):
		return nil, fmt.Errorf("%w: space-delimited patterns are not supported", ErrFilterPattern)
	}
	toks, err := splitTerms(p)
	if err != nil {
		return nil, err
	}
	for _, t := range toks {
		switch {
		case strings.HasPrefix(t.text, "?") && !t.quoted:
			fp.any = append(fp.any, unquote(t.text[1:]))
		case strings.HasPrefix(t.text, "-") && !t.quoted && len(t.text) > 1:
			fp.none = append(fp.none, unquote(t.text[1:]))
		default:
			fp.all = append(fp.all, t.text)
		}
	}
	return fp, nil
}

type term struct {
	text   string
	quoted bool
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func splitTerms(p string) ([]term, error) {
	var out []term
	for i := 0; i < len(p); {
		switch {
		case p[i] == ' ' || p[i] == '\t':
			i++
		case p[i] == '"':
			j := strings.IndexByte(p[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("%w: unterminated quote", ErrFilterPattern)
			}
			out = append(out, term{text: p[i+1 : i+1+j], quoted: true})
			i += j + 2
		default:
			j := i
			for j < len(p) && p[j] != ' ' && p[j] != '\t' {
				if p[j] == '"' && j > i {
					k := strings.IndexByte(p[j+1:], '"')
					if k < 0 {
						return nil, fmt.Errorf("%w: unterminated quote", ErrFilterPattern)
					}
					j += k + 1
				}
				j++
			}
			out = append(out, term{text: p[i:j]})
			i = j
		}
	}
	return out, nil
}

var jsonOps = []string{"!=", "<=", ">=", "=", "<", ">"}

func (fp *FilterPattern) parseJSON(p string) error {
	if !strings.HasSuffix(p, "}") {
		return fmt.Errorf("%w: missing }", ErrFilterPattern)
	}
	body := strings.TrimSpace(p[1 : len(p)-1])
	if body == "" {
		return fmt.Errorf("%w: empty JSON pattern", ErrFilterPattern)
	}
	for body != "" {
		end, join := len(body), ""
		inQuote := false
		for i := 0; i < len(body)-1; i++ {
			if body[i] == '"' {
				inQuote = !inQuote
			}
			if !inQuote && (body[i:i+2] == "&&" || body[i:i+2] == "||") {
				end, join = i, body[i:i+2]
				break
			}
		}
		c, err := parseCond(strings.TrimSpace(body[:end]))
		if err != nil {
			return err
		}
		fp.json = append(fp.json, c)
		if join == "" {
			break
		}
		fp.joins = append(fp.joins, join)
		body = strings.TrimSpace(body[end+2:])
		if body == "" {
			return fmt.Errorf("%w: dangling %s", ErrFilterPattern, join)
		}
	}
	return nil
}

func parseCond(s string) (jsonCond, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "("), ")")
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "$.") && s != "$" {
		return jsonCond{}, fmt.Errorf("%w: selector must start with \"$.\"", ErrFilterPattern)
	}
	for _, op := range jsonOps {
		if i := strings.Index(s, op); i > 0 {
			sel := strings.TrimSpace(s[:i])
			val := strings.TrimSpace(s[i+len(op):])
			if val == "" {
				return jsonCond{}, fmt.Errorf("%w: missing value", ErrFilterPattern)
			}
			c := jsonCond{path: strings.Split(strings.TrimPrefix(sel, "$."), "."), op: op}
			switch {
			case strings.HasPrefix(val, `"`):
				if len(val) < 2 || !strings.HasSuffix(val, `"`) {
					return jsonCond{}, fmt.Errorf("%w: unterminated string", ErrFilterPattern)
				}
				c.value, c.isStr = val[1:len(val)-1], true
			case strings.EqualFold(val, "true"), strings.EqualFold(val, "false"):
				c.value = strings.EqualFold(val, "true")
			case strings.EqualFold(val, "null"):
				c.value = nil
			default:
				if f, err := strconv.ParseFloat(val, 64); err == nil {
					c.value = f
				} else {
					c.value, c.isStr = val, true
				}
			}
			if (op == "<" || op == ">" || op == "<=" || op == ">=") && c.isStr {
				return jsonCond{}, fmt.Errorf("%w: numeric comparison with a string", ErrFilterPattern)
			}
			return c, nil
		}
	}
	return jsonCond{}, fmt.Errorf("%w: missing operator", ErrFilterPattern)
}

// Match reports whether a log message matches.
func (fp *FilterPattern) Match(msg string) bool {
	if fp.matchAll {
		return true
	}
	if len(fp.json) > 0 {
		var doc any
		if json.Unmarshal([]byte(strings.TrimSpace(msg)), &doc) != nil {
			return false
		}
		res := fp.json[0].eval(doc)
		for i, j := range fp.joins {
			v := fp.json[i+1].eval(doc)
			if j == "&&" {
				res = res && v
			} else {
				res = res || v
			}
		}
		return res
	}
	for _, t := range fp.all {
		if !strings.Contains(msg, t) {
			return false
		}
	}
	for _, t := range fp.none {
		if strings.Contains(msg, t) {
			return false
		}
	}
	if len(fp.any) > 0 {
		for _, t := range fp.any {
			if strings.Contains(msg, t) {
				return true
			}
		}
		return false
	}
	return true
}

func (c jsonCond) eval(doc any) bool {
	v := doc
	for _, p := range c.path {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[p]; !ok {
			return false
		}
	}
	switch want := c.value.(type) {
	case string:
		got, ok := v.(string)
		if !ok {
			if f, isNum := v.(float64); isNum {
				got = strconv.FormatFloat(f, 'f', -1, 64)
			} else {
				return c.op == "!="
			}
		}
		eq := got == want
		if strings.Contains(want, "*") {
			eq, _ = path.Match(strings.ReplaceAll(want, "/", "\x00"), strings.ReplaceAll(got, "/", "\x00"))
		}
		if c.op == "!=" {
			return !eq
		}
		return c.op == "=" && eq
	case float64:
		got, ok := v.(float64)
		if !ok {
			return c.op == "!="
		}
		switch c.op {
		case "=":
			return got == want
		case "!=":
			return got != want
		case "<":
			return got < want
		case "<=":
			return got <= want
		case ">":
			return got > want
		case ">=":
			return got >= want
		}
	case bool:
		got, ok := v.(bool)
		eq := ok && got == want
		if c.op == "!=" {
			return !eq
		}
		return c.op == "=" && eq
	case nil:
		eq := v == nil
		if c.op == "!=" {
			return !eq
		}
		return c.op == "=" && eq
	}
	return false
}
