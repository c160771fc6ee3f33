package pattern

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// Random rule sets over a small vocabulary, so that many rules share
// conditions, anchors and second conditions; every match of the shared
// matcher is checked against the reference matcher, rule by rule.

var manyStrings = []string{"x", "xy", "X", "y", "yx", "10.1.2.3", "", "é"}

func randValue(r *rand.Rand) string {
	switch r.Intn(6) {
	case 0, 1, 2:
		return fmt.Sprintf("%q", manyStrings[r.Intn(len(manyStrings))])
	case 3:
		return []string{"1", "2", "2.0", "-1", "1e0", "3.5"}[r.Intn(6)]
	case 4:
		return []string{"true", "false"}[r.Intn(2)]
	}
	return "null"
}

func randAlt(r *rand.Rand) string {
	s := func() string { return fmt.Sprintf("%q", manyStrings[r.Intn(len(manyStrings)-2)]) }
	switch r.Intn(12) {
	case 0:
		return `{"prefix":` + s() + `}`
	case 1:
		return `{"suffix":` + s() + `}`
	case 2:
		return `{"equals-ignore-case":` + s() + `}`
	case 3:
		return fmt.Sprintf(`{"numeric":[">",%d,"<=",%d]}`, r.Intn(3)-1, 2+r.Intn(2))
	case 4:
		return `{"anything-but":[` + s() + `,` + s() + `]}`
	case 5:
		return fmt.Sprintf(`{"anything-but":%d}`, r.Intn(3))
	case 6:
		return fmt.Sprintf(`{"exists":%v}`, r.Intn(2) == 0)
	case 7:
		return `{"wildcard":"*y*"}`
	case 8:
		return `{"cidr":"10.1.0.0/16"}`
	case 9:
		return `{"anything-but":{"prefix":"x"}}`
	}
	v := randValue(r)
	if v == `""` || v == `"é"` {
		v = `"x"`
	}
	return v
}

var manyFields = []string{"a", "b", "c.d", "c.e", "f"}

func randRule(r *rand.Rand) string {
	branch := func() string {
		var parts []string
		for _, f := range manyFields {
			if r.Intn(3) != 0 {
				continue
			}
			n := 1 + r.Intn(2)
			alts := make([]string, n)
			for i := range alts {
				alts[i] = randAlt(r)
			}
			leaf := "[" + strings.Join(alts, ",") + "]"
			if strings.HasPrefix(f, "c.") {
				parts = append(parts, fmt.Sprintf(`"c":{%q:%s}`, f[2:], leaf))
			} else {
				parts = append(parts, fmt.Sprintf("%q:%s", f, leaf))
			}
		}
		if len(parts) == 0 {
			parts = append(parts, `"a":[`+randAlt(r)+`]`)
		}
		// Two entries for "c" would overwrite each other; merge them.
		var c []string
		var out []string
		for _, p := range parts {
			if strings.HasPrefix(p, `"c":{`) {
				c = append(c, strings.TrimSuffix(strings.TrimPrefix(p, `"c":{`), "}"))
			} else {
				out = append(out, p)
			}
		}
		if len(c) > 0 {
			out = append(out, `"c":{`+strings.Join(c, ",")+`}`)
		}
		return "{" + strings.Join(out, ",") + "}"
	}
	if r.Intn(5) == 0 {
		return `{"$or":[` + branch() + "," + branch() + "]}"
	}
	return branch()
}

