package pattern

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// This file holds the walker for events that the caller has already
// validated as JSON (MatchValid). It reads only what the rules need: a
// subtree no rule looks into is skipped by finding its closing bracket
// eight bytes at a time, strings that no rule tests are skipped by finding
// their closing quote the same way, and member names are compared raw
// (unescaped only when they hold a backslash). On invalid input its result
// is unspecified, but it never panics, never reads out of bounds and always
// terminates: every step advances or stops at the end of the data, all
// indexes are checked, and recursion is bounded by maxDepth.

// SWAR (SIMD within a register) constants: one byte repeated eight times.
const (
	swarLow  = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// load64 reads the eight bytes d[i:i+8] as a little-endian word; the caller
// guarantees i >= 0 and i+8 <= len(d).
func load64(d []byte, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(d)), i)), 8))
}

// exactZeroBytes flags (0x80) exactly the zero bytes of v.
func exactZeroBytes(v uint64) uint64 {
	return ^(((v & 0x7F7F7F7F7F7F7F7F) + 0x7F7F7F7F7F7F7F7F) | v) & swarHigh
}

// zeroBytes flags (0x80) the zero bytes of v. Bytes above the first zero
// byte may be flagged wrongly, so only the lowest flag is meaningful.
func zeroBytes(v uint64) uint64 { return (v - swarLow) & ^v & swarHigh }

// structMask flags the bytes that may end a skip over a container: '"',
// and every byte b with b|0x26 == 0x7F, that is '[', ']', '{', '}' and the
// harmless 'Y', '_', 'y' and DEL, which the caller passes over.
func structMask(x uint64) uint64 {
	return zeroBytes((x|0x26*swarLow)^0x7F*swarLow) | zeroBytes(x^'"'*swarLow)
}

// quoteMask flags '"' and '\\'.
func quoteMask(x uint64) uint64 {
	return zeroBytes(x^'"'*swarLow) | zeroBytes(x^'\\'*swarLow)
}

// scalarStop marks the bytes that end a number or literal in valid JSON.
var scalarStop = func() (t [256]bool) {
	for _, c := range []byte{' ', '\t', '\n', '\r', ',', ']', '}', ':'} {
		t[c] = true
	}
	return
}()

// skipWS skips JSON whitespace (and, on invalid input, control bytes).
func skipWS(d []byte, i int) int {
	for i < len(d) && d[i] <= ' ' {
		i++
	}
	return i
}

// stringEnd finds the closing quote of the string that opens at d[i]: it
// returns its index (len(d) when there is none) and whether the string
// holds a backslash.
func stringEnd(d []byte, i int) (int, bool) {
	i++
	esc := false
	for {
		for i+8 <= len(d) {
			if m := quoteMask(load64(d, i)); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		for i < len(d) && d[i] != '"' && d[i] != '\\' {
			i++
		}
		if i >= len(d) {
			return len(d), esc
		}
		if d[i] == '"' {
			return i, esc
		}
		esc = true
		i += 2
	}
}

// skipString returns the index after the string that opens at d[i].
func skipString(d []byte, i int) int {
	j, _ := stringEnd(d, i)
	return min(j+1, len(d))
}

// skipContainer returns the index after the object or array that opens at
// d[i], without recursion. It reads eight bytes at a time: a word with no
// quote or bracket is passed over at once; in other words the quotes give,
// by a prefix XOR, which bytes lie inside strings, and the brackets outside
// them are counted; a word with a backslash, and the last few bytes, go
// through a byte-at-a-time state machine.
func skipContainer(d []byte, i int) int {
	depth := 0
	var inStr uint64 // all ones when the previous word ended inside a string
	for i+8 <= len(d) {
		x := load64(d, i)
		if inStr == 0 {
			if structMask(x) == 0 {
				i += 8
				continue
			}
		} else if quoteMask(x) == 0 {
			i += 8 // inside a string that goes on
			continue
		}
		if exactZeroBytes(x^'\\'*swarLow) != 0 {
			// This word, and the escape it may leave open, byte by byte.
			var done bool
			i, depth, inStr, done = skipBytes(d, i, i+8, depth, inStr != 0)
			if done {
				return i
			}
			continue
		}
		// Bit 7 of byte k of p: an odd number of quotes up to byte k
		// (inclusive) since the string state was last known.
		p := exactZeroBytes(x ^ '"'*swarLow)
		p ^= p << 8
		p ^= p << 16
		p ^= p << 32
		p ^= inStr
		out := ^p & swarHigh
		y := x | 0x20*swarLow // '[' → '{', ']' → '}'
		open := exactZeroBytes(y^'{'*swarLow) & out
		closing := exactZeroBytes(y^'}'*swarLow) & out
		if closing != 0 && bits.OnesCount64(closing) >= depth {
			// The container may end in this word: walk its brackets in order.
			for m := open | closing; m != 0; m &= m - 1 {
				if open&(m&-m) != 0 {
					depth++
				} else if depth--; depth <= 0 {
					return i + bits.TrailingZeros64(m)>>3 + 1
				}
			}
		} else {
			depth += bits.OnesCount64(open) - bits.OnesCount64(closing)
		}
		inStr = uint64(int64(p) >> 63)
		i += 8
	}
	i, _, _, _ = skipBytes(d, i, len(d), depth, inStr != 0)
	return i
}

// skipBytes runs the container-skipping state machine over d[i:end] and on
// until it is not inside an escape. It returns the new position, depth and
// string state, and done (with the position after the container) when the
// container closed.
func skipBytes(d []byte, i, end, depth int, str bool) (int, int, uint64, bool) {
	esc := false
	for ; i < len(d) && (i < end || esc); i++ {
		c := d[i]
		if str {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				str = false
			}
			continue
		}
		switch c {
		case '"':
			str = true
		case '[', '{':
			depth++
		case ']', '}':
			if depth--; depth <= 0 {
				return i + 1, depth, 0, true
			}
		}
	}
	if i >= len(d) {
		return len(d), depth, 0, true
	}
	if str {
		return i, depth, ^uint64(0), false
	}
	return i, depth, 0, false
}

