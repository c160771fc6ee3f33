package pattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// conformanceDir finds the recorded-against-AWS corpora: $FOGBANK_CONFORMANCE_DIR,
// or ../shared/conformance next to the directory holding go.mod.
func conformanceDir(t *testing.T, sub string) string {
	t.Helper()
	base := os.Getenv("FOGBANK_CONFORMANCE_DIR")
	if base == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				t.Skip("conformance corpus not found: no go.mod above the test directory")
			}
			dir = parent
		}
		base = filepath.Join(dir, "..", "shared", "conformance")
	}
	p := filepath.Join(base, sub)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("conformance corpus %s not present (set FOGBANK_CONFORMANCE_DIR): %v", p, err)
	}
	return p
}

// json5ToJSON removes // comments and trailing commas, the only JSON5
// features the corpus uses.
func json5ToJSON(src []byte) []byte {
	var out []byte
	inStr, esc := false, false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inStr {
			out = append(out, c)
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		if c == '/' && i+1 < len(src) && src[i+1] == '/' {
			for i < len(src) && src[i] != '\n' {
				i++
			}
			out = append(out, '\n')
			continue
		}
		if c == '"' {
			inStr = true
		}
		if c == ',' {
			j := i + 1
			for j < len(src) && (src[j] == ' ' || src[j] == '\n' || src[j] == '\t' || src[j] == '\r') {
				j++
			}
			if j < len(src) && (src[j] == '}' || src[j] == ']') {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

type recordedError struct {
	Message    string
	MessageRaw string
}

func loadEventBridgeSnapshot(t *testing.T, dir string) map[string]recordedError {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "test_events_patterns.snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	var snap map[string]struct {
		RecordedContent map[string]json.RawMessage `json:"recorded-content"`
	}
	if err := json.Unmarshal(raw, &snap); err != nil {
		t.Fatal(err)
	}
	out := map[string]recordedError{}
	for key, v := range snap {
		i := strings.Index(key, "test_event_pattern[")
		if i < 0 {
			continue
		}
		name := strings.TrimSuffix(key[i+len("test_event_pattern["):], "]")
		for _, rc := range v.RecordedContent {
			var e struct {
				ExceptionMessage struct {
					Error recordedError
				} `json:"exception_message"`
			}
			if json.Unmarshal(rc, &e) == nil && e.ExceptionMessage.Error.Message != "" {
				out[name] = e.ExceptionMessage.Error
			}
		}
	}
	return out
}

// sourceOf extracts the pattern text AWS quotes in a location suffix.
func sourceOf(raw string) (string, bool) {
	const open = "(String)\""
	i := strings.Index(raw, open)
	if i < 0 {
		return "", false
	}
	rest := raw[i+len(open):]
	j := strings.Index(rest, "\"; line: ")
	if j < 0 {
		return "", false
	}
	return rest[:j], true
}

func TestConformanceEventBridge(t *testing.T) {
	dir := conformanceDir(t, "eventbridge-patterns")
	recorded := loadEventBridgeSnapshot(t, dir)
	files, err := filepath.Glob(filepath.Join(dir, "*.json5"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 155 {
		t.Errorf("corpus has %d cases, want 155", len(files))
	}
	type matchCase struct {
		name  string
		event []byte
		want  bool
	}
	var cases []matchCase
	m := NewMatcher()
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json5")
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Event        json.RawMessage
			EventPattern json.RawMessage
		}
		if err := json.Unmarshal(json5ToJSON(raw), &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Run(name, func(t *testing.T) {
			switch {
			case strings.HasSuffix(name, "_EXC"):
				rec, ok := recorded[name]
				if !ok {
					t.Fatalf("no recorded error for %s", name)
				}
				pat := []byte(doc.EventPattern)
				// The recorder replaced account-specific ARN parts in the quoted
				// source with placeholders; put the original values back.
				unmask := strings.NewReplacer("<partition>", "aws", "<region>", "us-east-1")
				remask := strings.NewReplacer(":aws:events:us-east-1:", ":<partition>:events:<region>:")
				if src, ok := sourceOf(rec.MessageRaw); ok {
					pat = []byte(unmask.Replace(src))
				}
				err := Validate(pat)
				var ipe *InvalidPatternError
				if !errors.As(err, &ipe) {
					t.Fatalf("Validate(%s) = %v, want InvalidPatternError %q", pat, err, rec.Message)
				}
				if ipe.Message != rec.Message {
					t.Errorf("message\n got %q\nwant %q", ipe.Message, rec.Message)
				}
				if rec.MessageRaw != "" && remask.Replace(ipe.RawMessage()) != rec.MessageRaw {
					t.Errorf("raw message\n got %q\nwant %q", ipe.RawMessage(), rec.MessageRaw)
				}
				if _, err := Test(pat, doc.Event); !errors.As(err, &ipe) {
					t.Errorf("Test returned %v, want the pattern error", err)
				}
			default:
				want := !strings.HasSuffix(name, "_NEG")
				got, err := Test(doc.EventPattern, doc.Event)
				if err != nil {
					t.Fatalf("Test: %v", err)
				}
				if got != want {
					t.Errorf("Test(%s, %s) = %v, want %v", doc.EventPattern, doc.Event, got, want)
				}
				if err := m.Add(name, doc.EventPattern); err != nil {
					t.Fatalf("Add: %v", err)
				}
				cases = append(cases, matchCase{name, doc.Event, want})
			}
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
			p := mustPattern(t, m, other.name)
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

func mustPattern(t *testing.T, m *Matcher, name string) []byte {
	t.Helper()
	dir := conformanceDir(t, "eventbridge-patterns")
	raw, err := os.ReadFile(filepath.Join(dir, name+".json5"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ EventPattern json.RawMessage }
	if err := json.Unmarshal(json5ToJSON(raw), &doc); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(doc.EventPattern)
}

// TestConformanceInvalidJSON covers the malformed-JSON answers recorded for
// TestEventPattern.
func TestConformanceInvalidJSON(t *testing.T) {
	dir := conformanceDir(t, "eventbridge-patterns")
	raw, err := os.ReadFile(filepath.Join(dir, "test_events_patterns.snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	var snap map[string]struct {
		RecordedContent map[string]json.RawMessage `json:"recorded-content"`
	}
	if err := json.Unmarshal(raw, &snap); err != nil {
		t.Fatal(err)
	}
	n := 0
	for key, v := range snap {
		if !strings.Contains(key, "test_invalid_json_event_pattern[") {
			continue
		}
		var wrapped struct{ Error recordedError }
		if err := json.Unmarshal(v.RecordedContent["invalid-pattern"], &wrapped); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		rec := wrapped.Error
		src, ok := sourceOf(rec.Message)
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
