package pattern

import (
	"bytes"
	"encoding/json"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
)

// This file holds the naive reference matcher used by the differential
// fuzzer: it decodes the whole event with encoding/json, flattens it into
// (path, value, array positions) leaves and evaluates every branch of the
// compiled pattern by brute force. It shares only the compiler with the
// engine; walking, indexing, counting and the array checks are independent.

type refLeaf struct {
	path  string
	kind  int
	text  string // string value or number literal
	trail [][2]int
}

type refWalker struct {
	dec    *json.Decoder
	leaves []refLeaf
	arrays int
}

func refFlatten(event []byte) ([]refLeaf, bool) {
	if !json.Valid(event) {
		return nil, false
	}
	trimmed := bytes.TrimSpace(event)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, false
	}
	w := &refWalker{dec: json.NewDecoder(bytes.NewReader(event))}
	w.dec.UseNumber()
	if !w.value("", nil, true) {
		return nil, false
	}
	return w.leaves, true
}

func (w *refWalker) value(path string, trail [][2]int, root bool) bool {
	t, err := w.dec.Token()
	if err != nil {
		return false
	}
	return w.tokenValue(t, path, trail, root)
}

func (w *refWalker) tokenValue(t json.Token, path string, trail [][2]int, root bool) bool {
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			for w.dec.More() {
				kt, err := w.dec.Token()
				if err != nil {
					return false
				}
				k := kt.(string)
				p := k
				if !root {
					p = path + "." + k
				}
				if !w.value(p, trail, false) {
					return false
				}
			}
			_, err := w.dec.Token()
			return err == nil
		case '[':
			w.arrays++
			id := w.arrays
			for i := 0; w.dec.More(); i++ {
				tr := append(append([][2]int(nil), trail...), [2]int{id, i})
				if !w.value(path, tr, false) {
					return false
				}
			}
			_, err := w.dec.Token()
			return err == nil
		}
	case string:
		w.leaves = append(w.leaves, refLeaf{path: path, kind: leafString, text: v, trail: trail})
	case json.Number:
		w.leaves = append(w.leaves, refLeaf{path: path, kind: leafNumber, text: string(v), trail: trail})
	case bool:
		k := leafFalse
		if v {
			k = leafTrue
		}
		w.leaves = append(w.leaves, refLeaf{path: path, kind: k, trail: trail})
	case nil:
		w.leaves = append(w.leaves, refLeaf{path: path, kind: leafNull, trail: trail})
	}
	return true
}

// refMatch evaluates a compiled pattern against flattened leaves.
func refMatch(c *compiled, leaves []refLeaf) bool {
	for _, b := range c.branches {
		if refBranch(b, leaves) {
			return true
		}
	}
	return false
}

func refBranch(b branch, leaves []refLeaf) bool {
	// candidate leaves per field
	options := make([][]int, len(b.fields))
	for i, f := range b.fields {
		present := false
		for li, l := range leaves {
			if l.path != f.path {
				continue
			}
			present = true
			for _, p := range f.preds {
				if refPred(p, l) {
					options[i] = append(options[i], li)
					break
				}
			}
		}
		if len(options[i]) == 0 && !(f.absent && !present) {
			return false
		}
	}
	// choose one leaf per field with consistent array positions
	var choose func(i int, chosen []int) bool
	choose = func(i int, chosen []int) bool {
		if i == len(options) {
			return true
		}
		if len(options[i]) == 0 {
			return choose(i+1, chosen)
		}
		for _, li := range options[i] {
			ok := true
			for _, o := range chosen {
				if !refCompatible(leaves[li].trail, leaves[o].trail) {
					ok = false
					break
				}
			}
			if ok && choose(i+1, append(chosen, li)) {
				return true
			}
		}
		return false
	}
	return choose(0, nil)
}

func refCompatible(a, b [][2]int) bool {
	for _, x := range a {
		for _, y := range b {
			if x[0] == y[0] && x[1] != y[1] {
				return false
			}
		}
	}
	return true
}

func refKey(l refLeaf) string {
	switch l.kind {
	case leafString:
		return "s" + l.text
	case leafTrue:
		return "t"
	case leafFalse:
		return "f"
	case leafNull:
		return "z"
	}
	return ""
}

