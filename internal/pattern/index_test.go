package pattern

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Table tests of the lookup structures behind the field indexes and the
// trie: each against a brute-force answer.

func TestStrTable(t *testing.T) {
	large := map[string][]int32{}
	for i := range 500 { // above minFilteredKeys: the Bloom filter is used
		large[fmt.Sprintf("k%04d", i)] = []int32{int32(i)}
	}
	large["k0007"] = []int32{7, 70, 700}
	cases := []struct {
		name string
		m    map[string][]int32
		hit  []string
		miss []string
	}{
		{"empty", nil, nil, []string{"", "a"}},
		{"one", map[string][]int32{"a": {1}}, []string{"a"}, []string{"", "b", "aa"}},
		{"empty key and several ids", map[string][]int32{"": {1, 2}, "x": {3}}, []string{"", "x"}, []string{"y", "xx"}},
		{"long keys", map[string][]int32{strings.Repeat("a", 40): {1}, strings.Repeat("a", 39) + "b": {2}, "é€": {3}},
			[]string{strings.Repeat("a", 40), strings.Repeat("a", 39) + "b", "é€"}, []string{strings.Repeat("a", 41), "é"}},
		{"large", large, []string{"k0000", "k0007", "k0499"}, []string{"k0500", "k", "K0001", "k00001"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tab := newStrTable(c.m)
			if (tab == nil) != (len(c.m) == 0) {
				t.Fatalf("table %v for %d keys", tab, len(c.m))
			}
			if len(c.m) >= minFilteredKeys && tab.filter.bits == nil {
				t.Fatal("no filter on a large table")
			}
			for _, k := range c.hit {
				if got := tab.appendIDs(nil, []byte(k)); !slices.Equal(got, c.m[k]) || !tab.has([]byte(k)) {
					t.Errorf("%q: %v, want %v", k, got, c.m[k])
				}
			}
			for _, k := range c.miss {
				if got := tab.appendIDs([]int32{-1}, []byte(k)); len(got) != 1 || tab.has([]byte(k)) {
					t.Errorf("%q: %v, want nothing", k, got)
				}
			}
			for k, ids := range c.m { // every key, through the filter
				if got := tab.appendIDs(nil, []byte(k)); !slices.Equal(got, ids) {
					t.Errorf("%q: %v, want %v", k, got, ids)
				}
			}
		})
	}
}

func TestPrefixSet(t *testing.T) {
	cases := []struct {
		name   string
		keys   []string
		values []string
	}{
		{"verbs", []string{"Create", "Delete", "Describe", "Get", "List", "Put", "Start", "Stop", "Update"},
			[]string{"DescribeInstances", "Delete", "Del", "StartX", "St", "Zed", "", "A", "Stop", "GetGet"}},
		{"chains", []string{"", "a", "ab", "abc", "abd", "b", "aa"},
			[]string{"", "a", "aa", "ab", "abc", "abcd", "abd", "abe", "ac", "b", "ba", "c"}},
		{"gaps in the chain", []string{"a", "aaa", "aab", "ab"}, []string{"aa", "aab", "aaab", "aac", "abz", "b"}},
		{"bytes", []string{"\x00", "\xff", "é", "e"}, []string{"\x00\x00", "\xff", "é!", "e", "\xc3"}},
	}
	for _, c := range cases {
		for _, suffix := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/suffix=%v", c.name, suffix), func(t *testing.T) {
				m := map[string][]int32{}
				for i, k := range c.keys {
					m[k] = []int32{int32(i), int32(100 + i)}
				}
				p := newPrefixSet(m, suffix)
				var rev []byte
				for _, v := range c.values {
					var want []int32
					for i, k := range c.keys {
						if (!suffix && strings.HasPrefix(v, k)) || (suffix && strings.HasSuffix(v, k)) {
							want = append(want, int32(i), int32(100+i))
						}
					}
					got := p.appendIDs([]byte(v), nil, &rev)
					slices.Sort(got)
					slices.Sort(want)
					if !slices.Equal(got, want) {
						t.Errorf("%q: %v, want %v", v, got, want)
					}
				}
			})
		}
	}
	if newPrefixSet(nil, false).appendIDs([]byte("x"), nil, nil) != nil {
		t.Error("empty set found something")
	}
}

