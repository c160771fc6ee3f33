package pattern

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestOperators(t *testing.T) {
	cases := []struct {
		name, pat, event string
		want             bool
	}{
		// exact values and arrays (AWS docs: eb-event-patterns-arrays)
		{"exact string", `{"a":["x"]}`, `{"a":"x"}`, true},
		{"exact other", `{"a":["x"]}`, `{"a":"y"}`, false},
		{"string is not number", `{"a":["1"]}`, `{"a":1}`, false},
		{"number is not string", `{"a":[1]}`, `{"a":"1"}`, false},
		{"number notations", `{"a":[300]}`, `{"a":3e2}`, true},
		{"number trailing zeros", `{"a":[1.50]}`, `{"a":1.5}`, true},
		{"negative zero", `{"a":[0]}`, `{"a":-0.0}`, true},
		{"huge number exact", `{"a":[123456789012345678901234567890]}`, `{"a":123456789012345678901234567890}`, true},
		{"huge number differs", `{"a":[123456789012345678901234567890]}`, `{"a":123456789012345678901234567891}`, false},
		{"null", `{"a":[null]}`, `{"a":null}`, true},
		{"null vs missing", `{"a":[null]}`, `{}`, false},
		{"empty string", `{"a":[""]}`, `{"a":""}`, true},
		{"booleans", `{"a":[true]}`, `{"a":false}`, false},
		{"event array any", `{"a":["x"]}`, `{"a":["y","x"]}`, true},
		{"nested arrays flatten", `{"a":["x"]}`, `{"a":[["y",["x"]]]}`, true},
		{"array of objects", `{"a":{"b":["x"]}}`, `{"a":[{"b":"y"},{"b":"x"}]}`, true},
		{"same element required", `{"a":{"b":["1"],"c":["2"]}}`, `{"a":[{"b":"1","c":"9"},{"b":"9","c":"2"}]}`, false},
		{"same element ok", `{"a":{"b":["1"],"c":["2"]}}`, `{"a":[{"b":"1","c":"9"},{"b":"1","c":"2"}]}`, true},
		{"unicode escape", `{"a":["é🚀"]}`, `{"a":"\u00e9\ud83d\ude80"}`, true},
		{"escaped key", `{"a\"b":["x"]}`, `{"a\u0022b":"x"}`, true},
		{"dotted event key", `{"a":{"b":["x"]}}`, `{"a.b":"x"}`, true},
		{"duplicate event keys", `{"a":["2"]}`, `{"a":"1","a":"2"}`, true},
		{"deep nesting", `{"a":{"b":{"c":{"d":{"e":{"f":["x"]}}}}}}`, `{"a":{"b":{"c":{"d":{"e":{"f":"x"}}}}}}`, true},
		{"fields and", `{"a":["1"],"b":["2"]}`, `{"a":"1"}`, false},
		// prefix / suffix (content filtering docs)
		{"prefix", `{"t":[{"prefix":"2017-10-02"}]}`, `{"t":"2017-10-02T18:43:48Z"}`, true},
		{"prefix not number", `{"t":[{"prefix":"1"}]}`, `{"t":12}`, false},
		{"prefix ignore case", `{"s":[{"prefix":{"equals-ignore-case":"EventB"}}]}`, `{"s":"eventbridge"}`, true},
		{"suffix", `{"f":[{"suffix":".png"}]}`, `{"f":"image.png"}`, true},
		{"suffix case", `{"f":[{"suffix":".png"}]}`, `{"f":"image.PNG"}`, false},
		{"suffix ignore case", `{"f":[{"suffix":{"equals-ignore-case":".png"}}]}`, `{"f":"image.PNG"}`, true},
		{"equals ignore case", `{"n":[{"equals-ignore-case":"alice"}]}`, `{"n":"ALICE"}`, true},
		{"equals ignore case unicode", `{"n":[{"equals-ignore-case":"ÄRGER"}]}`, `{"n":"ärger"}`, true},
		// wildcard
		{"wildcard", `{"f":[{"wildcard":"dir/*.png"}]}`, `{"f":"dir/a/b.png"}`, true},
		{"wildcard escaped star", `{"f":[{"wildcard":"a\\*b"}]}`, `{"f":"a*b"}`, true},
		{"wildcard escaped star literal", `{"f":[{"wildcard":"a\\*b"}]}`, `{"f":"axb"}`, false},
		{"wildcard many", `{"f":[{"wildcard":"*a*b*"}]}`, `{"f":"xxaxxbxx"}`, true},
		{"wildcard overlap", `{"f":[{"wildcard":"ab*ba"}]}`, `{"f":"aba"}`, false},
		// anything-but
		{"anything-but string", `{"s":[{"anything-but":"x"}]}`, `{"s":"y"}`, true},
		{"anything-but missing", `{"s":[{"anything-but":"x"}]}`, `{}`, false},
		{"anything-but null", `{"s":[{"anything-but":"x"}]}`, `{"s":null}`, true},
		{"anything-but number list", `{"s":[{"anything-but":[1,2]}]}`, `{"s":2.0}`, false},
		{"anything-but number vs string", `{"s":[{"anything-but":[1]}]}`, `{"s":"1"}`, true},
		{"anything-but prefix", `{"s":[{"anything-but":{"prefix":"us-"}}]}`, `{"s":"eu-west-1"}`, true},
		{"anything-but prefix excluded", `{"s":[{"anything-but":{"prefix":"us-"}}]}`, `{"s":"us-east-1"}`, false},
		{"anything-but suffix", `{"s":[{"anything-but":{"suffix":".png"}}]}`, `{"s":"a.png"}`, false},
		{"anything-but ignore case", `{"s":[{"anything-but":{"equals-ignore-case":["A","B"]}}]}`, `{"s":"b"}`, false},
		{"anything-but wildcard", `{"s":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"s":"/usr/bin/x"}`, true},
		{"anything-but array any", `{"s":[{"anything-but":"x"}]}`, `{"s":["x","y"]}`, true},
		// numeric
		{"numeric range", `{"n":[{"numeric":[">",0,"<=",5]}]}`, `{"n":5}`, true},
		{"numeric open", `{"n":[{"numeric":[">",0,"<",5]}]}`, `{"n":5}`, false},
		{"numeric eq", `{"n":[{"numeric":["=",3.018e2]}]}`, `{"n":301.8}`, true},
		{"numeric string", `{"n":[{"numeric":[">",0]}]}`, `{"n":"5"}`, false},
		{"numeric out of range", `{"n":[{"numeric":[">",0]}]}`, `{"n":6e9}`, false},
		{"numeric negative", `{"n":[{"numeric":["<",-1.5]}]}`, `{"n":-2}`, true},
		// cidr and IP literals
		{"cidr v4", `{"ip":[{"cidr":"10.0.0.0/24"}]}`, `{"ip":"10.0.0.255"}`, true},
		{"cidr v4 out", `{"ip":[{"cidr":"10.0.0.0/24"}]}`, `{"ip":"10.0.1.0"}`, false},
		{"cidr v6", `{"ip":[{"cidr":"2001:db8::/32"}]}`, `{"ip":"2001:0db8:ffff::1"}`, true},
		{"ip literal", `{"ip":["2001:db8::1"]}`, `{"ip":"2001:0db8:0:0:0:0:0:1"}`, true},
		// exists
		{"exists true", `{"a":[{"exists":true}]}`, `{"a":null}`, true},
		{"exists true object", `{"a":[{"exists":true}]}`, `{"a":{"b":1}}`, false},
		{"exists true empty array", `{"a":[{"exists":true}]}`, `{"a":[]}`, false},
		{"exists false", `{"a":[{"exists":false}]}`, `{"b":1}`, true},
		{"exists false present", `{"a":[{"exists":false}]}`, `{"a":1}`, false},
		{"exists false or value", `{"a":[{"exists":false},"x"]}`, `{"a":"x"}`, true},
		// $or
		{"or", `{"$or":[{"a":["1"]},{"b":["2"]}]}`, `{"b":"2"}`, true},
		{"or nested", `{"x":["1"],"$or":[{"a":["1"]},{"$or":[{"b":["2"]},{"c":["3"]}]}]}`, `{"x":"1","c":"3"}`, true},
		{"or none", `{"$or":[{"a":["1"]},{"b":["2"]}]}`, `{"c":"3"}`, false},
		{"duplicate pattern key last wins", `{"a":[{"prefix":"us-"}],"a":[{"anything-but":"us-east"}]}`, `{"a":"eu-central-1"}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Test([]byte(c.pat), []byte(c.event))
			if err != nil {
				t.Fatalf("Test: %v", err)
			}
			if got != c.want {
				t.Errorf("Test(%s, %s) = %v, want %v", c.pat, c.event, got, c.want)
			}
			leaves, ok := refFlatten([]byte(c.event))
			cp, cerr := compilePattern([]byte(c.pat), dialectEventBridge)
			if !ok || cerr != nil {
				t.Fatalf("reference: %v %v", ok, cerr)
			}
			if ref := refMatch(cp, leaves); ref != c.want {
				t.Errorf("reference matcher says %v", ref)
			}
		})
	}
}

func TestValidationMessages(t *testing.T) {
	cases := []struct{ pat, msg string }{
		{`{"a":[]}`, `Empty arrays are not allowed`},
		{`{}`, `Empty objects are not allowed`},
		{`{"a":{}}`, `Empty objects are not allowed`},
		{`{"a":"x"}`, `"a" must be an object or an array`},
		{`{"a":[["x"]]}`, `Match value must be String, number, true, false, or null`},
		{`{"a":[{"foo":1}]}`, `Unrecognized match type foo`},
		{`{"a":[{"prefix":"x","suffix":"y"}]}`, `Only one key allowed in match expression`},
		{`{"a":[{"numeric":[">",5e9,"<",6e9]}]}`, `Value must be between -5.0E9 and 5.0E9, inclusive`},
		{`{"a":[{"numeric":[">=",5,"<=",5]}]}`, `Bottom must be less than top`},
		{`{"a":[{"numeric":[">",1,"<",2,"<",3]}]}`, `Too many terms in numeric range expression`},
		{`{"a":[{"anything-but":[1,"a"]}]}`, `Inside anything but list, either all values are number or string, mixed type is not supported`},
		{`{"a":[{"anything-but":{"exists":true}}]}`, `Unsupported anything-but pattern: exists`},
		{`{"a":[{"wildcard":"a\\b"}]}`, `Invalid escape character at pos 2`},
		{`{"a":[{"cidr":"10.0.0.0/32"}]}`, `IPv4 mask bits must be < 32`},
		{`{"$or":[{"a":["1"]}]}`, `There must have at least 2 Objects in $or relationship.`},
		{`{"$or":{"a":["1"]}}`, `It must be an Array followed with $or.`},
		{`{"$or":[{"a":["1"]},"b"]}`, `Only JSON object is allowed in array of $or relationship.`},
		{`{"$or":[{"prefix":["1"]},{"b":["1"]}]}`, `prefix is Ruler reserved fieldName which cannot be used inside $or.`},
		{`{"a":["x"]`, `Unexpected end-of-input: expected close marker for Object`},
		{`{"a":["x",]}`, `Unexpected character (']' (code 93)): expected a value`},
		{`{"a":[tru]}`, `Unrecognized token 'tru': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')`},
		{`{"a":[01]}`, `Invalid numeric value: Leading zeroes not allowed`},
		{`"x"`, `Filter is not an object`},
		{`{"a":[{"wildcard":"` + strings.Repeat("*a", 6) + `"}]}`, tooComplexWildcard},
	}
	for _, c := range cases {
		err := Validate([]byte(c.pat))
		var ipe *InvalidPatternError
		if !errors.As(err, &ipe) {
			t.Errorf("Validate(%s) = %v, want %q", c.pat, err, c.msg)
			continue
		}
		if ipe.Reason != c.msg || ipe.Error() != eventBridgePrefix+c.msg {
			t.Errorf("Validate(%s) = %q, want %q", c.pat, ipe.Reason, c.msg)
		}
	}
	// Location on a later line and source truncation.
	long := "{\n\"a\": [\"" + strings.Repeat("x", 600) + "\"], \"b\": 1}"
	var ipe *InvalidPatternError
	if !errors.As(Validate([]byte(long)), &ipe) {
		t.Fatal("want error")
	}
	if ipe.Line != 2 || !strings.Contains(ipe.RawMessage(), `"[truncated 120 chars]; line: 2, column: 618]`) {
		t.Errorf("location: line %d col %d raw %q", ipe.Line, ipe.Column, ipe.RawMessage()[len(ipe.RawMessage())-60:])
	}
}

func TestMatcherAddRemove(t *testing.T) {
	m := NewMatcher()
	if err := m.Add("r1", []byte(`{"a":["1"]}`)); err != nil {
		t.Fatal(err)
	}
	if err := m.Add("r2", []byte(`{"a":[{"prefix":"1"}]}`)); err != nil {
		t.Fatal(err)
	}
	if err := m.Add("bad", []byte(`{"a":1}`)); err == nil {
		t.Fatal("want error")
	}
	got, _ := m.Match([]byte(`{"a":"1"}`))
	if fmt.Sprint(got) != "[r1 r2]" {
		t.Fatalf("got %v", got)
	}
	if err := m.Add("r1", []byte(`{"a":["2"]}`)); err != nil { // replace
		t.Fatal(err)
	}
	m.Remove("r2")
	got, _ = m.Match([]byte(`{"a":"1"}`))
	if len(got) != 0 || m.Len() != 1 {
		t.Fatalf("got %v len %d", got, m.Len())
	}
	if _, err := m.Match([]byte(`{"a":`)); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("err = %v", err)
	}
	if _, err := m.Match([]byte(`[1]`)); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("err = %v", err)
	}
}