// refNumEqual compares a number literal with a pattern number key by value.
func refNumEqual(lit, key string) bool {
	if hugeExponent(lit) || hugeExponent(key) {
		return numberKey(lit) == key
	}
	a, ok1 := new(big.Float).SetPrec(4096).SetString(lit)
	b, ok2 := refKeyNumber(key)
	if !ok1 || !ok2 || a.IsInf() || b.IsInf() {
		return numberKey(lit) == key
	}
	return a.Cmp(b) == 0
}

// hugeExponent reports a number whose exponent has more than four digits,
// which big.Float would take too long to expand.
func hugeExponent(s string) bool {
	i := strings.IndexAny(s, "eE")
	if i < 0 {
		return false
	}
	e := strings.TrimLeft(s[i+1:], "+-0")
	return len(e) > 4
}

// refKeyNumber decodes a canonical number key ("n-123e4") back to a value.
func refKeyNumber(key string) (*big.Float, bool) {
	s := key[1:]
	if s == "0" {
		return new(big.Float), true
	}
	i := strings.IndexByte(s, 'e')
	if i < 0 {
		return nil, false
	}
	f, ok := new(big.Float).SetPrec(4096).SetString(s[:i] + "e" + s[i+1:])
	return f, ok
}

func refPred(p pred, l refLeaf) bool {
	switch p.kind {
	case pkExact:
		if l.kind == leafNumber {
			return p.text[0] == keyNumber && refNumEqual(l.text, p.text)
		}
		return refKey(l) == p.text
	case pkPrefix:
		return l.kind == leafString && strings.HasPrefix(l.text, p.text)
	case pkSuffix:
		return l.kind == leafString && strings.HasSuffix(l.text, p.text)
	case pkPrefixFold:
		return l.kind == leafString && strings.HasPrefix(fold(l.text), p.text)
	case pkSuffixFold:
		return l.kind == leafString && strings.HasSuffix(fold(l.text), p.text)
	case pkFold:
		return l.kind == leafString && fold(l.text) == p.text
	case pkWildcard:
		return l.kind == leafString && refGlob(p.glob.source, l.text)
	case pkNumeric:
		if l.kind != leafNumber {
			return false
		}
		x, err := strconv.ParseFloat(l.text, 64)
		if err != nil && !isRangeErr(err) {
			return false
		}
		return x >= -fiveBillion && x <= fiveBillion && p.rng.contains(x)
	case pkCIDR:
		if l.kind != leafString {
			return false
		}
		a, err := netip.ParseAddr(l.text)
		if err != nil || a.Zone() != "" || len(l.text) < 2 || len(l.text) > 45 {
			return false
		}
		return p.ip.contains(a.Unmap())
	case pkExists:
		return true
	case pkAbsent:
		return false
	case pkAnythingBut:
		return !refExcluded(p.ab, l)
	}
	return false
}

func refExcluded(ab *anythingBut, l refLeaf) bool {
	for i, v := range ab.values {
		switch ab.kind {
		case pkExact:
			if l.kind == leafNumber {
				if v[0] == keyNumber && refNumEqual(l.text, v) {
					return true
				}
			} else if refKey(l) == v {
				return true
			}
		case pkFold:
			if l.kind == leafString && fold(l.text) == v {
				return true
			}
		case pkPrefix:
			if l.kind == leafString && strings.HasPrefix(l.text, v) {
				return true
			}
		case pkSuffix:
			if l.kind == leafString && strings.HasSuffix(l.text, v) {
				return true
			}
		case pkWildcard:
			if l.kind == leafString && refGlob(ab.globs[i].source, l.text) {
				return true
			}
		}
	}
	return false
}

// refGlob is a textbook dynamic-programming wildcard matcher over the raw
// operand (handling \* and \\ escapes itself).
func refGlob(pat, s string) bool {
	type tokT struct {
		star bool
		c    byte
	}
	var toks []tokT
	for i := 0; i < len(pat); i++ {
		switch {
		case pat[i] == '*':
			toks = append(toks, tokT{star: true})
		case pat[i] == '\\' && i+1 < len(pat):
			toks = append(toks, tokT{c: pat[i+1]})
			i++
		default:
			toks = append(toks, tokT{c: pat[i]})
		}
	}
	// can[j] = toks[:i] matches s[:j]
	can := make([]bool, len(s)+1)
	can[0] = true
	for _, t := range toks {
		next := make([]bool, len(s)+1)
		for j := 0; j <= len(s); j++ {
			if t.star {
				next[j] = can[j] || (j > 0 && next[j-1])
			} else if j > 0 {
				next[j] = can[j-1] && s[j-1] == t.c
			}
		}
		can = next
	}
	return can[len(s)]
}