// TestPrefixSetRandom checks random sets over a small alphabet, where keys
// are often prefixes of each other.
func TestPrefixSetRandom(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	word := func(n int) string {
		b := make([]byte, r.Intn(n+1))
		for i := range b {
			b[i] = "ab"[r.Intn(2)]
		}
		return string(b)
	}
	for round := 0; round < 300; round++ {
		m := map[string][]int32{}
		for i := 0; i < 1+r.Intn(12); i++ {
			m[word(5)] = []int32{int32(i)}
		}
		p := newPrefixSet(m, false)
		for j := 0; j < 30; j++ {
			v := word(7)
			var want []int32
			for k, ids := range m {
				if strings.HasPrefix(v, k) {
					want = append(want, ids...)
				}
			}
			got := p.appendIDs([]byte(v), nil, nil)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("keys %v value %q: %v, want %v", sortedStrings(m), v, got, want)
			}
		}
	}
}

// TestRangeIndexBuckets checks the bucket table (O(1) slots, the empty
// bucket bitmap, and the walkers' copy of it) against a scan of the ranges.
func TestRangeIndexBuckets(t *testing.T) {
	cases := []struct {
		name   string
		ranges []numRange
	}{
		{"touching", []numRange{{lo: 0, hi: 1}, {lo: 1, hi: 2, loOpen: true}, {lo: 2, hi: 3, loOpen: true, hiOpen: true}}},
		{"nested", []numRange{{lo: -10, hi: 10}, {lo: -1, hi: 1}, {lo: 0, hi: 0}, {lo: 5, hi: 6, hiOpen: true}}},
		{"open ends", []numRange{{lo: math.Inf(-1), hi: -5, loOpen: true}, {lo: 5, hi: math.Inf(1), hiOpen: true}, {lo: 0, hi: 1}}},
		{"points", []numRange{{lo: 1, hi: 1}, {lo: 2, hi: 2}, {lo: 1e-300, hi: 1e-300}, {lo: math.Copysign(0, -1), hi: 0}}},
		{"tiny span", []numRange{{lo: 1, hi: math.Nextafter(1, 2)}, {lo: math.Nextafter(1, 2), hi: math.Nextafter(math.Nextafter(1, 2), 2)}}},
	}
	r := rand.New(rand.NewSource(11))
	var narrow []numRange // like the benchmark's coordinates
	for i := 0; i < 1667; i++ {
		lo := 37.70 + r.Float64()*0.11
		narrow = append(narrow, numRange{lo: lo, hi: lo + 0.00001, loOpen: true, hiOpen: true})
	}
	cases = append(cases, struct {
		name   string
		ranges []numRange
	}{"narrow", narrow})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ri rangeIndex
			for i, rg := range c.ranges {
				ri.add(rg, int32(i))
			}
			ri.build()
			n := &pathNode{}
			if ri.none != nil {
				n.rngLo, n.rngHi = ri.points[0], ri.points[len(ri.points)-1]
				n.rngMul, n.rngLast, n.rngNone = ri.scale, len(ri.bucket)-1, ri.none
			}
			var xs []float64
			for _, p := range ri.points {
				xs = append(xs, p, math.Nextafter(p, math.Inf(1)), math.Nextafter(p, math.Inf(-1)))
			}
			for i := 0; i < 20000; i++ {
				p := ri.points[r.Intn(len(ri.points))]
				xs = append(xs, p+(r.Float64()-0.5)*math.Max(1e-4, math.Abs(p)*1e-3))
			}
			xs = append(xs, math.Inf(1), math.Inf(-1), 6e9, -6e9, 0)
			for _, x := range xs {
				var want []int32
				for i, rg := range c.ranges {
					if rg.contains(x) && x >= -fiveBillion && x <= fiveBillion {
						want = append(want, int32(i))
					}
				}
				got := ri.queryValue(x, nil)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("x=%v: %v, want %v", x, got, want)
				}
				if n.rangeNone(x) && len(want) > 0 {
					t.Fatalf("x=%v: the bitmap rules out %v", x, want)
				}
			}
		})
	}
}

