package pattern

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/fogbank/fogbank/internal/conformance"
)

func TestConformanceEventBridge(t *testing.T) {
	corpus := conformance.EventBridgePatterns(t)
	type matchCase struct {
		name  string
		event []byte
		want  bool
	}
	var cases []matchCase
	patterns := map[string][]byte{}
	m := NewMatcher()
	// The recorder replaced account-specific ARN parts in the quoted source
	// with placeholders.
	remask := strings.NewReplacer(":aws:events:us-east-1:", ":<partition>:events:<region>:")
	unmask := strings.NewReplacer("<partition>", "aws", "<region>", "us-east-1")
	for _, c := range corpus {
		t.Run(c.Name, func(t *testing.T) {
			if c.Want == "invalid" {
				err := Validate(c.Pattern)
				var ipe *InvalidPatternError
				if !errors.As(err, &ipe) {
					t.Fatalf("Validate(%s) = %v, want InvalidPatternError %q", c.Pattern, err, c.Message)
				}
				if ipe.Message != c.Message {
					t.Errorf("message\n got %q\nwant %q", ipe.Message, c.Message)
				}
				if unmask.Replace(remask.Replace(ipe.RawMessage())) != c.Error {
					t.Errorf("raw message\n got %q\nwant %q", ipe.RawMessage(), c.Error)
				}
				if _, err := Test(c.Pattern, c.Event); !errors.As(err, &ipe) {
					t.Errorf("Test returned %v, want the pattern error", err)
				}
				return
			}
			want := c.Want == "match"
			got, err := Test(c.Pattern, c.Event)
			if err != nil {
				t.Fatalf("Test: %v", err)
			}
			if got != want {
				t.Errorf("Test(%s, %s) = %v, want %v", c.Pattern, c.Event, got, want)
			}
			if err := m.Add(c.Name, c.Pattern); err != nil {
				t.Fatalf("Add: %v", err)
			}
			patterns[c.Name] = c.Pattern
			cases = append(cases, matchCase{c.Name, c.Event, want})
		})
	}
	// All valid patterns in one matcher: each event must match exactly the
	// patterns that Test says it matches.
	for _, c := range cases {
		got, err := m.Match(c.event)
		if err != nil {
			t.Fatalf("%s: Match: %v", c.name, err)
		}
		var want []string
		for _, other := range cases {
			p := patterns[other.name]
			ok, err := Test(p, c.event)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				want = append(want, other.name)
			}
		}
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: Match = %v, want %v", c.name, got, want)
		}
		if v := m.MatchValid(c.event); strings.Join(v, ",") != strings.Join(want, ",") {
			t.Errorf("%s: MatchValid = %v, want %v", c.name, v, want)
		}
	}
}

// TestConformanceInvalidJSON covers the malformed-JSON answers recorded for
// TestEventPattern.
func TestConformanceInvalidJSON(t *testing.T) {
	dir := conformance.Dir(t, "eventbridge-patterns")
	snap := conformance.Snapshot(t, filepath.Join(dir, "test_events_patterns.snapshot.json"))
	n := 0
	for key, content := range snap {
		if !strings.Contains(key, "test_invalid_json_event_pattern[") {
			continue
		}
		var wrapped struct{ Error struct{ Message string } }
		if err := json.Unmarshal(content["invalid-pattern"], &wrapped); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		rec := wrapped.Error
		src, ok := conformance.QuotedSource(rec.Message)
		if !ok {
			t.Fatalf("%s: no source in %q", key, rec.Message)
		}
		n++
		err := Validate([]byte(src))
		var ipe *InvalidPatternError
		if !errors.As(err, &ipe) {
			t.Errorf("Validate(%s) = %v", src, err)
			continue
		}
		if ipe.RawMessage() != rec.Message {
			t.Errorf("Validate(%s)\n got %q\nwant %q", src, ipe.RawMessage(), rec.Message)
		}
	}
	if n != 4 {
		t.Errorf("found %d invalid-JSON cases, want 4", n)
	}
}