func TestMatcherConcurrent(t *testing.T) {
	m := NewMatcher()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := m.Add(id, []byte(fmt.Sprintf(`{"k":["%d"]}`, i))); err != nil {
					t.Error(err)
					return
				}
				got, err := m.Match([]byte(fmt.Sprintf(`{"k":"%d"}`, i)))
				if err != nil {
					t.Error(err)
					return
				}
				found := false
				for _, g := range got {
					found = found || g == id
				}
				if !found {
					t.Errorf("%s not matched after Add: %v", id, got)
					return
				}
				if i%3 == 0 {
					m.Remove(id)
				}
			}
		}(w)
	}
	wg.Wait()
}

func TestMatchIntoNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	m := NewMatcher()
	for i := 0; i < 100; i++ {
		_ = m.Add(fmt.Sprint("r", i), []byte(fmt.Sprintf(`{"detail":{"n":[{"numeric":[">",%d]}],"s":[{"prefix":"v%d"}]}}`, i, i)))
	}
	ev := []byte(`{"detail":{"n":[50, 7],"s":"v5x","o":{"x":[1,2,"\u00e9"]}}}`)
	dst := make([]string, 0, 128)
	allocs := testing.AllocsPerRun(200, func() {
		var err error
		if dst, err = m.MatchInto(dst[:0], ev); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("MatchInto allocates %.1f times per call", allocs)
	}
	if len(dst) == 0 {
		t.Error("expected matches")
	}
	want := slices.Clone(dst)
	allocs = testing.AllocsPerRun(200, func() { dst = m.MatchValidInto(dst[:0], ev) })
	if allocs > 0 {
		t.Errorf("MatchValidInto allocates %.1f times per call", allocs)
	}
	if !slices.Equal(dst, want) {
		t.Errorf("MatchValidInto = %v, MatchInto %v", dst, want)
	}
}
