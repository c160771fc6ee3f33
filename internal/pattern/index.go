package pattern

import (
	"math"
	"net/netip"
	"sort"
	"strconv"
)

// affixIndex finds the entries whose key is a prefix (or suffix) of a value
// with one hash lookup per distinct key length, independent of the number of
// entries.
type affixIndex struct {
	m    map[string][]int32
	lens []int     // distinct key lengths, ascending
	t    *strTable // m, for lookups
}

func (a *affixIndex) add(key string, id int32) {
	if a.m == nil {
		a.m = map[string][]int32{}
	}
	if _, ok := a.m[key]; !ok {
		i := sort.SearchInts(a.lens, len(key))
		if i == len(a.lens) || a.lens[i] != len(key) {
			a.lens = append(a.lens, 0)
			copy(a.lens[i+1:], a.lens[i:])
			a.lens[i] = len(key)
		}
	}
	a.m[key] = append(a.m[key], id)
}

// finish builds the lookup table once every key is added.
func (a *affixIndex) finish() { a.t = newStrTable(a.m) }

func (a *affixIndex) prefixes(v []byte, out []int32) []int32 {
	for _, n := range a.lens {
		if n > len(v) {
			break
		}
		out = a.t.appendIDs(out, v[:n])
	}
	return out
}

func (a *affixIndex) suffixes(v []byte, out []int32) []int32 {
	for _, n := range a.lens {
		if n > len(v) {
			break
		}
		out = a.t.appendIDs(out, v[len(v)-n:])
	}
	return out
}

// rangeIndex answers "which numeric intervals contain x": the distinct
// finite endpoints cut the line into elementary slots (gaps and points);
// each slot lists the intervals covering it (flat), or, when that table
// would be too large, a segment tree over the slots holds them
// (O(log n + k)). A bucket table finds the slot of x in O(1).
type rangeIndex struct {
	pending []rangeEntry
	points  []float64
	slots   int
	// flat table: the ids of slot s are ids[start[s]:start[s+1]]
	start []int32
	ids   []int32
	// segment tree, when the flat table is too large
	nodes [][]int32
	// openEnds: some interval reaches below the first or above the last
	// point (numbers out there can match).
	openEnds bool
	// minLo and maxHi are the least lower and the greatest upper end of
	// the intervals (infinite when unbounded).
	minLo, maxHi float64
	// bucket splits [points[0], points[last]] into equal buckets (x falls
	// in bucketOf(x)). A bucket that holds no point lies inside one slot:
	// its entry is that slot (bucketSlot), marked bucketNone when the slot
	// holds no interval, or the slot's only interval (bucketOne), so most
	// lookups read one word; otherwise the entry is the index of the
	// bucket's first point, and the lookup steps over the bucket's points.
	bucket []uint32
	scale  float64
	// none has bit b set when bucket b is marked bucketNone: a bitmap
	// small enough to stay in cache rejects most numbers.
	none []uint64
}

// Flags of a bucket entry.
const (
	bucketSlot = 1 << 31 // the low bits are the slot of every x in the bucket
	bucketNone = 1 << 30 // and that slot holds no interval
	bucketOne  = 1 << 29 // the low bits are the slot's only interval instead
	bucketMask = bucketOne - 1
)

// bucketsPerPoint sizes the bucket table: with eight buckets per point most
// buckets hold no point, and few numbers outside every interval share a
// bucket with one.
const bucketsPerPoint = 8

// maxBuckets bounds the bucket table (1 MiB).
const maxBuckets = 1 << 18

type rangeEntry struct {
	r  numRange
	id int32
}

func (ri *rangeIndex) add(r numRange, id int32) { ri.pending = append(ri.pending, rangeEntry{r, id}) }

func (ri *rangeIndex) empty() bool { return len(ri.pending) == 0 }

