package events

import (
	"strconv"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/conformance"
	"github.com/fogbank/fogbank/internal/pattern"
)

// PatternCase is one case of the recorded EventBridge pattern corpus,
// exported for the SDK tests.
type PatternCase = conformance.PatternCase

// LoadPatternCorpus reads every case of the pattern corpus with the
// recorded AWS answers.
func LoadPatternCorpus(t testing.TB) []PatternCase {
	t.Helper()
	return conformance.EventBridgePatterns(t)
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
