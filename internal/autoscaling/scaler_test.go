package autoscaling

import (
	"strings"
	"testing"
	"time"
)

func dps(n int, util, inUse float64) []datapoint {
	out := make([]datapoint, n)
	for i := range out {
		out[i].Minute = int64(i)
		out[i].Util.add(util)
		out[i].InUse.add(inUse)
	}
	return out
}

func pol(target float64) policyRecord {
	return policyRecord{Name: "p", Target: target, Statistic: "Average",
		Alarms: []alarm{{AlarmName: "high"}, {AlarmName: "low"}}}
}

func TestSeriesFillsSkippedMinutes(t *testing.T) {
	var sr series
	t0 := time.Date(2025, 1, 1, 10, 0, 10, 0, time.UTC)
	sr.add(t0, 0, 0)
	sr.add(t0.Add(20*time.Second), 1, 2)
	if sr.last(1) != nil {
		t.Fatal("a minute in progress is not a datapoint")
	}
	sr.add(t0.Add(3*time.Minute+30*time.Second), 1, 2) // the clock jumped
	got := sr.last(3)
	if len(got) != 3 || len(sr.done) != 3 {
		t.Fatalf("want 3 complete minutes, have %d", len(sr.done))
	}
	if got[0].Util.value("Average") != 0.5 || got[0].Util.value("Maximum") != 1 || got[0].Util.value("Minimum") != 0 {
		t.Fatalf("first minute: %+v", got[0].Util)
	}
	for _, dp := range got[1:] {
		if dp.Util.value("Average") != 1 || dp.InUse.value("Average") != 2 {
			t.Fatalf("skipped minute: %+v", dp)
		}
	}
	for range 30 {
		t0 = t0.Add(time.Minute)
		sr.add(t0.Add(4*time.Minute), 0, 0)
	}
	if len(sr.done) != keepDatapoints {
		t.Fatalf("kept %d datapoints", len(sr.done))
	}
}

func TestDecideScaleOut(t *testing.T) {
	now := time.Now()
	tg := targetRecord{Min: 1, Max: 10}
	cases := []struct {
		name     string
		target   targetRecord
		policies []policyRecord
		dps      []datapoint
		current  int
		want     int // 0: no activity
	}{
		{"proportional", tg, []policyRecord{pol(0.5)}, dps(3, 1, 2), 2, 4},
		{"ceil", tg, []policyRecord{pol(0.7)}, dps(3, 1, 3), 3, 5},
		{"within max", targetRecord{Min: 1, Max: 3}, []policyRecord{pol(0.5)}, dps(3, 1, 2), 2, 3},
		{"at max already", targetRecord{Min: 1, Max: 2}, []policyRecord{pol(0.5)}, dps(3, 1, 2), 2, 0},
		{"two datapoints are not enough", tg, []policyRecord{pol(0.5)}, dps(2, 1, 2), 2, 0},
		{"at the target is not above it", tg, []policyRecord{pol(0.5)}, dps(3, 0.5, 2), 4, 0},
		{"largest policy wins", tg, []policyRecord{pol(0.9), pol(0.4)}, dps(3, 1, 2), 2, 5},
		{"suspended", targetRecord{Min: 1, Max: 10, Suspended: suspendedState{DynamicScalingOutSuspended: true}},
			[]policyRecord{pol(0.5)}, dps(3, 1, 2), 2, 0},
	}
	for _, c := range cases {
		d, ok := decide(c.target, c.policies, c.dps, c.current, now)
		if got := map[bool]int{true: d.Desired}[ok]; got != c.want || (ok && !d.ScaleOut) {
			t.Errorf("%s: got %+v ok=%v, want %d", c.name, d, ok, c.want)
		}
	}
	d, _ := decide(tg, []policyRecord{pol(0.5)}, dps(3, 1, 2), 2, now)
	if d.Cause != "monitor alarm high in state ALARM triggered policy p" {
		t.Errorf("cause %q", d.Cause)
	}
}

func TestDecideStatistic(t *testing.T) {
	// Each minute: half the time idle, half the time fully used.
	var points []datapoint
	for i := range 3 {
		dp := datapoint{Minute: int64(i)}
		dp.Util.add(0)
		dp.Util.add(1)
		dp.InUse.add(0)
		dp.InUse.add(4)
		points = append(points, dp)
	}
	tg := targetRecord{Min: 1, Max: 10}
	if _, ok := decide(tg, []policyRecord{pol(0.7)}, points, 4, time.Now()); ok {
		t.Fatal("Average 0.5 is below a 0.7 target")
	}
	p := pol(0.7)
	p.Statistic = "Maximum"
	d, ok := decide(tg, []policyRecord{p}, points, 4, time.Now())
	if !ok || d.Desired != 6 { // ceil(4 / 0.7)
		t.Fatalf("Maximum: %+v %v", d, ok)
	}
}

