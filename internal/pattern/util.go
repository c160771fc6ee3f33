package pattern

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// fold maps a string to its case-insensitive form for equals-ignore-case.
func fold(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.ToLower(strings.ToUpper(s))
		}
		if c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= utf8.RuneSelf {
					return strings.ToLower(strings.ToUpper(s))
				}
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// appendFold appends the folded form of b to dst.
func appendFold(dst, b []byte) []byte {
	for i := 0; i < len(b); i++ {
		if b[i] >= utf8.RuneSelf {
			return append(dst[:len(dst)-i], fold(string(b))...)
		}
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// canonicalNumber appends the exact-match key of a valid JSON number to dst:
// keyNumber, an optional '-', the significant digits and a decimal exponent,
// so that numerically equal texts (300, 300.0, 3e2) get equal keys.
func canonicalNumber(dst, text []byte, _ bool) []byte {
	start := len(dst)
	dst = append(dst, keyNumber)
	i := 0
	neg := false
	if i < len(text) && text[i] == '-' {
		neg = true
		i++
	}
	digitsStart := len(dst)
	if neg {
		dst = append(dst, '-')
		digitsStart++
	}
	exp := 0
	seen := false // a nonzero digit has been written
	for ; i < len(text) && text[i] >= '0' && text[i] <= '9'; i++ {
		if text[i] == '0' && !seen {
			continue
		}
		seen = true
		dst = append(dst, text[i])
	}
	if i < len(text) && text[i] == '.' {
		i++
		for ; i < len(text) && text[i] >= '0' && text[i] <= '9'; i++ {
			exp--
			if text[i] == '0' && !seen {
				continue
			}
			seen = true
			dst = append(dst, text[i])
		}
	}
	if i < len(text) && (text[i] == 'e' || text[i] == 'E') {
		i++
		e, err := strconv.Atoi(string(text[i:]))
		if err != nil || e > 1<<40 || e < -(1<<40) {
			// Absurd exponents: fall back to the literal text.
			return append(append(dst[:start], keyNumber), text...)
		}
		exp += e
	}
	if !seen {
		return append(dst[:start], keyNumber, '0')
	}
	// strip trailing zeros of the digit string
	for dst[len(dst)-1] == '0' && len(dst) > digitsStart+1 {
		dst = dst[:len(dst)-1]
		exp++
	}
	dst = append(dst, 'e')
	return strconv.AppendInt(dst, int64(exp), 10)
}

// glob is a compiled wildcard pattern: literal segments separated by '*'.
type glob struct {
	segs      []string // literal text between wildcards
	leadStar  bool     // pattern starts with '*'
	trailStar bool     // pattern ends with '*'
	stars     int
	source    string
}

// literalPrefix is the text before the first wildcard.
func (g *glob) literalPrefix() string {
	if g.leadStar || len(g.segs) == 0 {
		return ""
	}
	return g.segs[0]
}

// parseGlob compiles a wildcard operand, returning AWS's error text on
// failure. Positions count bytes in the quoted value, as AWS does.
func parseGlob(s string) (*glob, string) {
	g := &glob{source: s}
	var seg []byte
	lastStar := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '*':
			if i+1 < len(s) && s[i+1] == '*' {
				return nil, "Consecutive wildcard characters at pos " + strconv.Itoa(i+1)
			}
			if i == 0 {
				g.leadStar = true
			} else {
				g.segs = append(g.segs, string(seg))
			}
			seg = seg[:0]
			g.stars++
			lastStar = true
			continue
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '\\') {
				seg = append(seg, s[i+1])
				i++
				lastStar = false
				continue
			}
			return nil, "Invalid escape character at pos " + strconv.Itoa(i+1)
		default:
			seg = append(seg, c)
		}
		lastStar = false
	}
	g.trailStar = lastStar
	if !g.trailStar {
		g.segs = append(g.segs, string(seg))
	}
	return g, ""
}

// match reports whether v matches the glob.
func (g *glob) match(v []byte) bool {
	segs := g.segs
	if g.stars == 0 {
		return len(segs) == 1 && string(v) == segs[0]
	}
	if !g.leadStar {
		if len(v) < len(segs[0]) || string(v[:len(segs[0])]) != segs[0] {
			return false
		}
		v = v[len(segs[0]):]
		segs = segs[1:]
	}
	last := ""
	if !g.trailStar {
		if len(segs) == 0 {
			return true
		}
		last = segs[len(segs)-1]
		segs = segs[:len(segs)-1]
		if len(v) < len(last) || string(v[len(v)-len(last):]) != last {
			return false
		}
		v = v[:len(v)-len(last)]
	}
	for _, s := range segs {
		i := indexBytes(v, s)
		if i < 0 {
			return false
		}
		v = v[i+len(s):]
	}
	return true
}

func indexBytes(v []byte, s string) int {
	if len(s) == 0 {
		return 0
	}
	return strings.Index(unsafeString(v), s)
}

// maxWildcardStars approximates AWS's wildcard complexity limit: AWS rejects
// patterns whose automaton could be in too many states at once; the recorded
// answers put the threshold between 2 and 6 wildcard characters in one value
// (LocalStack uses the same cut-off).
const maxWildcardStars = 5

const tooComplexWildcard = "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character"

func checkWildcardComplexity(c *compiled) *compileError {
	for _, b := range c.branches {
		for _, f := range b.fields {
			for _, p := range f.preds {
				if p.kind == pkWildcard && p.glob.stars > maxWildcardStars {
					return &compileError{reason: tooComplexWildcard}
				}
				if p.kind == pkAnythingBut {
					for _, g := range p.ab.globs {
						if g.stars > maxWildcardStars {
							return &compileError{reason: tooComplexWildcard}
						}
					}
				}
			}
		}
	}
	return nil
}
