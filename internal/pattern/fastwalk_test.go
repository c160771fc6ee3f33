package pattern

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestSkipHelpers(t *testing.T) {
	// Valid values: the end is where encoding/json stops decoding.
	for _, in := range []string{
		`{}`, `[]`, `"abc"`, `-12.5e+7`, `true`, `null`,
		`{"a":[1,2,{"b":"]}"}],"c":"\\"} tail`,
		`[[[ -122.36257858693, 37.77, 0.0 ], [ 1, 2, 3 ]]], "x"`,
		`["\\\\", "\\\"]", "YyZz_\u007f{}[", {"[":"{"}]  `,
		`"abcdefghijklmnopqrstuvwxyz\"0123456789"x`,
		`{"0123456789":{"0123456789":"0123456789\\"},"x":[[],{}]},1`,
	} {
		dec := json.NewDecoder(strings.NewReader(in))
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got, want := skipValue([]byte(in), 0), int(dec.InputOffset()); got != want {
			t.Errorf("skipValue(%s) = %d, want %d", in, got, want)
		}
	}
	// Invalid values stop at the end of the data, or after one byte.
	for _, c := range []struct {
		in   string
		want int
	}{
		{`{"a":"b"`, 8},
		{`"abc\`, 5},
		{`[1, "unterm`, 11},
		{`]`, 1},
		{`{"a":[}}`, 8},
	} {
		if got := skipValue([]byte(c.in), 0); got != c.want {
			t.Errorf("skipValue(%s) = %d, want %d", c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		in  string
		end int
		esc bool
	}{
		{`"abc"`, 4, false},
		{`"a\"c"`, 5, true},
		{`"0123456789abcdef\\"`, 19, true},
		{`"0123456789abcdef`, 17, false},
	} {
		if end, esc := stringEnd([]byte(c.in), 0); end != c.end || esc != c.esc {
			t.Errorf("stringEnd(%q) = %d, %v, want %d, %v", c.in, end, esc, c.end, c.esc)
		}
	}
}

// validSamples are valid events covering escapes, dotted names, arrays of
// objects and nesting, for the tests that damage them.
func validSamples() [][]byte {
	out := [][]byte{
		[]byte(`{"a":[{"b":"x\"]}\\"},{"c":[1,{"d":"y"}]}],"e.f":"\u0041","o":{"p":1e3,"q":"10.0.0.1"}}`),
		[]byte(` { "detail" : { "x" : [ [ { "y" : "\"}" } ] ] , "n": [-1.5, 0, 2e-3] } , "s" : "abc" } `),
	}
	for _, s := range fuzzSeeds {
		out = append(out, []byte(s[1]))
	}
	return append(out, cloudTrailEvents(3)...)
}

// validSampleRules name the fields of validSamples.
var validSampleRules = []string{
	`{"a":{"b":[{"prefix":"x"}]},"e":{"f":["A"]}}`,
	`{"o":{"p":[{"numeric":[">",10]}],"q":[{"cidr":"10.0.0.0/8"}]}}`,
	`{"a":{"c":[1],"d":["y"]}}`,
	`{"detail":{"x":{"y":[{"exists":true}]},"n":[{"numeric":["<",0]}]},"s":[{"suffix":"c"}]}`,
	`{"source":[{"prefix":"aws."}],"detail":{"userIdentity":{"type":[{"anything-but":"Root"}]}}}`,
	`{"detail":{"requestParameters":{"tags":{"key":["env"]}}}}`,
}

// TestMatchValidDamaged truncates and corrupts valid events at every byte:
// MatchValid must never panic, and must agree with Match whenever Match
// accepts the damaged event.
func TestMatchValidDamaged(t *testing.T) {
	m := NewMatcher()
	for i, s := range fuzzSeeds {
		if err := m.Add(fmt.Sprint("s", i), []byte(s[0])); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range validSampleRules {
		if err := m.Add(fmt.Sprint("v", i), []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	matched, accepted := 0, 0
	check := func(ev []byte) {
		got := m.MatchValid(ev)
		want, err := m.Match(ev)
		if err != nil {
			return
		}
		accepted++
		if !slices.Equal(got, want) {
			t.Fatalf("event %q: MatchValid %v, Match %v", ev, got, want)
		}
	}
	repl := []byte{'"', '\\', '[', ']', '{', '}', ',', ':', ' ', '0', 'e', '.', 0, 0xff}
	for _, ev := range validSamples() {
		want, err := m.Match(ev)
		if err != nil {
			t.Fatalf("sample %s: %v", ev, err)
		}
		matched += len(want)
		for n := range ev {
			check(ev[:n])
		}
		buf := make([]byte, len(ev))
		for i := range ev {
			for _, c := range repl {
				copy(buf, ev)
				buf[i] = c
				check(buf)
			}
			// Remove one byte.
			check(append(append(buf[:0], ev[:i]...), ev[i+1:]...))
		}
	}
	if matched == 0 || accepted == 0 {
		t.Fatalf("samples matched %d rules, %d damaged events accepted: the check proves nothing", matched, accepted)
	}
}

// TestMatchValidCorpora compares MatchValid with Match on the benchmark
// corpora and mixed rule sets.
func TestMatchValidCorpora(t *testing.T) {
	type corpus struct {
		name   string
		events [][]byte
		rules  map[string]string
	}
	n := 2000
	if testing.Short() || raceEnabled {
		n = 200
	}
	cs := []corpus{{"cloudtrail", cloudTrailEvents(n), cloudTrailRules(500)}}
	if path, _ := citylotsPath(); path != "" {
		cs = append(cs, corpus{"citylots", citylotsHead(t, path, n), cityRulesN(500)},
			corpus{"citylots-4", citylotsHead(t, path, n), cityRules4})
	}
	for _, c := range cs {
		m := matcherOf(t, c.rules)
		total := 0
		for _, ev := range c.events {
			want, err := m.Match(ev)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.MatchValid(ev); !slices.Equal(got, want) {
				t.Fatalf("%s event %s: MatchValid %v, Match %v", c.name, ev, got, want)
			}
			total += len(want)
		}
		if total == 0 {
			t.Errorf("%s: nothing matched, the comparison proves nothing", c.name)
		}
	}
}

// naiveSkip is skipContainer written plainly, one byte at a time.
func naiveSkip(d []byte, i int) int {
	depth, str, esc := 0, false, false
	for ; i < len(d); i++ {
		c := d[i]
		switch {
		case str && esc:
			esc = false
		case str && c == '\\':
			esc = true
		case str && c == '"':
			str = false
		case str:
		case c == '"':
			str = true
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
			if depth <= 0 {
				return i + 1
			}
		}
	}
	return len(d)
}

func TestSkipContainerWords(t *testing.T) {
	// Escapes, quotes and brackets at every offset within and across words.
	inputs := []string{
		`{"a\\\"}":["\\",{"b":"c\"\"]"}],"x":1} `,
		`[[[[1,2,3],[4]],"]]]]]]]]]]]]]]]]\\\\"]]`,
		`{"0123456":"]","0123456789abcdef\\\\\\\"[{":[{"":""}]}`,
		`{"Y_y` + "\x7f" + `":["YYYYYYYY","________"],"yyyyyyyy":{"z":"}}}}}}}}\\"}}}}"}}`,
	}
	for _, in := range inputs {
		for pad := 0; pad < 8; pad++ {
			d := []byte(strings.Repeat(" ", pad) + in)
			for k := range d {
				if got, want := skipContainer(d, k), naiveSkip(d, k); got != want {
					t.Fatalf("skipContainer(%q, %d) = %d, want %d", d, k, got, want)
				}
				if got, want := skipContainer(d[:k], 0), naiveSkip(d[:k], 0); got != want {
					t.Fatalf("skipContainer(%q, 0) = %d, want %d", d[:k], got, want)
				}
			}
		}
	}
}

// FuzzSkipContainer checks the word-at-a-time skip against the byte loop on
// arbitrary bytes.
func FuzzSkipContainer(f *testing.F) {
	f.Add([]byte(`{"a":["]",{"b":"\\\"}"}]}`))
	f.Add([]byte(`[[1.5,-2e3],[{"x":"\u0041"}],"[[[["]`))
	f.Fuzz(func(t *testing.T, d []byte) {
		for k := 0; k < len(d) && k < 16; k++ {
			if got, want := skipContainer(d, k), naiveSkip(d, k); got != want {
				t.Fatalf("skipContainer(%q, %d) = %d, want %d", d, k, got, want)
			}
		}
	})
}
