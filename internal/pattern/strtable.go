package pattern

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
)

// strTable maps strings to lists of ids (conditions, positions or trie
// nodes). It is built once from a map and only read afterwards, and it is
// laid out for lookups that mostly miss or hit with one id: open
// addressing over 16-byte slots that hold a hash tag, so a miss reads one
// slot (or, for a large table, one word of its Bloom filter); a key is
// stored with its length in one array, and a single id in its slot, so a
// hit reads the slot and the key.
type strTable struct {
	slots  []strSlot
	keys   []byte  // per key: length (uvarint), then its bytes
	ids    []int32 // id lists of the keys with several ids
	seed   uint64
	shift  uint8 // slot of hash h: h >> shift
	filter keyFilter
}

// strSlot is one slot of a strTable: tag 0 is empty. When n is 1, list is
// the id itself, else the offset of the list in strTable.ids.
type strSlot struct {
	tag  uint32
	key  uint32 // offset in strTable.keys
	n    uint32
	list uint32
}

// newStrTable builds the table of m (nil when m is empty).
func newStrTable(m map[string][]int32) *strTable {
	if len(m) == 0 {
		return nil
	}
	t := &strTable{seed: rand.Uint64()}
	size, shift := 4, uint8(62)
	for size < 2*len(m) {
		size, shift = size*2, shift-1
	}
	t.slots, t.shift = make([]strSlot, size), shift
	for _, k := range sortedStrings(m) {
		ids := m[k]
		h := strHash(unsafeBytes(k), t.seed)
		s := strSlot{tag: tagOf(h), key: uint32(len(t.keys)), n: uint32(len(ids))}
		t.keys = binary.AppendUvarint(t.keys, uint64(len(k)))
		t.keys = append(t.keys, k...)
		if len(ids) == 1 {
			s.list = uint32(ids[0])
		} else {
			s.list = uint32(len(t.ids))
			t.ids = append(t.ids, ids...)
		}
		i := h >> t.shift
		for t.slots[i].tag != 0 {
			i = (i + 1) & uint64(size-1)
		}
		t.slots[i] = s
	}
	t.filter = newKeyFilter(m, t.seed)
	return t
}

// tagOf is the slot tag of hash h: never 0.
func tagOf(h uint64) uint32 { return uint32(h) | 1 }

// appendIDs appends the ids of key v to out.
func (t *strTable) appendIDs(out []int32, v []byte) []int32 {
	s := t.find(v)
	switch {
	case s == nil:
		return out
	case s.n == 1:
		return append(out, int32(s.list))
	}
	return append(out, t.ids[s.list:s.list+s.n]...)
}

// has reports whether v is a key.
func (t *strTable) has(v []byte) bool { return t.find(v) != nil }

// find returns the slot of key v, nil when v is not a key.
func (t *strTable) find(v []byte) *strSlot {
	if t == nil {
		return nil
	}
	h := strHash(v, t.seed)
	if !t.filter.mayHave(h) {
		return nil
	}
	tag, mask := tagOf(h), uint64(len(t.slots)-1)
	for i := h >> t.shift; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.tag == 0 {
			return nil
		}
		if s.tag == tag && t.keyIs(s.key, v) {
			return s
		}
	}
}

// keyIs reports whether the key stored at off is v.
func (t *strTable) keyIs(off uint32, v []byte) bool {
	n, k := binary.Uvarint(t.keys[off:])
	start := int(off) + k
	return n == uint64(len(v)) && unsafeString(t.keys[start:start+len(v)]) == unsafeString(v)
}

// keyFilter is a Bloom filter over the keys of a large table: two bits per
// key, both in one word. A value whose bits are not both set is not a key,
// so most misses cost a hash and one word of a bitmap that stays in cache.
type keyFilter struct {
	bits  []uint64
	shift uint8
}

// minFilteredKeys is the fewest keys worth a filter; filterBitsPerKey sizes
// it (about 1.5% false positives).
const (
	minFilteredKeys  = 64
	filterBitsPerKey = 16
)

func newKeyFilter(m map[string][]int32, seed uint64) keyFilter {
	if len(m) < minFilteredKeys {
		return keyFilter{}
	}
	words, shift := 1, uint8(64)
	for words*64 < filterBitsPerKey*len(m) {
		words, shift = words*2, shift-1
	}
	f := keyFilter{bits: make([]uint64, words), shift: shift}
	for k := range m {
		h := strHash(unsafeBytes(k), seed)
		f.bits[h>>f.shift%uint64(words)] |= filterMask(h)
	}
	return f
}

// filterMask picks the two bits of hash h (its low 12 bits; the word comes
// from the high bits).
func filterMask(h uint64) uint64 { return 1<<(h&63) | 1<<(h>>6&63) }

// mayHave reports whether a key may have hash h (always, without a filter).
func (f *keyFilter) mayHave(h uint64) bool {
	if f.bits == nil {
		return true
	}
	m := filterMask(h)
	return f.bits[h>>f.shift%uint64(len(f.bits))]&m == m
}

// strHash is a fast seeded hash of a byte string, for strTable.
func strHash(b []byte, seed uint64) uint64 {
	const k0, k1, k2 = 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
	n := len(b)
	var a, c uint64
	switch {
	case n >= 8:
		a, c = load64(b, 0), load64(b, n-8)
		for i := 8; i < n-8; i += 8 {
			a = (a^load64(b, i))*k0 + c
			a ^= a >> 31
		}
	case n >= 4:
		a, c = uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[n-4:]))
	case n > 0:
		a = uint64(b[0]) | uint64(b[n/2])<<8 | uint64(b[n-1])<<16
	}
	h := (a^seed^k1)*k0 ^ (c+uint64(n))*k2
	h ^= h >> 29
	h *= k1
	return h ^ h>>32
}

// sortedStrings returns the keys of m in order.
func sortedStrings(m map[string][]int32) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
