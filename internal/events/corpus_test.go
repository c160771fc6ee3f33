package events

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/pattern"
)

// PatternCase is one case of the recorded EventBridge pattern corpus
// (../shared/conformance/eventbridge-patterns), exported for the SDK tests.
type PatternCase struct {
	Name string
	// Event and Pattern are compact JSON. For invalid cases Pattern is
	// the text AWS quoted in its error (what the recorder sent).
	Event, Pattern []byte
	// Want is the recorded outcome: "match", "nomatch" or "invalid".
	Want string
	// Error is AWS's InvalidEventPatternException message (invalid cases).
	Error string
}

// ConformanceDir returns sub inside $FOGBANK_CONFORMANCE_DIR or
// ../shared/conformance next to the repository root, skipping the test when
// the corpus is absent.
func ConformanceDir(t testing.TB, sub string) string {
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

// stripJSON5 removes // comments and trailing commas, the only JSON5
// features the corpus uses.
func stripJSON5(src []byte) []byte {
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

// quotedSource extracts the pattern text from AWS's location suffix
// (`at [Source: (String)"..."; line: ...`).
func quotedSource(raw string) (string, bool) {
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

// LoadPatternCorpus reads every case of the pattern corpus with the
// recorded AWS answers.
func LoadPatternCorpus(t testing.TB) []PatternCase {
	t.Helper()
	dir := ConformanceDir(t, "eventbridge-patterns")
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
	recorded := map[string]string{} // case → raw error message
	for key, v := range snap {
		i := strings.Index(key, "test_event_pattern[")
		if i < 0 {
			continue
		}
		name := strings.TrimSuffix(key[i+len("test_event_pattern["):], "]")
		for _, rc := range v.RecordedContent {
			var e struct {
				ExceptionMessage struct {
					Error struct{ Message, MessageRaw string }
				} `json:"exception_message"`
			}
			if json.Unmarshal(rc, &e) == nil && e.ExceptionMessage.Error.MessageRaw != "" {
				recorded[name] = e.ExceptionMessage.Error.MessageRaw
			}
		}
	}
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
		if err := json.Unmarshal(stripJSON5(src), &doc); err != nil {
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
			msg, ok := recorded[name]
			if !ok {
				t.Fatalf("%s: no recorded error", name)
			}
			c.Error = unmask.Replace(msg)
			if s, ok := quotedSource(c.Error); ok {
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

// TestPatternCorpusThroughRules puts every valid corpus pattern on one bus
// as a real rule (PutRule, PutTargets) and ingests every corpus event: each
// rule's target must receive exactly the events its pattern matches, and
// every case must come out as AWS recorded it. Invalid patterns must be
// refused by PutRule with AWS's message.
func TestPatternCorpusThroughRules(t *testing.T) {
	cases := LoadPatternCorpus(t)
	h := newHarness(t)
	h.call("CreateEventBus", map[string]any{"Name": "corpus"})
	queueOf := func(i int) string { return "arn:aws:sqs:us-east-1:111111111111:case" + strconv.Itoa(i) }
	var valid []int
	for i, c := range cases {
		if c.Want == "invalid" {
			e := h.callErr("PutRule", map[string]any{"Name": "bad", "EventBusName": "corpus", "EventPattern": string(c.Pattern)})
			if e.Code != "InvalidEventPatternException" || e.Message != c.Error {
				t.Errorf("%s: PutRule = %s %q\nwant InvalidEventPatternException %q", c.Name, e.Code, e.Message, c.Error)
			}
			continue
		}
		valid = append(valid, i)
		name := "r" + strconv.Itoa(i)
		h.call("PutRule", map[string]any{"Name": name, "EventBusName": "corpus", "EventPattern": string(c.Pattern)})
		h.call("PutTargets", map[string]any{"Rule": name, "EventBusName": "corpus", "Targets": []map[string]any{{"Id": "q", "Arn": queueOf(i)}}})
	}
	ref := busRef{"111111111111", "us-east-1", "corpus"}
	var evs []inEvent
	for _, i := range valid {
		evs = append(evs, inEvent{raw: cases[i].Event, id: cases[i].Name, ingested: h.clock.Now()})
	}
	if err := h.svc.ingest(t.Context(), ref, evs); err != nil {
		t.Fatal(err)
	}
	// Thousands of deliveries: allow for slow (race-instrumented) runs.
	deadline := time.Now().Add(2 * time.Minute)
	for !h.idle() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the corpus deliveries")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, i := range valid {
		c := cases[i]
		got := map[string]int{}
		for _, m := range h.sqs.get(queueOf(i)) {
			got[m.Body]++
		}
		want := map[string]int{}
		for _, j := range valid {
			ok, err := pattern.Test(c.Pattern, cases[j].Event)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			if ok {
				want[string(cases[j].Event)]++
			}
		}
		if !mapsEqual(got, want) {
			t.Errorf("rule for %s received %d events, want %d", c.Name, len(got), len(want))
		}
		own := got[string(c.Event)] > 0
		if own != (c.Want == "match") {
			t.Errorf("%s: own event delivered = %v, recorded outcome %s", c.Name, own, c.Want)
		}
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