// bucketOf is the bucket of x, for points[0] <= x <= points[last]. It never
// decreases as x grows (subtraction, scaling by a positive factor and
// truncation are monotonic in floating point), so a bucket's points are
// exactly the points p with bucketOf(p) equal to it, every point of an
// earlier bucket is below x, and every point of a later one above.
func (ri *rangeIndex) bucketOf(x float64) int {
	return bucketIndex(x, ri.points[0], ri.scale, len(ri.bucket)-1)
}

// bucketIndex is the bucket of x >= lo among last+1 buckets of width
// 1/scale starting at lo. The conversion rounds the difference, so every
// caller computes the same bucket for the same x.
func bucketIndex(x, lo, scale float64, last int) int {
	return min(int(float64(x-lo)*scale), last)
}

// slot maps x to its elementary slot: 2i+1 is exactly points[i], 2i is the
// open gap below points[i], 2*len(points) the gap above the last point.
func (ri *rangeIndex) slot(x float64) int {
	var i int
	if p := ri.points; ri.bucket != nil && x >= p[0] && x <= p[len(p)-1] {
		switch e := ri.bucket[ri.bucketOf(x)]; {
		case e&bucketSlot == 0:
			i = int(e & bucketMask)
			for i < len(p) && p[i] < x {
				i++
			}
		case e&bucketOne == 0:
			return int(e & bucketMask)
		default:
			i = searchFloats(ri.points, x)
		}
	} else {
		i = searchFloats(ri.points, x)
	}
	if i < len(ri.points) && ri.points[i] == x {
		return 2*i + 1
	}
	return 2 * i
}

// buildBuckets fills the bucket table once the points are known; the
// bucketNone marks wait for the slots' contents (markEmpty).
func (ri *rangeIndex) buildBuckets() {
	p := ri.points
	n := len(p)
	ri.bucket = nil
	if n < 2 || !(p[n-1] > p[0]) || 2*n+1 > bucketMask {
		return
	}
	nb := 64
	for nb < bucketsPerPoint*n && nb < maxBuckets {
		nb <<= 1
	}
	ri.scale = float64(nb) / (p[n-1] - p[0])
	if !(ri.scale > 0) || math.IsInf(ri.scale, 0) {
		return
	}
	ri.bucket = make([]uint32, nb)
	// Count the points of each bucket; the running count is the index of
	// a bucket's first point.
	count := make([]int32, nb)
	for _, x := range p {
		count[ri.bucketOf(x)]++
	}
	first := 0
	for b := range ri.bucket {
		if count[b] == 0 {
			ri.bucket[b] = bucketSlot | uint32(2*first) // in the gap below points[first]
		} else {
			ri.bucket[b] = uint32(first)
		}
		first += int(count[b])
	}
}

// markEmpty marks the buckets whose slot holds no interval; count[s] is
// the number of intervals covering slot s.
func (ri *rangeIndex) markEmpty(count []int32) {
	if ri.bucket == nil {
		return
	}
	ri.none = make([]uint64, (len(ri.bucket)+63)/64)
	for b, e := range ri.bucket {
		if e&bucketSlot != 0 && count[e&bucketMask] == 0 {
			ri.bucket[b] = e | bucketNone
			ri.none[b/64] |= 1 << (b % 64)
		}
	}
}

// span is the slots [lo, hi] an interval covers.
func (ri *rangeIndex) span(r numRange) (lo, hi int) {
	lo, hi = 0, ri.slots-1
	if !math.IsInf(r.lo, 0) {
		lo = ri.slot(r.lo)
		if r.loOpen {
			lo++
		}
	}
	if !math.IsInf(r.hi, 0) {
		hi = ri.slot(r.hi)
		if r.hiOpen {
			hi--
		}
	}
	return lo, hi
}

// maxFlatRange bounds the flat table (entries per slot summed) relative to
// the number of intervals and slots.
const maxFlatRange = 16

