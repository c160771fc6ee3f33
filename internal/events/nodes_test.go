package events

import (
	"encoding/json"
	"testing"
	"time"
)

// cacheGen reads how often svc dropped its rule caches.
func cacheGen(svc *Service) uint64 {
	svc.mu.Lock()
	defer svc.mu.Unlock()
	return svc.cacheGen
}

// TestRulesAcrossNodes: two services on one storage. A rule change made on
// one node takes effect on the other after its next rules-generation check
// (Deps.RuleSync, on the injected clock), not before.
func TestRulesAcrossNodes(t *testing.T) {
	h := newHarness(t)
	b := h.secondNode()
	put := func(source string) {
		t.Helper()
		if _, err := h.callOn(b, "111111111111", "PutEvents", map[string]any{"Entries": []map[string]any{{"Source": source, "DetailType": "dt", "Detail": "{}"}}}); err != nil {
			t.Fatal(err)
		}
	}
	put("warm.up") // node B loads (and caches) the default bus: no rules
	h.call("PutRule", map[string]any{"Name": "r1", "EventPattern": `{"source":["my.app"]}`})
	h.call("PutTargets", map[string]any{"Rule": "r1", "Targets": []map[string]any{{"Id": "t1", "Arn": queueA}}})

	put("my.app") // B has not looked yet: its cache is stale
	waitFor(t, "idle", h.idle)
	if n := len(h.sqs.get(queueA)); n != 0 {
		t.Fatalf("node B matched a rule it cannot know yet (%d deliveries)", n)
	}

	gen := cacheGen(b)
	waitFor(t, "node B sees the change", func() bool { h.clock.Advance(time.Second); return cacheGen(b) > gen })
	put("my.app")
	waitFor(t, "delivery via node B", func() bool { return len(h.sqs.get(queueA)) == 1 })

	h.call("DisableRule", map[string]any{"Name": "r1"})
	gen = cacheGen(b)
	waitFor(t, "node B sees the disable", func() bool { h.clock.Advance(time.Second); return cacheGen(b) > gen })
	put("my.app")
	waitFor(t, "idle", h.idle)
	if n := len(h.sqs.get(queueA)); n != 1 {
		t.Fatalf("%d deliveries, want 1: node B matched a disabled rule", n)
	}
}

// TestScheduleFiresOnceAcrossNodes: both nodes run a scheduler; each due
// time of a rate rule fires exactly once.
func TestScheduleFiresOnceAcrossNodes(t *testing.T) {
	h := newHarness(t)
	b := h.secondNode()
	gen := cacheGen(b)
	h.call("PutRule", map[string]any{"Name": "tick", "ScheduleExpression": "rate(1 minute)"})
	h.call("PutTargets", map[string]any{"Rule": "tick", "Targets": []map[string]any{{"Id": "t1", "Arn": queueA}}})
	waitFor(t, "node B loads the schedule", func() bool { h.clock.Advance(100 * time.Millisecond); return cacheGen(b) > gen })
	for i := 1; i <= 3; i++ {
		h.clock.Advance(time.Minute)
		waitFor(t, "fire", func() bool { return len(h.sqs.get(queueA)) >= i })
		waitFor(t, "idle", h.idle) // settled before the next minute (see TestScheduleRateAndCron)
	}
	waitFor(t, "idle", h.idle)
	if n := len(h.sqs.get(queueA)); n != 3 {
		t.Fatalf("%d scheduled events after 3 minutes, want 3 (one per due time)", n)
	}
	seen := map[string]bool{}
	for _, m := range h.sqs.get(queueA) {
		env, err := decodeEnvelope([]byte(m.Body))
		if err != nil {
			t.Fatal(err)
		}
		if seen[env.Time] {
			t.Fatalf("due time %s fired twice", env.Time)
		}
		seen[env.Time] = true
	}
}

// TestScheduleReloadKeepsDueFire: a reload of the schedule (which follows
// every rule change on any node) after a due time has passed keeps that
// due time for an unchanged rule, so it still fires, late, instead of
// moving on to the next one; a changed rule is recomputed.
func TestScheduleReloadKeepsDueFire(t *testing.T) {
	h := newHarness(t)
	h.call("PutRule", map[string]any{"Name": "tick", "ScheduleExpression": "rate(1 minute)"})
	sc := h.svc.sched
	prev := sc.load(t.Context(), nil)
	if len(prev) != 1 || !prev[0].next.Equal(t0.Add(time.Minute)) {
		t.Fatalf("loaded %+v, want one entry due at %v", prev, t0.Add(time.Minute))
	}
	h.clock.Advance(time.Minute + 5*time.Second)
	// The service's own scheduler may fire the due time meanwhile; once
	// that fire is recorded, the next due time is the right answer.
	got := sc.load(t.Context(), prev)
	if len(got) != 1 {
		t.Fatalf("loaded %d entries", len(got))
	}
	if !got[0].next.Equal(t0.Add(time.Minute)) && !(got[0].next.Equal(t0.Add(2*time.Minute)) && scheduleFired(t, h, t0.Add(time.Minute))) {
		t.Fatalf("after the due time: next %v, want %v (not fired yet)", got[0].next, t0.Add(time.Minute))
	}
	if got := sc.load(t.Context(), nil); len(got) != 1 || !got[0].next.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("without the earlier entry: next %v, want %v", got[0].next, t0.Add(2*time.Minute))
	}
	h.call("PutRule", map[string]any{"Name": "tick", "ScheduleExpression": "rate(5 minutes)"})
	if got := sc.load(t.Context(), prev); len(got) != 1 || !got[0].next.After(h.clock.Now()) {
		t.Fatalf("a changed rule kept its old due time %v", got[0].next)
	}
}

// scheduleFired reports whether the only schedule rule's fire at at is
// recorded.
func scheduleFired(t *testing.T, h *harness, at time.Time) bool {
	recs, err := h.store.Meta().List(t.Context(), nsSchedules, "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		var last time.Time
		if json.Unmarshal(rec.Value, &last) == nil && !last.Before(at) {
			return true
		}
	}
	return false
}
