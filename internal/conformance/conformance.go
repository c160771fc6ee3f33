// Package conformance loads, for tests, the answers recorded against AWS
// in the shared corpus: $FOGBANK_CONFORMANCE_DIR, or ../shared/conformance
// next to the repository root.
package conformance

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Base returns the shared conformance folder, or "" when it cannot be
// located (no FOGBANK_CONFORMANCE_DIR and no go.mod above the working
// directory). The folder may not exist.
func Base() string {
	if d := os.Getenv("FOGBANK_CONFORMANCE_DIR"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "conformance")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Dir returns the corpus sub inside Base, skipping the test when it is
// absent.
func Dir(t testing.TB, sub string) string {
	t.Helper()
	base := Base()
	if base == "" {
		t.Skip("conformance corpus not found: no go.mod above the test directory")
	}
	p := filepath.Join(base, sub)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("conformance corpus %s not present (set FOGBANK_CONFORMANCE_DIR): %v", p, err)
	}
	return p
}

// JSON5ToJSON removes // comments and trailing commas, the only JSON5
// features the corpus uses.
func JSON5ToJSON(src []byte) []byte {
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
		switch {
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			out = append(out, '\n')
			continue
		case c == '"':
			inStr = true
		case c == ',':
			j := i + 1
			for j < len(src) && strings.IndexByte(" \t\r\n", src[j]) >= 0 {
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

// QuotedSource extracts the pattern text from AWS's location suffix
// (`at [Source: (String)"..."; line: ...`).
func QuotedSource(raw string) (string, bool) {
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

// PatternCase is one case of the recorded EventBridge pattern corpus
// (eventbridge-patterns).
type PatternCase struct {
	Name string
	// Event and Pattern are compact JSON. For invalid cases Pattern is
	// the text AWS quoted in its error (what the recorder sent).
	Event, Pattern []byte
	// Want is the recorded outcome: "match", "nomatch" or "invalid".
	Want string
	// Message is AWS's short InvalidEventPatternException message and
	// Error the full one, with its location suffix (invalid cases).
	Message, Error string
}

// Snapshot reads a recorded snapshot file: each test's recorded content,
// by test key and then by recording name.
func Snapshot(t testing.TB, file string) map[string]map[string]json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var snap map[string]struct {
		RecordedContent map[string]json.RawMessage `json:"recorded-content"`
	}
	if err := json.Unmarshal(raw, &snap); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]map[string]json.RawMessage, len(snap))
	for key, v := range snap {
		out[key] = v.RecordedContent
	}
	return out
}

// recordedError is an error as the snapshot records it.
type recordedError struct{ Message, MessageRaw string }

// snapshotErrors reads the errors recorded for the test_event_pattern
// cases of the snapshot in dir, by case name.
func snapshotErrors(t testing.TB, dir string) map[string]recordedError {
	t.Helper()
	out := map[string]recordedError{}
	for key, content := range Snapshot(t, filepath.Join(dir, "test_events_patterns.snapshot.json")) {
		i := strings.Index(key, "test_event_pattern[")
		if i < 0 {
			continue
		}
		name := strings.TrimSuffix(key[i+len("test_event_pattern["):], "]")
		for _, rc := range content {
			var e struct {
				ExceptionMessage struct {
					Error recordedError
				} `json:"exception_message"`
			}
			if json.Unmarshal(rc, &e) == nil && e.ExceptionMessage.Error.MessageRaw != "" {
				out[name] = e.ExceptionMessage.Error
			}
		}
	}
	return out
}

// EventBridgePatterns reads every case of the EventBridge pattern corpus
// with the recorded AWS answers, skipping the test when it is absent.
func EventBridgePatterns(t testing.TB) []PatternCase {
	t.Helper()
	dir := Dir(t, "eventbridge-patterns")
	recorded := snapshotErrors(t, dir)
	files, err := filepath.Glob(filepath.Join(dir, "*.json5"))
	if err != nil {
		t.Fatal(err)
	}
	// The recorder masked account-specific ARN parts in quoted sources.
	unmask := strings.NewReplacer("<partition>", "aws", "<region>", "us-east-1")
	var out []PatternCase
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json5")
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Event, EventPattern json.RawMessage }
		if err := json.Unmarshal(JSON5ToJSON(src), &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c := PatternCase{Name: name, Want: "match"}
		var ev bytes.Buffer
		if err := json.Compact(&ev, doc.Event); err != nil {
			t.Fatalf("%s: event: %v", name, err)
		}
		c.Event = ev.Bytes()
		c.Pattern = bytes.TrimSpace(doc.EventPattern)
		switch {
		case strings.HasSuffix(name, "_EXC"):
			c.Want = "invalid"
			rec, ok := recorded[name]
			if !ok {
				t.Fatalf("%s: no recorded error", name)
			}
			c.Message = rec.Message
			c.Error = unmask.Replace(rec.MessageRaw)
			if s, ok := QuotedSource(c.Error); ok {
				c.Pattern = []byte(s)
			}
		case strings.HasSuffix(name, "_NEG"):
			c.Want = "nomatch"
		}
		out = append(out, c)
	}
	if len(out) != 155 {
		t.Errorf("corpus has %d cases, want 155", len(out))
	}
	return out
}