func TestDecideScaleIn(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tg := targetRecord{Min: 1, Max: 20}
	withCooldown := func(in, out int) policyRecord {
		p := pol(0.5)
		p.ScaleInCooldown, p.ScaleOutCooldown = in, out
		return p
	}
	disabled := pol(0.5)
	disabled.DisableScaleIn = true
	peak := dps(15, 0, 0)
	peak[7] = dps(1, 0.3, 3)[0]
	cases := []struct {
		name     string
		target   targetRecord
		policies []policyRecord
		dps      []datapoint
		current  int
		want     int
	}{
		{"at most half at a time", tg, []policyRecord{pol(0.5)}, dps(15, 0, 0), 8, 4},
		{"odd", tg, []policyRecord{pol(0.5)}, dps(15, 0, 0), 3, 2},
		{"to the minimum", tg, []policyRecord{pol(0.5)}, dps(15, 0, 0), 2, 1},
		{"never below the minimum", targetRecord{Min: 6, Max: 20}, []policyRecord{pol(0.5)}, dps(15, 0, 0), 8, 6},
		{"at the minimum", tg, []policyRecord{pol(0.5)}, dps(15, 0, 0), 1, 0},
		{"keeps what the window's peak needs", tg, []policyRecord{pol(0.5)}, peak, 10, 6},
		{"14 datapoints are not enough", tg, []policyRecord{pol(0.5)}, dps(14, 0, 0), 8, 0},
		{"low means under 90 % of the target", tg, []policyRecord{pol(0.5)}, dps(15, 0.46, 2), 8, 0},
		{"just under", tg, []policyRecord{pol(0.5)}, dps(15, 0.44, 2), 8, 4},
		{"disabled", tg, []policyRecord{disabled}, dps(15, 0, 0), 8, 0},
		{"a disabled policy does not hold the others back", tg, []policyRecord{disabled, pol(0.5)}, dps(15, 0, 0), 8, 4},
		{"every policy must agree", tg, []policyRecord{pol(0.5), pol(0.21)}, dps(15, 0.2, 1), 8, 0},
		{"suspended", targetRecord{Min: 1, Max: 20, Suspended: suspendedState{DynamicScalingInSuspended: true}},
			[]policyRecord{pol(0.5)}, dps(15, 0, 0), 8, 0},
		{"scale-in cooldown", targetRecord{Min: 1, Max: 20, LastScaleIn: now.Add(-299 * time.Second)},
			[]policyRecord{withCooldown(300, 0)}, dps(15, 0, 0), 8, 0},
		{"scale-in cooldown over", targetRecord{Min: 1, Max: 20, LastScaleIn: now.Add(-300 * time.Second)},
			[]policyRecord{withCooldown(300, 0)}, dps(15, 0, 0), 8, 4},
		{"scale-out cooldown", targetRecord{Min: 1, Max: 20, LastScaleOut: now.Add(-10 * time.Second)},
			[]policyRecord{withCooldown(0, 60)}, dps(15, 0, 0), 8, 0},
	}
	for _, c := range cases {
		d, ok := decide(c.target, c.policies, c.dps, c.current, now)
		if got := map[bool]int{true: d.Desired}[ok]; got != c.want || (ok && d.ScaleOut) {
			t.Errorf("%s: got %+v ok=%v, want %d", c.name, d, ok, c.want)
		}
	}
}

func TestTargetIDCheck(t *testing.T) {
	ok := []string{"function:f:live", "function:my-fn_2:1", "function:f:PROD-blue"}
	bad := []string{"function:f", "function:f:$LATEST", "fn:f:live", "function:f:live:x", "function::live", "function:f:"}
	for _, r := range ok {
		if err := (targetID{lambdaNamespace, r, lambdaDimension}).check(); err != nil {
			t.Errorf("%s: %v", r, err)
		}
	}
	for _, r := range bad {
		if err := (targetID{lambdaNamespace, r, lambdaDimension}).check(); err == nil {
			t.Errorf("%s: accepted", r)
		}
	}
	err := (targetID{"bad", "x", "nope"}).check()
	if err == nil || !strings.Contains(err.Error(), "2 validation errors detected") {
		t.Errorf("two enum errors: %v", err)
	}
}
