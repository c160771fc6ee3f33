package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/testenv"
)

// TestActivityMonitoring runs the example end to end against an
// in-process Fogbank, twice: the second run proves the setup is
// idempotent and that findings of an earlier run are told apart. Under the
// race detector it runs once (the smoke test runs it live, without it).
func TestActivityMonitoring(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a Lambda function")
	}
	env := testenv.Start(t)
	runs := 2
	if raceEnabled {
		runs = 1
	}
	for i := range runs {
		var out bytes.Buffer
		err := run(context.Background(), options{Endpoint: env.URL, Region: "us-east-1", Central: "999999999999",
			Sources: []string{"111111111111", "222222222222", "333333333333"}, Timeout: 6 * time.Minute, Out: &out})
		t.Logf("run %d:\n%s", i+1, out.String())
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		// 3 + 3 + 2 findings: one CRITICAL (the public queue policy), one
		// HIGH (AddPermission), six LOW.
		if !strings.Contains(out.String(), "OK: 8 findings as expected (1 CRITICAL, 1 HIGH, 6 LOW)") {
			t.Fatalf("run %d: no success line", i+1)
		}
	}
}

func TestTally(t *testing.T) {
	w := &workload{a: &account{id: "111111111111"}, queue: "orders-abc123", calls: []call{
		{op: "CreateQueue", expect: "LOW"}, {op: "SendMessage"}, {op: "AddPermission", expect: "HIGH"},
	}, at: map[string]time.Time{}}
	f := func(sev, op, res string) finding {
		return finding{Severity: sev, Account: "111111111111", EventName: op, Resource: res}
	}
	tests := []struct {
		name     string
		findings []finding
		complete bool
		errHas   string
	}{
		{"nothing yet", nil, false, "missing findings: HIGH 111111111111/AddPermission/orders-abc123, LOW 111111111111/CreateQueue/orders-abc123"},
		{"all", []finding{f("LOW", "CreateQueue", "orders-abc123"), f("HIGH", "AddPermission", "orders-abc123")}, true, ""},
		{"duplicates and old runs are fine", []finding{f("LOW", "CreateQueue", "orders-abc123"), f("LOW", "CreateQueue", "orders-abc123"),
			f("HIGH", "CreateQueue", "orders-000000"), f("HIGH", "AddPermission", "orders-abc123")}, true, ""},
		{"wrong severity", []finding{f("LOW", "CreateQueue", "orders-abc123"), f("LOW", "AddPermission", "orders-abc123")}, false,
			"111111111111/AddPermission/orders-abc123: severity LOW, want HIGH"},
		{"filtered call arrived", []finding{f("LOW", "CreateQueue", "orders-abc123"), f("HIGH", "AddPermission", "orders-abc123"),
			f("LOW", "SendMessage", "orders-abc123")}, true, "unexpected finding LOW 111111111111/SendMessage/orders-abc123"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tl := newTally([]*workload{w})
			for _, x := range tc.findings {
				tl.observe(x)
			}
			if tl.complete() != tc.complete {
				t.Errorf("complete = %v", tl.complete())
			}
			err := tl.err()
			switch {
			case tc.errHas == "" && err != nil:
				t.Errorf("err = %v", err)
			case tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)):
				t.Errorf("err = %v, want %q", err, tc.errHas)
			}
		})
	}
}