func (ri *rangeIndex) build() {
	pts := make([]float64, 0, 2*len(ri.pending))
	for _, e := range ri.pending {
		if !math.IsInf(e.r.lo, 0) {
			pts = append(pts, e.r.lo)
		}
		if !math.IsInf(e.r.hi, 0) {
			pts = append(pts, e.r.hi)
		}
	}
	sort.Float64s(pts)
	uniq := pts[:0]
	for i, p := range pts {
		if i == 0 || p != pts[i-1] {
			uniq = append(uniq, p)
		}
	}
	ri.points = uniq
	ri.slots = 2*len(uniq) + 1
	ri.buildBuckets()
	ri.minLo, ri.maxHi = math.Inf(1), math.Inf(-1)
	for _, e := range ri.pending {
		ri.openEnds = ri.openEnds || math.IsInf(e.r.lo, 0) || math.IsInf(e.r.hi, 0)
		ri.minLo = min(ri.minLo, e.r.lo)
		ri.maxHi = max(ri.maxHi, e.r.hi)
	}
	// Count the flat table's size with a difference array.
	diff := make([]int, ri.slots+1)
	for _, e := range ri.pending {
		if lo, hi := ri.span(e.r); lo <= hi {
			diff[lo]++
			diff[hi+1]--
		}
	}
	total, cur := 0, 0
	count := make([]int32, ri.slots)
	for s := 0; s < ri.slots; s++ {
		cur += diff[s]
		count[s] = int32(cur)
		total += cur
	}
	ri.markEmpty(count)
	if total <= maxFlatRange*(len(ri.pending)+ri.slots) {
		ri.start = make([]int32, ri.slots+1)
		for s := 0; s < ri.slots; s++ {
			ri.start[s+1] = ri.start[s] + count[s]
		}
		ri.ids = make([]int32, total)
		fill := append([]int32(nil), ri.start[:ri.slots]...)
		for _, e := range ri.pending {
			lo, hi := ri.span(e.r)
			for s := lo; s <= hi; s++ {
				ri.ids[fill[s]] = e.id
				fill[s]++
			}
		}
		// Buckets inside a slot with one interval name it.
		for b, e := range ri.bucket {
			if s := e & bucketMask; e&(bucketSlot|bucketNone) == bucketSlot && ri.start[s+1]-ri.start[s] == 1 &&
				uint32(ri.ids[ri.start[s]]) <= bucketMask {
				ri.bucket[b] = bucketSlot | bucketOne | uint32(ri.ids[ri.start[s]])
			}
		}
		return
	}
	ri.nodes = make([][]int32, 4*ri.slots)
	for _, e := range ri.pending {
		if lo, hi := ri.span(e.r); lo <= hi {
			ri.insert(1, 0, ri.slots-1, lo, hi, e.id)
		}
	}
}

func (ri *rangeIndex) insert(node, l, r, lo, hi int, id int32) {
	if lo <= l && r <= hi {
		ri.nodes[node] = append(ri.nodes[node], id)
		return
	}
	m := (l + r) / 2
	if lo <= m {
		ri.insert(2*node, l, m, lo, hi, id)
	}
	if hi > m {
		ri.insert(2*node+1, m+1, r, lo, hi, id)
	}
}

// queryText appends the intervals holding the JSON number v (none when v is
// outside AWS's ±5e9), parsing v fully only when cheap bounds do not settle
// its slot.
func (ri *rangeIndex) queryText(v []byte, out []int32) []int32 {
	first, last := ri.points[0], ri.points[len(ri.points)-1]
	if !ri.openEnds && ((v[0] == '-' && first > 0) || (first >= 1 && belowOne(v))) {
		return out // v lies below every interval
	}
	if lo, hi, exact, ok := numBounds(v); ok {
		if hi < -fiveBillion || lo > fiveBillion || (!ri.openEnds && (hi < first || lo > last)) {
			return out
		}
		if lo >= -fiveBillion && hi <= fiveBillion {
			if exact {
				return ri.querySlot(ri.slot(lo), out)
			}
			if s := ri.slot(lo); s == ri.slot(hi) {
				return ri.querySlot(s, out)
			}
		}
	}
	if x, ok := parseComparable(v); ok {
		return ri.querySlot(ri.slot(x), out)
	}
	return out
}