func randEvent(r *rand.Rand) string {
	var parts []string
	val := func() string {
		if r.Intn(4) == 0 {
			n := r.Intn(3)
			vs := make([]string, n)
			for i := range vs {
				vs[i] = randValue(r)
			}
			return "[" + strings.Join(vs, ",") + "]"
		}
		return randValue(r)
	}
	for _, f := range []string{"a", "b", "f"} {
		if r.Intn(4) != 0 {
			parts = append(parts, fmt.Sprintf("%q:%s", f, val()))
		}
	}
	obj := func() string {
		var p []string
		if r.Intn(3) != 0 {
			p = append(p, `"d":`+val())
		}
		if r.Intn(3) != 0 {
			p = append(p, `"e":`+val())
		}
		return "{" + strings.Join(p, ",") + "}"
	}
	switch r.Intn(3) {
	case 0:
		parts = append(parts, `"c":`+obj())
	case 1:
		parts = append(parts, `"c":[`+obj()+","+obj()+"]")
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func checkMany(t *testing.T, seed int64, nRules, nEvents int) {
	t.Helper()
	r := rand.New(rand.NewSource(seed))
	m := NewMatcher()
	compiledRules := map[string]*compiled{}
	for i := 0; i < nRules; i++ {
		id := fmt.Sprintf("r%03d", i)
		p := randRule(r)
		c, err := compilePattern([]byte(p), dialectEventBridge)
		if err != nil {
			continue // a random combination AWS rejects
		}
		if err := m.Add(id, []byte(p)); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		compiledRules[id] = c
	}
	for i := 0; i < nEvents; i++ {
		ev := randEvent(r)
		leaves, ok := refFlatten([]byte(ev))
		if !ok {
			t.Fatalf("bad generated event %s", ev)
		}
		var want []string
		for id, c := range compiledRules {
			if refMatch(c, leaves) {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		got, err := m.Match([]byte(ev))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d event %s:\n got %v\nwant %v", seed, ev, got, want)
		}
		if v := m.MatchValid([]byte(ev)); !slices.Equal(v, want) {
			t.Fatalf("seed %d event %s:\nMatchValid %v\n      want %v", seed, ev, v, want)
		}
	}
}

func TestManyRulesAgainstReference(t *testing.T) {
	seeds := int64(20)
	if testing.Short() || raceEnabled {
		seeds = 4
	}
	for seed := int64(1); seed <= seeds; seed++ {
		checkMany(t, seed, 300, 300)
	}
}

// FuzzManyRules runs checkMany on fuzzer-chosen seeds.
func FuzzManyRules(f *testing.F) {
	f.Add(int64(0), uint8(50))
	f.Fuzz(func(t *testing.T, seed int64, n uint8) {
		checkMany(t, seed, int(n)+1, 50)
	})
}

// TestIndexedChildren checks branches whose anchor has many children on one
// field (found by value, not checked one by one) against the reference,
// with repeated values, arrays and elements that must agree.
func TestIndexedChildren(t *testing.T) {
	m := NewMatcher()
	compiledRules := map[string]*compiled{}
	// Anchored on "a" (cheapest), each anchor then has four "b" children.
	for i := 0; i < 80; i++ {
		p := fmt.Sprintf(`{"a":["x%d"],"b":["v%d"],"c":{"d":["u%d"]}}`, i%10, i%8, i%3)
		if i%9 == 0 {
			p = fmt.Sprintf(`{"a":["x%d"],"b":["v%d","w"],"c":{"d":[{"prefix":"u"}]}}`, i%10, i%8)
		}
		id := fmt.Sprintf("r%02d", i)
		c, err := compilePattern([]byte(p), dialectEventBridge)
		if err != nil {
			t.Fatal(err)
		}
		compiledRules[id] = c
		if err := m.Add(id, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.current().kidIdx) == 0 {
		t.Fatal("no trie node indexes its children: the test would prove nothing")
	}
	events := []string{
		`{"a":"x1","b":"v1","c":{"d":"u1"}}`,
		`{"a":"x3","b":["v3","v3","w","v5"],"c":{"d":["u0","u1"]}}`,
		`{"a":["x2","x4"],"b":["v2","v4","v6"],"c":[{"d":"u2"},{"d":"u0"}]}`,
		`{"a":["x0","y"],"b":"w","c":{"d":"u1"}}`,
		`{"a":"x1","b":1,"c":{"d":"u1"}}`,
		`{"c":[{"a":"x3","b":"v3","d":"u0"}],"a":"x5","b":"v5"}`,
		`{"a":"x7","b":[{"z":1},"v7"],"c":[{"d":["u1"]},{"d":"u2"}]}`,
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
		slices.Sort(want)
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
}