// scalarEnd returns the index after the number or literal at d[i] (at least
// i+1).
func scalarEnd(d []byte, i int) int {
	i++
	for i < len(d) && !scalarStop[d[i]] {
		i++
	}
	return i
}

// skipValue returns the index after the value at d[i] (at least i+1 when
// i < len(d)).
func skipValue(d []byte, i int) int {
	if i >= len(d) {
		return i
	}
	switch d[i] {
	case '{', '[':
		return skipContainer(d, i)
	case '"':
		return skipString(d, i)
	}
	return scalarEnd(d, i)
}

// validWalker walks an event already known to be valid JSON, feeding the
// values at interesting paths to the field indexes as walker does. Indexes
// it returns never exceed len(d).
type validWalker struct {
	d     []byte
	depth int
	sn    *snapshot
	st    *scratch
	// arrays counts the open arrays being walked: their later elements are
	// values at a known path, reached without a member name.
	arrays  int
	checked bool // the rest of the event was searched for member names
	stop    bool // no member name of the automaton follows: walk no further
}

// restIrrelevant reports whether no member name of the path automaton can
// occur in rest as a key: no name appears right after a quote and before a
// quote or a dot, and there is no backslash (a key could be escaped).
// Member names are the only way into the values that rules test, so when
// no array is open the walk can stop there.
func (sn *snapshot) restIrrelevant(rest []byte) bool {
	if len(sn.keyNames) == 0 || bytes.IndexByte(rest, '\\') >= 0 {
		return false
	}
	for _, name := range sn.keyNames {
		if name == "" {
			return false
		}
		for off := 0; ; {
			p := bytes.Index(rest[off:], unsafeBytes(name))
			if p < 0 {
				break
			}
			p += off
			if e := p + len(name); p > 0 && rest[p-1] == '"' && e < len(rest) && (rest[e] == '"' || rest[e] == '.') {
				return false
			}
			off = p + 1
		}
	}
	return true
}

// run walks the event if it is an object.
func (w *validWalker) run(root *pathNode) {
	if i := skipWS(w.d, 0); i < len(w.d) && w.d[i] == '{' {
		w.value(root, i)
	}
}