// queryValue is queryText for a number already converted exactly.
func (ri *rangeIndex) queryValue(x float64, out []int32) []int32 {
	p := ri.points
	if len(p) == 0 {
		return ri.querySlot(0, out)
	}
	if x < p[0] || x > p[len(p)-1] {
		if !ri.openEnds || x < -fiveBillion || x > fiveBillion {
			return out
		}
	} else if ri.bucket != nil {
		b := uint(ri.bucketOf(x))
		if ri.none[b/64]&(1<<(b%64)) != 0 {
			return out // most numbers: one bit
		}
		switch e := ri.bucket[b]; {
		case e&(bucketSlot|bucketOne) == bucketSlot|bucketOne:
			return append(out, int32(e&bucketMask))
		case e&bucketSlot != 0:
			return ri.querySlot(int(e&bucketMask), out)
		}
	}
	return ri.querySlot(ri.slot(x), out)
}

func (ri *rangeIndex) querySlot(s int, out []int32) []int32 {
	if ri.start != nil {
		return append(out, ri.ids[ri.start[s]:ri.start[s+1]]...)
	}
	node, l, r := 1, 0, ri.slots-1
	for {
		out = append(out, ri.nodes[node]...)
		if l == r {
			return out
		}
		m := (l + r) / 2
		if s <= m {
			node, r = 2*node, m
		} else {
			node, l = 2*node+1, m+1
		}
	}
}

// cidrIndex finds the address ranges containing an address with one lookup
// per distinct (family, mask length).
type cidrIndex struct {
	byPrefix map[netip.Prefix][]int32 // masked prefix → entry positions
	masks    []int                    // distinct (bits<<1 | is6)
	entries  []cidrEntry
}

type cidrEntry struct {
	r  ipRange
	id int32
}

func (ci *cidrIndex) add(r ipRange, id int32) {
	if ci.byPrefix == nil {
		ci.byPrefix = map[netip.Prefix][]int32{}
	}
	p, _ := r.lo.Prefix(r.bits)
	ci.byPrefix[p] = append(ci.byPrefix[p], int32(len(ci.entries)))
	ci.entries = append(ci.entries, cidrEntry{r, id})
	key := r.bits << 1
	if r.lo.Is6() {
		key |= 1
	}
	for _, k := range ci.masks {
		if k == key {
			return
		}
	}
	ci.masks = append(ci.masks, key)
}

func (ci *cidrIndex) query(a netip.Addr, out []int32) []int32 {
	is6 := 0
	if a.Is6() {
		is6 = 1
	}
	for _, k := range ci.masks {
		if k&1 != is6 {
			continue
		}
		p, err := a.Prefix(k >> 1)
		if err != nil {
			continue
		}
		for _, e := range ci.byPrefix[p] {
			if ci.entries[e].r.contains(a) {
				out = append(out, ci.entries[e].id)
			}
		}
	}
	return out
}

// wildEntry is a wildcard alternative; id is a condition (or, in the
// anything-but tables, a local anything-but position).
type wildEntry struct {
	g  *glob
	id int32
}

// wildIndex keeps wildcards keyed by their literal prefix, so that only the
// wildcards whose prefix matches are run. Wildcards that start with '*' are
// always run: their cost grows with their number.
type wildIndex struct {
	all      []wildEntry
	byPrefix affixIndex // literal prefix → positions in all
	anyStart []int32    // positions in all with no literal prefix
}

func (w *wildIndex) add(g *glob, id int32) {
	pos := int32(len(w.all))
	w.all = append(w.all, wildEntry{g, id})
	if p := g.literalPrefix(); p != "" {
		w.byPrefix.add(p, pos)
	} else {
		w.anyStart = append(w.anyStart, pos)
	}
}

func (w *wildIndex) query(v []byte, tmp []int32, out []int32) ([]int32, []int32) {
	tmp = w.byPrefix.prefixes(v, tmp[:0])
	tmp = append(tmp, w.anyStart...)
	for _, pos := range tmp {
		e := w.all[pos]
		if e.g.match(v) {
			out = append(out, e.id)
		}
	}
	return out, tmp
}

