package pattern

import (
	"encoding/binary"
	"math/bits"
	"sort"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds event nesting (the same bound encoding/json applies).
const maxDepth = 10000

// pathNode is a state of the path automaton: the dotted path of the event
// walked so far, split at dots, as a trie. Only paths that are a prefix of
// some rule's field exist; the walker skips every other subtree unread.
type pathNode struct {
	children map[string]*pathNode
	// names and kids list the children when there are few (small): a
	// length check and a comparison per child beat hashing the key. With
	// more than two children, hashTab finds a member name's only possible
	// child from a few of its bytes (see nameSlot).
	names     []string
	kids      []*pathNode
	small     bool
	hashTab   []uint8 // 1 + index in names, 0: no child
	hashMul   uint64
	hashShift uint8
	field     int32 // field index, or -1 when no rule tests this exact path
	frames    bool  // values at or below are recorded: track array elements
	// want marks the kinds of values some condition at this field can use
	// (wantString, wantNumber, wantLiteral); values of other kinds are
	// skipped. Numbers outside [numMin, numMax] cannot match either.
	want           uint8
	numMin, numMax float64
	// record and anchored copy the field's flags (fieldIndex).
	record, anchored bool
	// ranges is the field's range index when numbers matter there only to
	// numeric ranges (no exact number, anything-but, exists or recording):
	// the walkers probe it directly, after its bitmap of empty buckets
	// (copied here: rangeNone).
	ranges  *rangeIndex
	rngLo   float64 // the index's first point
	rngHi   float64 // and last
	rngMul  float64 // its bucket scale
	rngLast int     // its last bucket
	rngNone []uint64
	// exactStr is the field's table of exact strings when a string matters
	// there to nothing else (no other kind of string condition, no
	// anything-but or exists): leaf probes it directly.
	exactStr *strTable
}

// rangeNone reports whether no numeric range of the field holds x, from
// the bucket bitmap of n.ranges (false when it does not know).
func (n *pathNode) rangeNone(x float64) bool {
	if n.rngNone == nil || !(x >= n.rngLo && x <= n.rngHi) {
		return false
	}
	b := uint(bucketIndex(x, n.rngLo, n.rngMul, n.rngLast))
	return n.rngNone[b/64]&(1<<(b%64)) != 0
}

// Kinds of values a field can use.
const (
	wantString = 1 << iota
	wantNumber
	wantLiteral
)

// wantsNumber reports whether the JSON number v at field node n can matter:
// from its value when the walker converted it (numberIn checked it against
// [numMin, numMax]), else from cheap checks of its text.
func (n *pathNode) wantsNumber(v []byte, x numValue) bool {
	if x.ok || x.out {
		return !x.out
	}
	return n.wantsNumberText(v)
}

// wantsNumberText is wantsNumber for a number that was not converted.
func (n *pathNode) wantsNumberText(v []byte) bool {
	switch {
	case n.want&wantNumber == 0:
		return false
	case n.numMin <= 0 || len(v) == 0:
		return n.numMin < 0 || len(v) == 0 || v[0] != '-' || n.numMin == 0 && isNegZero(v)
	case n.numMin >= 1:
		return v[0] != '-' && !belowOne(v)
	}
	return v[0] != '-'
}

// isNegZero reports whether the negative number text v may round to zero:
// it has an exponent (-1e-400 does) or only zero digits.
func isNegZero(v []byte) bool {
	zero := true
	for _, c := range v[1:] {
		if c == 'e' || c == 'E' {
			return true
		}
		zero = zero && (c < '1' || c > '9')
	}
	return zero
}

// smallChildren is the most children looked up by a linear scan.
const smallChildren = 8

// Children tables: nodes with hashedChildren to maxHashedChildren children
// look member names up in a table of at most 32 slots per child.
const (
	hashedChildren    = 3
	maxHashedChildren = 64
)

// nameSlot hashes a non-empty member name into a table of 2^(64-shift)
// slots: its length and its first and last eight bytes (all of its bytes
// when it has at most sixteen).
func nameSlot(key []byte, mul uint64, shift uint8) uint64 {
	n := len(key)
	var a, c uint64
	switch {
	case n >= 8:
		a, c = load64(key, 0), load64(key, n-8)
	case n >= 4:
		a = uint64(binary.LittleEndian.Uint32(key)) | uint64(binary.LittleEndian.Uint32(key[n-4:]))<<32
	default:
		a = uint64(key[0]) | uint64(key[n/2])<<8 | uint64(key[n-1])<<16
	}
	x := a ^ bits.RotateLeft64(c, 31) ^ uint64(n)<<56
	return (x * mul) >> shift
}

// buildHash gives n a collision-free name table when one of a few
// multipliers yields one (names alike in the hashed bytes defeat it).
func (n *pathNode) buildHash() {
	if len(n.names) < hashedChildren || len(n.names) > maxHashedChildren {
		return
	}
	for _, name := range n.names {
		if name == "" {
			return
		}
	}
	mul := uint64(0x9E3779B97F4A7C15)
	for lg := 2; 1<<lg <= 32*len(n.names); lg++ {
		if 1<<lg < 2*len(n.names) {
			continue
		}
		for try := 0; try < 32; try++ {
			mul = mul*0x5851F42D4C957F2D + 0x14057B7EF767814F | 1
			tab := make([]uint8, 1<<lg)
			ok := true
			for i, name := range n.names {
				h := nameSlot([]byte(name), mul, uint8(64-lg))
				if tab[h] != 0 {
					ok = false
					break
				}
				tab[h] = uint8(i + 1)
			}
			if ok {
				n.hashTab, n.hashMul, n.hashShift = tab, mul, uint8(64-lg)
				return
			}
		}
	}
}

// hasDot reports whether key holds a '.'.
func hasDot(key []byte) bool {
	i := 0
	for ; i+8 <= len(key); i += 8 {
		if exactZeroBytes(load64(key, i)^'.'*swarLow) != 0 {
			return true
		}
	}
	for ; i < len(key); i++ {
		if key[i] == '.' {
			return true
		}
	}
	return false
}

// seal prepares the lookup tables and value filters of n and the nodes
// below it, once the trie and the field indexes are complete.
func (n *pathNode) seal(fields []*fieldIndex) {
	n.names, n.kids, n.small, n.ranges, n.rngNone, n.hashTab, n.exactStr = nil, nil, false, nil, nil, nil, nil
	if n.field >= 0 {
		fi := fields[n.field]
		n.want, n.numMin, n.numMax = fi.wants()
		n.record, n.anchored = fi.record, fi.anchored
		if fi.exactStringsOnly() {
			n.exactStr = fi.exactStrT
		}
		if fi.rangesOnly() {
			ri := &fi.ranges
			n.ranges = ri
			if ri.none != nil {
				n.rngLo, n.rngHi = ri.points[0], ri.points[len(ri.points)-1]
				n.rngMul, n.rngLast, n.rngNone = ri.scale, len(ri.bucket)-1, ri.none
			}
		}
	}
	if len(n.children) <= max(smallChildren, maxHashedChildren) {
		n.small = len(n.children) <= smallChildren
		for name := range n.children {
			n.names = append(n.names, name)
		}
		sort.Strings(n.names)
		for _, name := range n.names {
			n.kids = append(n.kids, n.children[name])
		}
		n.buildHash()
	}
	for _, c := range n.children {
		c.seal(fields)
	}
}

// markFrames sets frames on the nodes at or above recorded fields.
func (n *pathNode) markFrames(fields []*fieldIndex) bool {
	n.frames = n.field >= 0 && fields[n.field].record
	for _, c := range n.children {
		if c.markFrames(fields) {
			n.frames = true
		}
	}
	return n.frames
}

// walker scans one event once, without building values, and feeds the leaf
// values at interesting paths to the field indexes.
type walker struct {
	data  []byte
	pos   int
	depth int
	sn    *snapshot
	st    *scratch
	err   *InvalidEventError
}

// charClass marks the bytes that end a fast string scan.
var strStop = func() (t [256]bool) {
	for i := 0; i < 0x20; i++ {
		t[i] = true
	}
	t['"'] = true
	t['\\'] = true
	return
}()

func (w *walker) fail(reason string) {
	if w.err == nil {
		w.err = &InvalidEventError{Offset: w.pos, Reason: reason}
	}
}

// jsonSpace has bit c set for the JSON whitespace bytes c.
const jsonSpace = 1<<' ' | 1<<'\t' | 1<<'\n' | 1<<'\r'

func (w *walker) ws() {
	d, i := w.data, w.pos
	for i < len(d) && d[i] <= ' ' && jsonSpace&(uint64(1)<<d[i]) != 0 {
		i++
	}
	w.pos = i
}

// run walks a whole event, which must be a JSON object.
func (w *walker) run(root *pathNode) {
	w.ws()
	if w.pos >= len(w.data) || w.data[w.pos] != '{' {
		w.fail("event is not a JSON object")
		return
	}
	w.value(root)
	if w.err != nil {
		return
	}
	w.ws()
	if w.pos != len(w.data) {
		w.fail("unexpected data after the event object")
	}
}

// value walks one value at node n (nil: skip, only validating).
func (w *walker) value(n *pathNode) {
	if w.pos >= len(w.data) {
		w.fail("unexpected end of event")
		return
	}
	switch c := w.data[w.pos]; {
	case c == '{':
		w.object(n)
	case c == '[':
		w.array(n)
	case c == '"':
		if n == nil || n.field < 0 || n.want&wantString == 0 {
			w.skipString()
			return
		}
		start := w.pos
		s, ok := w.str()
		if ok {
			// Unescaped strings live in scratch memory that the next string reuses.
			stable := len(s) == w.pos-start-2
			w.st.leaf(w.sn, n, leafString, s, stable, numValue{})
		}
	case c == '-' || (c >= '0' && c <= '9'):
		if n == nil || n.field < 0 || n.want&wantNumber == 0 || (c == '-' && n.numMin > 0) {
			w.number() // no condition here can use it
			return
		}
		start := w.pos
		if c == '0' && n.numMin >= 1 {
			// Below 1 unless it has an exponent: scan it only.
			if !w.number() || belowOne(w.data[start:w.pos]) {
				return
			}
		}
		end, ok, x := numberIn(w.data, start, n.numMin, n.numMax)
		w.pos = end
		if !ok {
			w.fail("invalid number")
			return
		}
		if v := w.data[start:end]; n.wantsNumber(v, x) {
			if n.ranges != nil {
				if !x.ok || !n.rangeNone(x.x) {
					w.st.rangeLeaf(n.ranges, v, x)
				}
			} else {
				w.st.leaf(w.sn, n, leafNumber, v, true, x)
			}
		}
	case c == 't':
		if w.lit("true") && n != nil && n.field >= 0 && n.want&wantLiteral != 0 {
			w.st.leaf(w.sn, n, leafTrue, nil, true, numValue{})
		}
	case c == 'f':
		if w.lit("false") && n != nil && n.field >= 0 && n.want&wantLiteral != 0 {
			w.st.leaf(w.sn, n, leafFalse, nil, true, numValue{})
		}
	case c == 'n':
		if w.lit("null") && n != nil && n.field >= 0 && n.want&wantLiteral != 0 {
			w.st.leaf(w.sn, n, leafNull, nil, true, numValue{})
		}
	default:
		w.fail("invalid character")
	}
}

func (w *walker) lit(word string) bool {
	if len(w.data)-w.pos < len(word) || string(w.data[w.pos:w.pos+len(word)]) != word {
		w.fail("invalid literal")
		return false
	}
	w.pos += len(word)
	return true
}

func (w *walker) number() bool {
	j, ok := numberEnd(w.data, w.pos)
	w.pos = j
	if !ok {
		w.fail("invalid number")
	}
	return ok
}

// numberEnd scans the JSON number at d[i]: it returns the index after it and
// true, or the index of the offending byte and false.
func numberEnd(d []byte, i int) (int, bool) {
	if i < len(d) && d[i] == '-' {
		i++
	}
	if i >= len(d) {
		return i, false
	}
	if d[i] == '0' {
		i++
	} else if d[i] >= '1' && d[i] <= '9' {
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	} else {
		return i, false
	}
	if i < len(d) && d[i] == '.' {
		i++
		s := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == s {
			return i, false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		s := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		if i == s {
			return i, false
		}
	}
	return i, true
}

func (w *walker) enter() bool {
	w.depth++
	if w.depth > maxDepth {
		w.fail("event nested too deeply")
		return false
	}
	return true
}

func (w *walker) object(n *pathNode) {
	if !w.enter() {
		return
	}
	w.pos++ // '{'
	w.ws()
	if w.pos < len(w.data) && w.data[w.pos] == '}' {
		w.pos++
		w.depth--
		return
	}
	for {
		w.ws()
		if w.pos >= len(w.data) || w.data[w.pos] != '"' {
			w.fail("expected a member name")
			return
		}
		var child *pathNode
		if n == nil || n.children == nil {
			w.skipString()
		} else {
			key, ok := w.str()
			if !ok {
				return
			}
			child = n.descend(key)
		}
		if w.err != nil {
			return
		}
		w.ws()
		if w.pos >= len(w.data) || w.data[w.pos] != ':' {
			w.fail("expected ':'")
			return
		}
		w.pos++
		w.ws()
		w.value(child)
		if w.err != nil {
			return
		}
		w.ws()
		if w.pos >= len(w.data) {
			w.fail("unexpected end of event")
			return
		}
		if w.data[w.pos] == ',' {
			w.pos++
			continue
		}
		if w.data[w.pos] == '}' {
			w.pos++
			w.depth--
			return
		}
		w.fail("expected ',' or '}'")
		return
	}
}

// collectNames adds the member names of the nodes at and below n to names.
func (n *pathNode) collectNames(names map[string]bool) {
	for name, c := range n.children {
		names[name] = true
		c.collectNames(names)
	}
}

// descend follows an event key, which may itself contain dots, from n.
func (n *pathNode) descend(key []byte) *pathNode {
	if n.hashTab != nil && len(key) > 0 {
		if i := n.hashTab[nameSlot(key, n.hashMul, n.hashShift)]; i != 0 && unsafeString(key) == n.names[i-1] {
			return n.kids[i-1]
		}
		if !hasDot(key) {
			return nil // no child has this name, and it names no path
		}
	}
	if n.small {
		// Child names hold no dots: the key names a child, or starts with a
		// child's name followed by a dot.
		for i, name := range n.names {
			switch {
			case len(key) == len(name):
				if unsafeString(key) == name {
					return n.kids[i]
				}
			case len(key) > len(name):
				if key[len(name)] == '.' && unsafeString(key[:len(name)]) == name {
					return n.kids[i].descend(key[len(name)+1:])
				}
			}
		}
		return nil
	}
	start := 0
	for i := 0; i < len(key); i++ {
		if key[i] == '.' {
			n = n.children[unsafeString(key[start:i])]
			if n == nil {
				return nil
			}
			start = i + 1
		}
	}
	return n.children[unsafeString(key[start:])]
}

func (w *walker) array(n *pathNode) {
	if !w.enter() {
		return
	}
	w.pos++ // '['
	w.ws()
	if w.pos < len(w.data) && w.data[w.pos] == ']' {
		w.pos++
		w.depth--
		return
	}
	var aid int32
	if n != nil && n.frames {
		aid = w.st.nextArray()
	}
	for idx := int32(0); ; idx++ {
		w.ws()
		if n != nil && n.frames {
			st := w.st
			parent := st.cur
			st.cur = int32(len(st.frames))
			st.frames = append(st.frames, arrFrame{array: aid, index: idx, parent: parent})
			w.value(n)
			st.cur = parent
		} else {
			w.value(n)
		}
		if w.err != nil {
			return
		}
		w.ws()
		if w.pos >= len(w.data) {
			w.fail("unexpected end of event")
			return
		}
		if w.data[w.pos] == ',' {
			w.pos++
			continue
		}
		if w.data[w.pos] == ']' {
			w.pos++
			w.depth--
			return
		}
		w.fail("expected ',' or ']'")
		return
	}
}

// plainEnd returns the index of the first byte at or after d[i] that ends
// a plain run inside a string (a quote, a backslash or a control byte), or
// len(d). It tests eight bytes at a time: in each word the lowest flag of
// each mask is exact, so the lowest flag of their union is too.
func plainEnd(d []byte, i int) int {
	for i+8 <= len(d) {
		x := load64(d, i)
		if m := quoteMask(x) | (x-0x20*swarLow)&^x&swarHigh; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(d) && !strStop[d[i]] {
		i++
	}
	return i
}

// skipString validates and skips a string at w.pos.
func (w *walker) skipString() {
	d := w.data
	i := w.pos + 1
	for {
		i = plainEnd(d, i)
		if i >= len(d) {
			w.pos = i
			w.fail("unterminated string")
			return
		}
		switch c := d[i]; {
		case c == '"':
			w.pos = i + 1
			return
		case c == '\\':
			n, ok := escapeLen(d, i)
			if !ok {
				w.pos = i
				w.fail("invalid escape")
				return
			}
			i += n
		default:
			w.pos = i
			w.fail("control character in string")
			return
		}
	}
}

// escapeLen validates the escape at d[i] == '\\' and returns its length.
func escapeLen(d []byte, i int) (int, bool) {
	if i+1 >= len(d) {
		return 0, false
	}
	switch d[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, true
	case 'u':
		if i+6 > len(d) {
			return 0, false
		}
		for _, c := range d[i+2 : i+6] {
			if !isHex(c) {
				return 0, false
			}
		}
		return 6, true
	}
	return 0, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexVal(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		default:
			r = r<<4 | rune(c-'A'+10)
		}
	}
	return r
}

// str parses the string at w.pos and returns its unescaped bytes (a view of
// the event when it has no escapes, else of scratch memory).
func (w *walker) str() ([]byte, bool) {
	d := w.data
	start := w.pos + 1
	i := plainEnd(d, start)
	if i < len(d) && d[i] == '"' {
		w.pos = i + 1
		return d[start:i], true
	}
	buf := append(w.st.str[:0], d[start:i]...)
	for {
		if i >= len(d) {
			w.pos = i
			w.fail("unterminated string")
			return nil, false
		}
		c := d[i]
		switch {
		case c == '"':
			w.pos = i + 1
			w.st.str = buf
			return buf, true
		case c == '\\':
			n, ok := escapeLen(d, i)
			if !ok {
				w.pos = i
				w.fail("invalid escape")
				return nil, false
			}
			switch d[i+1] {
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
				r := hexVal(d[i+2 : i+6])
				if utf16.IsSurrogate(r) {
					if i+6 < len(d) && d[i+6] == '\\' {
						if k, ok := escapeLen(d, i+6); ok && k == 6 && d[i+7] == 'u' {
							if dec := utf16.DecodeRune(r, hexVal(d[i+8:i+12])); dec != utf8.RuneError {
								buf = utf8.AppendRune(buf, dec)
								i += 12
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, r)
			default:
				buf = append(buf, d[i+1])
			}
			i += n
		case c < 0x20:
			w.pos = i
			w.fail("control character in string")
			return nil, false
		default:
			j := plainEnd(d, i+1)
			buf = append(buf, d[i:j]...)
			i = j
		}
	}
}
