package pattern

import (
	"bytes"
	"slices"
)

// prefixSet finds which of a set of strings are prefixes (or, reversed,
// suffixes) of a value with one binary search over the sorted set and a
// walk up a chain, reading one compact array: it indexes the children of
// a trie node by prefix.
//
// Why the walk finds them all: let f be the greatest key <= v. Every key q
// that is a prefix of v satisfies q <= f <= v, so f starts with q: the keys
// that are prefixes of v are the longest of them and the keys it starts
// with, all on f's chain of keys it starts with (up).
type prefixSet struct {
	data    []byte   // keys, sorted (reversed for suffixes) and packed
	off     []uint32 // key i is data[off[i]:off[i+1]]
	up      []int32  // the longest other key that key i starts with, or -1
	idStart []uint32 // ids of key i: ids[idStart[i]:idStart[i+1]]
	ids     []int32
	suffix  bool
}

// newPrefixSet builds the set of m's keys (suffixes when suffix is set).
func newPrefixSet(m map[string][]int32, suffix bool) *prefixSet {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	stored := map[string]string{} // stored form → key
	for k := range m {
		sk := k
		if suffix {
			sk = reverseString(k)
		}
		keys = append(keys, sk)
		stored[sk] = k
	}
	slices.Sort(keys)
	p := &prefixSet{suffix: suffix}
	for i, k := range keys {
		p.off = append(p.off, uint32(len(p.data)))
		p.data = append(p.data, k...)
		p.idStart = append(p.idStart, uint32(len(p.ids)))
		p.ids = append(p.ids, m[stored[k]]...)
		// The keys that k starts with come before it: the nearest one
		// found by climbing from the previous key is the longest.
		up := int32(i - 1)
		for up >= 0 && !hasPrefixString(k, keys[up]) {
			up = p.up[up]
		}
		p.up = append(p.up, up)
	}
	p.off = append(p.off, uint32(len(p.data)))
	p.idStart = append(p.idStart, uint32(len(p.ids)))
	return p
}

func hasPrefixString(s, prefix string) bool {
	return len(s) >= len(prefix) && s[:len(prefix)] == prefix
}

func reverseString(s string) string {
	b := []byte(s)
	slices.Reverse(b)
	return string(b)
}

func (p *prefixSet) key(i int) []byte { return p.data[p.off[i]:p.off[i+1]] }

// appendIDs appends the ids of the keys that are prefixes (suffixes) of v.
// rev is scratch space for reversing v.
func (p *prefixSet) appendIDs(v []byte, out []int32, rev *[]byte) []int32 {
	if p == nil {
		return out
	}
	if p.suffix {
		*rev = append((*rev)[:0], v...)
		slices.Reverse(*rev)
		v = *rev
	}
	// f: the greatest key <= v.
	lo, hi := 0, len(p.up)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(p.key(m), v) <= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	i := int32(lo - 1)
	for i >= 0 && !bytes.HasPrefix(v, p.key(int(i))) {
		i = p.up[i]
	}
	for ; i >= 0; i = p.up[i] {
		out = append(out, p.ids[p.idStart[i]:p.idStart[i+1]]...)
	}
	return out
}