// TestDescendHashed checks member-name lookups through the children
// tables (nameSlot) against the children maps, dotted keys included.
func TestDescendHashed(t *testing.T) {
	cases := [][]string{
		{"a", "b", "c"},
		{"source", "detail-type", "detail", "account", "region", "time", "id", "resources"},
		{"MAPBLKLOT", "BLKLOT", "BLOCK_NUM", "LOT_NUM", "FROM_ST", "TO_ST", "STREET", "ST_TYPE", "ODD_EVEN"},
		{"ab", "axb", "ayb", "azb", "a", "b"},
		{"aaaaaaaa1bbbbbbbb", "aaaaaaaa2bbbbbbbb", "aaaaaaaa3bbbbbbbb"}, // alike in the hashed bytes
		{"", "x", "y", "z"}, // an empty name: no table
	}
	for i := 0; i < 60; i++ {
		cases = append(cases, nil)
		for j := 0; j <= i; j++ {
			cases[len(cases)-1] = append(cases[len(cases)-1], fmt.Sprintf("f%d_%d", j, j*j))
		}
	}
	for ci, names := range cases {
		root := &pathNode{field: -1, children: map[string]*pathNode{}}
		for _, name := range names {
			c := &pathNode{field: -1, children: map[string]*pathNode{"in": {field: 1}}}
			root.children[name] = c
		}
		root.seal([]*fieldIndex{{}, {}})
		if len(names) >= hashedChildren && len(names) <= maxHashedChildren && names[0] != "" && root.hashTab == nil &&
			ci != 4 {
			t.Errorf("case %d: no table for %d names", ci, len(names))
		}
		probes := append([]string{"", ".", "nope", "a.", ".a", "in"}, names...)
		for _, name := range names {
			probes = append(probes, name+".in", name+".out", name+"x", name+".")
		}
		for _, k := range probes {
			want := root.children[k]
			if head, rest, ok := strings.Cut(k, "."); ok && root.children[head] != nil {
				want = root.children[head].children[rest]
			}
			if got := root.descend([]byte(k)); got != want {
				t.Errorf("case %d: descend(%q) = %p, want %p", ci, k, got, want)
			}
		}
	}
}

