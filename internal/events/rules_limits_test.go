package events

import (
	"strings"
	"testing"
)

func TestPutRuleLengthLimits(t *testing.T) {
	h := newHarness(t)
	long := `{"source":["` + strings.Repeat("a", 4100) + `"]}`
	e := h.callErr("PutRule", map[string]any{"Name": "r", "EventPattern": long})
	if e == nil || e.Code != "ValidationException" || !strings.Contains(e.Message, "at 'eventPattern' failed to satisfy constraint: Member must have length less than or equal to 4096") {
		t.Fatalf("4 KiB+ pattern: %+v", e)
	}
	e = h.callErr("PutRule", map[string]any{"Name": "r", "ScheduleExpression": "rate(" + strings.Repeat("1", 260) + " minutes)"})
	if e == nil || e.Code != "ValidationException" || !strings.Contains(e.Message, "at 'scheduleExpression' failed to satisfy constraint: Member must have length less than or equal to 256") {
		t.Fatalf("long schedule: %+v", e)
	}
	// At the limit the pattern is accepted.
	ok := `{"source":["` + strings.Repeat("a", 4096-len(`{"source":[""]}`)) + `"]}`
	h.call("PutRule", map[string]any{"Name": "r", "EventPattern": ok})
}