// fieldIndex holds every alternative, of every rule, that tests one path.
type fieldIndex struct {
	exact                  map[string][]int32 // typed keys of non-strings
	exactStr               map[string][]int32 // strings, untyped
	fold                   map[string][]int32
	prefix, suffix         affixIndex
	prefixFold, suffixFold affixIndex
	wild                   wildIndex
	ranges                 rangeIndex
	cidr                   cidrIndex
	exists                 []int32

	// anything-but: ab[i] is the condition of the i-th anything-but; the
	// tables map a value to the positions it excludes.
	ab                 []int32
	abExact, abFold    map[string][]int32 // abExact: typed keys of non-strings
	abExactStr         map[string][]int32
	abPrefix, abSuffix affixIndex
	abWild             wildIndex

	// Tables of the maps above, for lookups.
	exactT, exactStrT, foldT, abExactT, abExactStrT, abFoldT *strTable

	needFold bool
	needNum  bool // exact number keys present (in exact or anything-but tables)
	abNum    bool // anything-but number keys present
	needIP   bool
	// exactFloats are the values of the exact number keys, sorted: a number
	// whose bounds hold none of them cannot equal any key.
	exactFloats []float64

	anchored bool // some condition on this path is an anchor (probe the index)
	record   bool // some branch verifies this path (record its values)
}

func (fi *fieldIndex) addPred(p *pred, cond int32) {
	switch p.kind {
	case pkExact:
		if p.text[0] == keyString {
			if fi.exactStr == nil {
				fi.exactStr = map[string][]int32{}
			}
			fi.exactStr[p.text[1:]] = append(fi.exactStr[p.text[1:]], cond)
			break
		}
		if fi.exact == nil {
			fi.exact = map[string][]int32{}
		}
		fi.exact[p.text] = append(fi.exact[p.text], cond)
		if p.text[0] == keyNumber {
			fi.needNum = true
		}
	case pkPrefix:
		fi.prefix.add(p.text, cond)
	case pkSuffix:
		fi.suffix.add(p.text, cond)
	case pkPrefixFold:
		fi.prefixFold.add(p.text, cond)
		fi.needFold = true
	case pkSuffixFold:
		fi.suffixFold.add(p.text, cond)
		fi.needFold = true
	case pkFold:
		if fi.fold == nil {
			fi.fold = map[string][]int32{}
		}
		fi.fold[p.text] = append(fi.fold[p.text], cond)
		fi.needFold = true
	case pkWildcard:
		fi.wild.add(p.glob, cond)
	case pkNumeric:
		fi.ranges.add(p.rng, cond)
	case pkCIDR:
		fi.cidr.add(p.ip, cond)
		fi.needIP = true
	case pkExists:
		fi.exists = append(fi.exists, cond)
	case pkAbsent:
		// handled by the branch check
	case pkAnythingBut:
		pos := int32(len(fi.ab))
		fi.ab = append(fi.ab, cond)
		ab := p.ab
		switch ab.kind {
		case pkExact:
			for _, v := range ab.values {
				if v[0] == keyString {
					if fi.abExactStr == nil {
						fi.abExactStr = map[string][]int32{}
					}
					fi.abExactStr[v[1:]] = append(fi.abExactStr[v[1:]], pos)
					continue
				}
				if fi.abExact == nil {
					fi.abExact = map[string][]int32{}
				}
				fi.abExact[v] = append(fi.abExact[v], pos)
				if v[0] == keyNumber {
					fi.needNum = true
					fi.abNum = true
				}
			}
		case pkFold:
			if fi.abFold == nil {
				fi.abFold = map[string][]int32{}
			}
			for _, v := range ab.values {
				fi.abFold[v] = append(fi.abFold[v], pos)
			}
			fi.needFold = true
		case pkPrefix:
			for _, v := range ab.values {
				fi.abPrefix.add(v, pos)
			}
		case pkSuffix:
			for _, v := range ab.values {
				fi.abSuffix.add(v, pos)
			}
		case pkWildcard:
			for _, g := range ab.globs {
				fi.abWild.add(g, pos)
			}
		}
	}
}