// TestFastChecks checks verified conditions that take the packed fast
// path (exact strings, anything-but strings, equals-ignore-case) against
// the reference, with non-string values, arrays and several values.
func TestFastChecks(t *testing.T) {
	m := NewMatcher()
	rules := map[string]string{
		"in":     `{"a":["k"],"b":["x","yy",""]}`,
		"notin":  `{"a":["k"],"b":[{"anything-but":["x","yy"]}]}`,
		"fold":   `{"a":["k"],"b":[{"equals-ignore-case":"ÄbC"},{"equals-ignore-case":"z"}]}`,
		"mixed":  `{"a":["k"],"b":["x",{"equals-ignore-case":"x"}]}`,
		"notone": `{"a":["k"],"b":[{"anything-but":"x"}]}`,
	}
	compiledRules := map[string]*compiled{}
	for id, p := range rules {
		c, err := compilePattern([]byte(p), dialectEventBridge)
		if err != nil {
			t.Fatal(err)
		}
		compiledRules[id] = c
		if err := m.Add(id, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	sn := m.current()
	fast := 0
	for _, c := range sn.ucCheck {
		if c != 0 {
			fast++
		}
	}
	if fast < 4 {
		t.Fatalf("%d conditions take the fast path: the test would prove little", fast)
	}
	events := []string{
		`{"a":"k","b":"x"}`, `{"a":"k","b":"yy"}`, `{"a":"k","b":""}`, `{"a":"k","b":"z"}`, `{"a":"k","b":"Z"}`,
		`{"a":"k","b":"äBc"}`, `{"a":"k","b":"X"}`, `{"a":"k","b":1}`, `{"a":"k","b":null}`, `{"a":"k","b":true}`,
		`{"a":"k","b":["x","yy"]}`, `{"a":"k","b":["x",2]}`, `{"a":"k","b":[]}`, `{"a":"k"}`, `{"a":"k","b":{"c":"x"}}`,
		`{"a":"k","b":"x\u0000"}`, `{"a":["k","j"],"b":["q","x"]}`,
	}
	for _, ev := range events {
		leaves, ok := refFlatten([]byte(ev))
		if !ok {
			t.Fatal(ev)
		}
		var want []string
		for id, c := range compiledRules {
			if refMatch(c, leaves) {
				want = append(want, id)
			}
		}
		sort.Strings(want)
		got, err := m.Match([]byte(ev))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("event %s: %v, want %v", ev, got, want)
		}
	}
}

// TestIndexedPrefixChildren checks trie nodes whose children have prefix
// and suffix conditions on one field (found with one search per value)
// against the reference.
func TestIndexedPrefixChildren(t *testing.T) {
	// Anchored on "s" (an exact value shared by fewer rules than any "n"
	// condition), each anchor then has four children with prefixes or
	// suffixes of "n".
	ns := []string{`{"prefix":"Get"}`, `{"prefix":"De"}`, `{"suffix":"Stop"},"Get1"`, `{"prefix":"Sta"},{"prefix":""}`}
	m := NewMatcher()
	compiledRules := map[string]*compiled{}
	for i := 0; i < 64; i++ {
		p := fmt.Sprintf(`{"s":["svc%d"],"n":[%s]}`, (i/4)%4, ns[i%4])
		if i >= 32 {
			p = fmt.Sprintf(`{"s":["svc%d"],"n":[%s],"ro":[%v]}`, (i/4)%4, ns[i%4], i%3 == 0)
		}
		id := fmt.Sprintf("r%02d", i)
		c, err := compilePattern([]byte(p), dialectEventBridge)
		if err != nil {
			t.Fatal(p, err)
		}
		compiledRules[id] = c
		if err := m.Add(id, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	prefixed := 0
	for _, ki := range m.current().kidIdx {
		if ki.byPrefix != nil || ki.bySuffix != nil {
			prefixed++
		}
	}
	if prefixed == 0 {
		t.Fatal("no node indexes its children by prefix: the test would prove nothing")
	}
	events := []string{
		`{"s":"svc0","n":"DescribeThings","ro":false}`,
		`{"s":"svc1","n":["GetA","StartB"],"ro":true}`,
		`{"s":"svc2","n":"Get2","ro":true}`,
		`{"s":["svc0","svc1"],"n":["Stop","xDe"],"ro":[true,false]}`,
		`{"s":"svc0","n":"","ro":false}`,
		`{"s":"svc1","n":7,"ro":false}`,
		`{"s":"svc2","n":"xGet","ro":false}`,
		`{"s":"svc2","n":[{"x":"Get"},"DeStop"]}`,
	}
	matched := 0
	for _, ev := range events {
		leaves, ok := refFlatten([]byte(ev))
		if !ok {
			t.Fatal(ev)
		}
		var want []string
		for id, c := range compiledRules {
			if refMatch(c, leaves) {
				want = append(want, id)
			}
		}
		sort.Strings(want)
		got, err := m.Match([]byte(ev))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("event %s:\n got %v\nwant %v", ev, got, want)
		}
		if v := m.MatchValid([]byte(ev)); !slices.Equal(v, want) {
			t.Errorf("event %s: MatchValid %v, want %v", ev, v, want)
		}
		matched += len(want)
	}
	if matched == 0 {
		t.Fatal("nothing matched")
	}
	if !raceEnabled { // sync.Pool drops items under the race detector
		ev := []byte(events[3])
		dst := make([]string, 0, 64)
		if allocs := testing.AllocsPerRun(100, func() { dst, _ = m.MatchInto(dst[:0], ev) }); allocs > 0 {
			t.Errorf("MatchInto allocates %.1f times per call", allocs)
		}
	}
}

// TestEpochWrap checks that results stay right when the per-match epoch
// wraps (the condition states keep it shifted by one bit).
func TestEpochWrap(t *testing.T) {
	m := matcherOf(t, map[string]string{
		"a": `{"x":["1"],"y":[{"prefix":"p"}]}`,
		"b": `{"y":[{"anything-but":"q"}],"z":[{"exists":false}]}`,
	})
	sn := m.current()
	st := &scratch{}
	st.reset(sn)
	events := []string{`{"x":"1","y":"pp"}`, `{"y":"q"}`, `{"x":"1","y":"r","z":0}`, `{"y":"r"}`}
	want := make([][]string, len(events))
	for i, ev := range events {
		var err error
		if want[i], err = sn.match(st, nil, []byte(ev)); err != nil {
			t.Fatal(err)
		}
	}
	st.epoch = 1<<31 - 3
	for round := 0; round < 3; round++ {
		for i, ev := range events {
			got, err := sn.match(st, nil, []byte(ev))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want[i]) {
				t.Fatalf("epoch %d event %s: %v, want %v", st.epoch, ev, got, want[i])
			}
		}
	}
	if st.epoch >= 1<<31 || st.epoch < 1 {
		t.Fatalf("epoch %d did not wrap", st.epoch)
	}
}
