package iampolicy

import (
	"strings"
	"unicode/utf8"
)

// ptok is one character of a pattern; wild marks an unescaped '*' or '?'.
type ptok struct {
	r    rune
	wild bool
}

// pattern is a policy string with its wildcards resolved: characters that
// came from policy variables (${aws:username}, ${*}) are literal.
type pattern []ptok

// compile turns a policy string into a pattern, substituting policy
// variables when vars is set. It reports false when a variable is missing
// from the context and has no default.
func compile(s string, vars bool, ctx evalContext) (pattern, bool) {
	p := make(pattern, 0, len(s))
	for i := 0; i < len(s); {
		if vars && strings.HasPrefix(s[i:], "${") {
			if end := strings.IndexByte(s[i+2:], '}'); end >= 0 {
				inner := s[i+2 : i+2+end]
				i += end + 3
				switch inner {
				case "*", "?", "$":
					p = append(p, ptok{r: rune(inner[0])})
					continue
				}
				key, def, hasDef := strings.Cut(inner, ",")
				key = strings.TrimSpace(key)
				val := ""
				if vs, ok := ctx.get(key); ok && len(vs) > 0 {
					val = vs[0]
				} else if hasDef {
					val = strings.Trim(strings.TrimSpace(def), "'")
				} else {
					return nil, false
				}
				for _, r := range val {
					p = append(p, ptok{r: r})
				}
				continue
			}
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		p = append(p, ptok{r: r, wild: r == '*' || r == '?'})
		i += size
	}
	return p, true
}

// literal renders the pattern as a plain string.
func (p pattern) literal() string {
	var b strings.Builder
	for _, t := range p {
		b.WriteRune(t.r)
	}
	return b.String()
}

// match reports whether s matches the pattern ('*' any run, '?' one
// character).
func (p pattern) match(s string, ignoreCase bool) bool {
	return globMatch(p, []rune(s), ignoreCase)
}

func globMatch(p pattern, s []rune, ignoreCase bool) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi].wild && p[pi].r == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && ((p[pi].wild && p[pi].r == '?') || sameRune(p[pi].r, s[si], ignoreCase)):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi].wild && p[pi].r == '*' {
		pi++
	}
	return pi == len(p)
}

func sameRune(a, b rune, ignoreCase bool) bool {
	if a == b {
		return true
	}
	if !ignoreCase {
		return false
	}
	return strings.EqualFold(string(a), string(b))
}

// matchARN matches an ARN the way ArnLike and the Resource element do: the
// colon-separated parts (at most six; the last takes the rest) are matched
// separately, so a wildcard never spans a colon it does not stand in the
// last part.
func (p pattern) matchARN(s string) bool {
	parts := p.splitARN()
	vals := strings.SplitN(s, ":", len(parts))
	if len(vals) != len(parts) {
		return false
	}
	for i := range parts {
		if !globMatch(parts[i], []rune(vals[i]), false) {
			return false
		}
	}
	return true
}

// splitARN splits the pattern at its first five colons.
func (p pattern) splitARN() []pattern {
	var out []pattern
	start := 0
	for i, t := range p {
		if len(out) == 5 {
			break
		}
		if t.r == ':' && !t.wild {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return append(out, p[start:])
}

// matchAction matches an action pattern ("sqs:Send*", "*") against an
// action ("sqs:SendMessage"), ignoring case.
func matchAction(pat, action string) bool {
	p, _ := compile(pat, false, evalContext{})
	return p.match(action, true)
}