func (fi *fieldIndex) finish() {
	fi.exactT, fi.exactStrT, fi.foldT = newStrTable(fi.exact), newStrTable(fi.exactStr), newStrTable(fi.fold)
	fi.abExactT, fi.abExactStrT, fi.abFoldT = newStrTable(fi.abExact), newStrTable(fi.abExactStr), newStrTable(fi.abFold)
	for _, a := range []*affixIndex{&fi.prefix, &fi.suffix, &fi.prefixFold, &fi.suffixFold, &fi.abPrefix, &fi.abSuffix,
		&fi.wild.byPrefix, &fi.abWild.byPrefix} {
		a.finish()
	}
	if !fi.ranges.empty() {
		fi.ranges.build()
	}
	for k := range fi.exact {
		if k[0] != keyNumber {
			continue
		}
		x, err := strconv.ParseFloat(k[1:], 64)
		if err != nil && !isRangeErr(err) {
			fi.abNum = true // cannot prefilter: always build the key
		}
		fi.exactFloats = append(fi.exactFloats, x)
	}
	sort.Float64s(fi.exactFloats)
}

// wants returns the kinds of values (wantString, wantNumber, wantLiteral)
// that some condition on this path can use, and the least and the greatest
// number that can match (infinite when any number may).
func (fi *fieldIndex) wants() (w uint8, numMin, numMax float64) {
	numMin, numMax = math.Inf(-1), math.Inf(1)
	if fi.record || len(fi.exists) > 0 || len(fi.ab) > 0 {
		return wantString | wantNumber | wantLiteral, numMin, numMax
	}
	if len(fi.exactStr) > 0 || len(fi.fold) > 0 || len(fi.prefix.lens) > 0 || len(fi.suffix.lens) > 0 ||
		len(fi.prefixFold.lens) > 0 || len(fi.suffixFold.lens) > 0 || len(fi.wild.all) > 0 || fi.needIP {
		w |= wantString
	}
	for k := range fi.exact {
		if k[0] == keyNumber {
			w |= wantNumber
		} else {
			w |= wantLiteral
		}
	}
	if fi.ranges.slots > 0 {
		if w&wantNumber == 0 {
			numMin, numMax = fi.ranges.minLo, fi.ranges.maxHi
		}
		w |= wantNumber
	}
	return w, numMin, numMax
}

// rangesOnly reports whether numbers at this path matter only to its
// numeric ranges: no exact number, anything-but or exists condition, and
// no branch verifies the path.
func (fi *fieldIndex) rangesOnly() bool {
	return fi.anchored && fi.ranges.slots > 0 && !fi.record && !fi.needNum && len(fi.exists) == 0 && len(fi.ab) == 0
}

// exactStringsOnly reports whether strings at this path matter only to its
// table of exact strings.
func (fi *fieldIndex) exactStringsOnly() bool {
	return fi.anchored && fi.exactStrT != nil && !fi.needFold && !fi.needIP && len(fi.prefix.lens) == 0 &&
		len(fi.suffix.lens) == 0 && len(fi.wild.all) == 0 && len(fi.ab) == 0 && len(fi.exists) == 0
}

// numberKeyNeeded reports whether the exact-match key of the number v must
// be built: some anything-but lists numbers, or v may equal an exact key.
func (fi *fieldIndex) numberKeyNeeded(v []byte, num numValue) bool {
	if fi.abNum {
		return true
	}
	if len(fi.exactFloats) == 0 || (v[0] == '-' && fi.exactFloats[0] > 0) {
		return false
	}
	if num.ok {
		return anyIn(fi.exactFloats, num.x, num.x)
	}
	lo, hi, _, ok := numBounds(v)
	return !ok || anyIn(fi.exactFloats, lo, hi)
}

// leaf kinds seen while walking an event.
const (
	leafString = iota
	leafNumber
	leafTrue
	leafFalse
	leafNull
)

