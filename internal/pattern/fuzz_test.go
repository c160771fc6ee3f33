package pattern

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/fogbank/fogbank/internal/conformance"
)

var fuzzSeeds = [][2]string{
	{`{"source":["aws.ec2"],"detail":{"state":["running"]}}`, `{"source":"aws.ec2","detail":{"state":"running"}}`},
	{`{"a":[{"prefix":"ab"},{"suffix":"yz"}]}`, `{"a":["abc","xyz",1,null]}`},
	{`{"a":{"b":[1]},"a.c":[{"exists":false}]}`, `{"a":[{"b":1,"c":2},{"b":3}]}`},
	{`{"n":[{"numeric":[">",0,"<=",5]},{"anything-but":[1,2]}]}`, `{"n":[0,3,5.0,1e0,-0]}`},
	{`{"s":[{"wildcard":"a*b\\*c*"},{"equals-ignore-case":"ÄBC"}]}`, `{"s":["axb*cz","äbc","\u00c4bc"]}`},
	{`{"ip":[{"cidr":"10.0.0.0/8"},"::1"],"x":[{"anything-but":{"prefix":"p"}}]}`, `{"ip":["10.1.2.3","0:0::1"],"x":"q"}`},
	{`{"$or":[{"a":["1"]},{"b":{"c":[true,false,null]}}]}`, `{"b":{"c":[null]}}`},
	{`{"r":[{"anything-but":{"wildcard":["*x*","y*"]}},{"suffix":{"equals-ignore-case":"Z"}}]}`, `{"r":["abz","xyz"]}`},
	{`{"o":{"p":[{"anything-but":{"equals-ignore-case":["A","b"]}}],"q":[{"exists":true}]}}`, `{"o":[{"p":"a","q":1},{"p":"c","q":[]}]}`},
}

func addFuzzSeeds(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	// Seed with the recorded corpus when present.
	dir := os.Getenv("FOGBANK_CONFORMANCE_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "conformance")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "eventbridge-patterns", "*.json5"))
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		var doc struct{ Event, EventPattern json.RawMessage }
		if json.Unmarshal(conformance.JSON5ToJSON(raw), &doc) == nil {
			f.Add([]byte(doc.EventPattern), []byte(doc.Event))
		}
	}
}

// FuzzMatch checks that nothing panics and that the engine agrees with the
// naive reference matcher on every valid pattern and event.
func FuzzMatch(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, pat, event []byte) {
		if !utf8.Valid(pat) || !utf8.Valid(event) {
			// AWS's APIs carry only valid UTF-8; encoding/json (the reference)
			// rewrites invalid bytes while the engine compares them as is.
			Validate(pat)
			Test(pat, event)
			return
		}
		vErr := Validate(pat)
		c, cerr := compilePattern(pat, dialectEventBridge)
		if (vErr == nil) != (cerr == nil) {
			t.Fatalf("Validate and compile disagree: %v vs %v", vErr, cerr)
		}
		got, err := Test(pat, event)
		if cerr != nil {
			var ipe *InvalidPatternError
			if !errors.As(err, &ipe) {
				t.Fatalf("Test on invalid pattern returned %v", err)
			}
			_ = ipe.RawMessage()
			return
		}
		leaves, ok := refFlatten(event)
		if !ok {
			if err == nil {
				t.Fatalf("engine accepted an event the reference rejects: %q", event)
			}
			return
		}
		if err != nil {
			t.Fatalf("engine rejected a valid event %q: %v", event, err)
		}
		want := refMatch(c, leaves)
		if got != want {
			t.Fatalf("pattern %s event %s: engine %v, reference %v", pat, event, got, want)
		}
		one := buildSnapshot([]ruleEntry{{"p", c}})
		if v := len(one.matchValid(&scratch{}, nil, event)) == 1; v != want {
			t.Fatalf("pattern %s event %s: MatchValid %v, reference %v", pat, event, v, want)
		}
		// The same pattern among others in a shared matcher.
		m := NewMatcher()
		for i, s := range fuzzSeeds {
			if err := m.Add(string(rune('a'+i)), []byte(s[0])); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.Add("~fuzz", pat); err != nil {
			t.Fatal(err)
		}
		ids, err := m.Match(event)
		if err != nil {
			t.Fatal(err)
		}
		in := false
		for _, id := range ids {
			if id == "~fuzz" {
				in = true
			}
		}
		if in != want {
			t.Fatalf("shared matcher: pattern %s event %s: %v, want %v", pat, event, in, want)
		}
		if v := m.MatchValid(event); !slices.Equal(v, ids) {
			t.Fatalf("shared matcher: pattern %s event %s: MatchValid %v, Match %v", pat, event, v, ids)
		}
	})
}

// FuzzMatchValid checks that MatchValid never panics on arbitrary bytes and
// that it agrees with Match on every event Match accepts.
func FuzzMatchValid(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s[1]))
	}
	f.Add([]byte(`{"a":[{"b":"x\"]}\\"},{"c":[1,{"d":"y"}]}],"e.f":"\u0041","o":{"p":1e3,"q":"10.0.0.1"}}`))
	f.Add([]byte(`{"detail":{"x":[[[` + "	" + `{"y":"\"}"}]]]}, "s":"abc`))
	m := NewMatcher()
	for i, s := range fuzzSeeds {
		if err := m.Add(string(rune('a'+i)), []byte(s[0])); err != nil {
			f.Fatal(err)
		}
	}
	for i, p := range []string{`{"a":{"b":[{"prefix":"x"}]},"e":{"f":["A"]}}`, `{"o":{"p":[{"numeric":[">",10]}],"q":[{"cidr":"10.0.0.0/8"}]}}`,
		`{"a":{"c":[1],"d":["y"]}}`, `{"detail":{"x":{"y":[{"exists":true}]}},"s":[{"suffix":"c"}]}`} {
		if err := m.Add(fmt.Sprint("v", i), []byte(p)); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, event []byte) {
		got := m.MatchValid(event)
		want, err := m.Match(event)
		if err == nil && utf8.Valid(event) && !slices.Equal(got, want) {
			t.Fatalf("event %q: MatchValid %v, Match %v", event, got, want)
		}
	})
}

// FuzzSNS checks that SNS policy compilation and matching never panic.
func FuzzSNS(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, policy, body []byte) {
		for _, scope := range []FilterScope{ScopeMessageAttributes, ScopeMessageBody} {
			p, err := NewFilterPolicy(policy, scope)
			if err != nil {
				var fe *FilterPolicyError
				if !errors.As(err, &fe) {
					t.Fatalf("unexpected error type %T", err)
				}
				_ = fe.SubscribeMessage()
				continue
			}
			p.MatchBody(body)
			p.MatchAttributes(map[string]MessageAttribute{
				"a":   {Type: "String", Value: string(body)},
				"b":   {Type: "Number", Value: string(body)},
				"c":   {Type: "String.Array", Value: string(body)},
				"a.b": {Type: "Binary", Value: string(body)},
			})
		}
	})
}