// value walks the value at d[i] at node n and returns the index after it.
func (w *validWalker) value(n *pathNode, i int) int {
	d := w.d
	if i >= len(d) {
		return i
	}
	if n == nil {
		return skipValue(d, i)
	}
	switch c := d[i]; c {
	case '{':
		if len(n.children) == 0 {
			return skipContainer(d, i)
		}
		return w.object(n, i)
	case '[':
		return w.array(n, i)
	case '"':
		if n.field < 0 || n.want&wantString == 0 {
			return skipString(d, i)
		}
		// Strings at a field go through the validating scanner, which
		// unescapes them and refuses malformed ones.
		sw := walker{data: d, pos: i, sn: w.sn, st: w.st}
		s, ok := sw.str()
		if !ok {
			return skipString(d, i)
		}
		w.st.leaf(w.sn, n, leafString, s, len(s) == sw.pos-i-2, numValue{})
		return sw.pos
	case 't', 'f', 'n':
		j := scalarEnd(d, i)
		if n.field >= 0 && n.want&wantLiteral != 0 {
			switch string(d[i:j]) {
			case "true":
				w.st.leaf(w.sn, n, leafTrue, nil, true, numValue{})
			case "false":
				w.st.leaf(w.sn, n, leafFalse, nil, true, numValue{})
			case "null":
				w.st.leaf(w.sn, n, leafNull, nil, true, numValue{})
			}
		}
		return j
	}
	if n.field >= 0 && n.want&wantNumber != 0 && (d[i] != '-' || n.numMin <= 0) {
		if d[i] == '0' && n.numMin >= 1 {
			// Below 1 unless it has an exponent.
			if j := scalarEnd(d, i); belowOne(d[i:j]) {
				return j
			}
		}
		// Only well-formed numbers reach the number code.
		if j, ok, x := numberIn(d, i, n.numMin, n.numMax); ok && (j == len(d) || scalarStop[d[j]]) {
			if !n.wantsNumber(d[i:j], x) {
				return j
			}
			if n.ranges != nil {
				if !x.ok || !n.rangeNone(x.x) {
					w.st.rangeLeaf(n.ranges, d[i:j], x)
				}
			} else {
				w.st.leaf(w.sn, n, leafNumber, d[i:j], true, x)
			}
			return j
		}
	}
	return scalarEnd(d, i)
}

func (w *validWalker) object(n *pathNode, i int) int {
	d := w.d
	if w.depth >= maxDepth {
		return skipContainer(d, i)
	}
	w.depth++
	i++ // '{'
	for {
		i = skipWS(d, i)
		if i >= len(d) {
			break
		}
		c := d[i]
		if c == '}' {
			i++
			break
		}
		if c == ',' {
			i++
			continue
		}
		if c != '"' {
			i = skipValue(d, i) // invalid: move on
			continue
		}
		var child *pathNode
		j, esc := stringEnd(d, i)
		if !esc {
			child = n.descend(d[i+1 : j])
			i = min(j+1, len(d))
		} else {
			sw := walker{data: d, pos: i, sn: w.sn, st: w.st}
			if key, ok := sw.str(); ok {
				child = n.descend(key)
				i = sw.pos
			} else {
				i = skipString(d, i)
			}
		}
		i = skipWS(d, i)
		if i < len(d) && d[i] == ':' {
			i = skipWS(d, i+1)
		}
		if child == nil && !w.checked && w.arrays == 0 && i < len(d) && (d[i] == '{' || d[i] == '[') &&
			w.sn.keyNames != nil && w.st.tryRest(w.sn) {
			// About to skip a subtree: if no name that leads to a tested
			// value follows, the rest of the event cannot matter.
			w.checked = true
			w.stop = w.sn.restIrrelevant(d[i:])
			w.st.restOutcome(w.stop)
			if w.stop {
				break
			}
		}
		i = w.value(child, i)
		if w.stop {
			break
		}
	}
	w.depth--
	return i
}

func (w *validWalker) array(n *pathNode, i int) int {
	d := w.d
	if w.depth >= maxDepth {
		return skipContainer(d, i)
	}
	w.depth++
	w.arrays++
	i++ // '['
	var aid int32
	st := w.st
	for idx := int32(0); ; {
		i = skipWS(d, i)
		if i >= len(d) {
			break
		}
		c := d[i]
		if c == ']' {
			i++
			break
		}
		if c == ',' {
			i++
			continue
		}
		if n.frames {
			if idx == 0 {
				aid = st.nextArray()
			}
			parent := st.cur
			st.cur = int32(len(st.frames))
			st.frames = append(st.frames, arrFrame{array: aid, index: idx, parent: parent})
			i = w.value(n, i)
			st.cur = parent
		} else {
			i = w.value(n, i)
		}
		idx++
	}
	w.arrays--
	w.depth--
	return i
}