// eval appends to out the conditions satisfied by one leaf value. v is the
// unescaped string or the number text.
func (fi *fieldIndex) eval(st *scratch, kind int, v []byte, num numValue, out []int32) []int32 {
	if len(fi.exists) > 0 {
		out = append(out, fi.exists...)
	}
	keyed := false // st.key holds v's typed exact-match key
	switch kind {
	case leafString:
		return fi.evalString(st, v, out)
	case leafNumber:
		if fi.needNum && fi.numberKeyNeeded(v, num) {
			st.key = canonicalNumber(st.key[:0], v, true)
			keyed = true
			out = fi.exactT.appendIDs(out, st.key)
		}
		if fi.ranges.slots > 0 {
			if num.ok {
				out = fi.ranges.queryValue(num.x, out)
			} else {
				out = fi.ranges.queryText(v, out)
			}
		}
	default:
		if fi.exact != nil || fi.abExact != nil {
			c := byte(keyNull)
			switch kind {
			case leafTrue:
				c = keyTrue
			case leafFalse:
				c = keyFalse
			}
			st.key = append(st.key[:0], c)
			keyed = true
			out = fi.exactT.appendIDs(out, st.key)
		}
	}
	if len(fi.ab) > 0 {
		ex := st.excl[:0]
		if keyed && fi.abExact != nil {
			ex = fi.abExactT.appendIDs(ex, st.key)
		}
		out = fi.anythingBut(st, ex, out)
	}
	return out
}

func (fi *fieldIndex) evalString(st *scratch, v []byte, out []int32) []int32 {
	if fi.exactStrT != nil {
		out = fi.exactStrT.appendIDs(out, v)
	}
	if len(fi.prefix.lens) > 0 {
		out = fi.prefix.prefixes(v, out)
	}
	if len(fi.suffix.lens) > 0 {
		out = fi.suffix.suffixes(v, out)
	}
	var folded []byte
	if fi.needFold {
		folded = appendFold(st.fold[:0], v)
		st.fold = folded
		if fi.foldT != nil {
			out = fi.foldT.appendIDs(out, folded)
		}
		if len(fi.prefixFold.lens)+len(fi.suffixFold.lens) > 0 {
			out = fi.prefixFold.prefixes(folded, out)
			out = fi.suffixFold.suffixes(folded, out)
		}
	}
	if len(fi.wild.all) > 0 {
		out, st.tmp = fi.wild.query(v, st.tmp, out)
	}
	if fi.needIP {
		if a, ok := parseIPLiteral(unsafeString(v)); ok {
			out = fi.cidr.query(a, out)
		}
	}
	if len(fi.ab) == 0 {
		return out
	}
	ex := st.excl[:0]
	ex = fi.abExactStrT.appendIDs(ex, v)
	if fi.abFoldT != nil {
		ex = fi.abFoldT.appendIDs(ex, folded)
	}
	ex = fi.abPrefix.prefixes(v, ex)
	ex = fi.abSuffix.suffixes(v, ex)
	if len(fi.abWild.all) > 0 {
		ex, st.tmp = fi.abWild.query(v, st.tmp, ex)
	}
	return fi.anythingBut(st, ex, out)
}

// anythingBut appends the anything-but conditions that the exclusions ex
// (positions in fi.ab) do not rule out.
func (fi *fieldIndex) anythingBut(st *scratch, ex []int32, out []int32) []int32 {
	st.excl = ex
	if len(ex) == 0 {
		return append(out, fi.ab...)
	}
	st.abEpoch++
	if st.abEpoch == 0 {
		clear(st.abMark)
		st.abEpoch = 1
	}
	if len(st.abMark) < len(fi.ab) {
		st.abMark = make([]uint32, len(fi.ab))
	}
	for _, pos := range ex {
		st.abMark[pos] = st.abEpoch
	}
	for pos, cond := range fi.ab {
		if st.abMark[pos] != st.abEpoch {
			out = append(out, cond)
		}
	}
	return out
}
