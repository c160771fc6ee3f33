package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/storage"
)

// The alarms a target tracking policy creates for Lambda provisioned
// concurrency: AlarmHigh needs 3 one-minute datapoints above the target,
// AlarmLow 15 below 90 % of it.
const (
	highDatapoints = 3
	lowDatapoints  = 15
	lowFactor      = 0.9
	keepDatapoints = 20
	pruneEvery     = time.Hour
)

// scaler samples utilisation, evaluates the policies' alarms and runs
// scaling activities. Its in-memory state is the recent datapoints of each
// target; everything that must survive a restart is in the target record.
type scaler struct {
	s *Service

	mu     sync.Mutex
	series map[string]*series // by target key

	lastPrune time.Time // touched by run's goroutine only
}

func newScaler(s *Service) *scaler { return &scaler{s: s, series: map[string]*series{}} }

// stat accumulates samples of one quantity within a minute.
type stat struct {
	Sum, Max, Min float64
	N             int
}

func (st *stat) add(v float64) {
	if st.N == 0 || v > st.Max {
		st.Max = v
	}
	if st.N == 0 || v < st.Min {
		st.Min = v
	}
	st.Sum += v
	st.N++
}

// value is the CloudWatch statistic of the samples.
func (st stat) value(statistic string) float64 {
	switch {
	case st.N == 0:
		return 0
	case statistic == "Maximum":
		return st.Max
	case statistic == "Minimum":
		return st.Min
	}
	return st.Sum / float64(st.N)
}

// datapoint is one minute of ProvisionedConcurrencyUtilization, with the
// provisioned executions in use alongside (so that a decision does not
// depend on the capacity in force when the datapoint was taken).
type datapoint struct {
	Minute int64
	Util   stat
	InUse  stat
}

type series struct {
	cur       *datapoint
	done      []datapoint // complete minutes, oldest first
	evaluated int64       // newest complete minute already evaluated
}

func minuteOf(t time.Time) int64 { return t.Unix() / 60 }

// add folds a sample taken at now into the series. Minutes skipped since
// the last sample (a clock jump) get this sample's value.
func (sr *series) add(now time.Time, util float64, inUse int) {
	m := minuteOf(now)
	if sr.cur != nil && m > sr.cur.Minute {
		sr.done = append(sr.done, *sr.cur)
		for k := sr.cur.Minute + 1; k < m; k++ {
			dp := datapoint{Minute: k}
			dp.Util.add(util)
			dp.InUse.add(float64(inUse))
			sr.done = append(sr.done, dp)
		}
		sr.cur = nil
		if len(sr.done) > keepDatapoints {
			sr.done = append([]datapoint(nil), sr.done[len(sr.done)-keepDatapoints:]...)
		}
	}
	if sr.cur == nil {
		sr.cur = &datapoint{Minute: m}
	}
	sr.cur.Util.add(util)
	sr.cur.InUse.add(float64(inUse))
}

// last returns the n newest complete datapoints, or nil when there are
// fewer (an alarm without enough data stays in INSUFFICIENT_DATA).
func (sr *series) last(n int) []datapoint {
	if len(sr.done) < n {
		return nil
	}
	return sr.done[len(sr.done)-n:]
}

func (sc *scaler) forget(targetKey string) {
	sc.mu.Lock()
	delete(sc.series, targetKey)
	sc.mu.Unlock()
}

// run samples and evaluates every SampleEvery of clock time until ctx ends.
func (sc *scaler) run(ctx context.Context) {
	for {
		sc.tick(ctx)
		wctx, cancel := context.WithCancel(ctx)
		select {
		case <-ctx.Done():
			cancel()
			return
		case <-sc.s.deps.Clock.After(wctx, sc.s.deps.SampleEvery):
		}
		cancel()
	}
}

func (sc *scaler) tick(ctx context.Context) {
	s := sc.s
	if s.deps.Lambda == nil {
		return
	}
	now := s.deps.Clock.Now()
	targets, keys, err := storage.ListJSON[targetRecord](ctx, s.deps.Meta, nsTargets, "")
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("autoscaling: list targets", "err", err)
		}
		return
	}
	live := make(map[string]bool, len(keys))
	for i, t := range targets {
		live[keys[i]] = true
		if t.Namespace != lambdaNamespace {
			continue
		}
		if err := sc.step(ctx, keys[i], now); err != nil && ctx.Err() == nil {
			s.log.Warn("autoscaling: scaler", "target", t.ResourceID, "account", t.Account, "region", t.Region, "err", err)
		}
	}
	sc.mu.Lock()
	for k := range sc.series {
		if !live[k] {
			delete(sc.series, k)
		}
	}
	sc.mu.Unlock()
	if now.Sub(sc.lastPrune) >= pruneEvery {
		sc.lastPrune = now
		sc.prune(ctx, now)
	}
}

// step is one scaler pass over one target: complete its pending activity,
// sample its utilisation and, once per new datapoint, evaluate its
// policies.
func (sc *scaler) step(ctx context.Context, key string, now time.Time) error {
	s := sc.s
	t, ver, err := storage.GetJSON[targetRecord](ctx, s.deps.Meta, nsTargets, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if t.Pending != nil {
		if t, ver, err = sc.checkPending(ctx, key, t, ver, now); err != nil || t.Pending != nil {
			return err
		}
	}
	policies, _, err := storage.ListJSON[policyRecord](ctx, s.deps.Meta, nsPolicies, key+"/")
	if err != nil {
		return err
	}
	if len(policies) == 0 {
		sc.forget(key)
		return nil
	}
	fn, qual := t.function()
	busy, allocated, util, err := s.deps.Lambda.ProvisionedUtilization(ctx, t.Account, t.Region, fn, qual)
	if err != nil {
		// The function or qualifier is gone: nothing to sample.
		return nil
	}
	requested, _, _, _, err := s.deps.Lambda.ProvisionedConcurrency(ctx, t.Account, t.Region, fn, qual)
	if err != nil {
		return nil
	}
	if allocated == 0 && requested > 0 {
		// Not READY: Lambda reports no utilisation (missing data).
		return nil
	}
	sc.mu.Lock()
	sr := sc.series[key]
	if sr == nil {
		sr = &series{}
		sc.series[key] = sr
	}
	sr.add(now, util, busy)
	var dps []datapoint
	if n := len(sr.done); n > 0 && sr.done[n-1].Minute > sr.evaluated {
		sr.evaluated = sr.done[n-1].Minute
		dps = append(dps, sr.done...)
	}
	sc.mu.Unlock()
	if dps == nil {
		return nil
	}
	d, ok := decide(t, policies, dps, requested, now)
	if !ok {
		return nil
	}
	return sc.start(ctx, key, t, ver, d, now)
}

// decision is a scaling activity to start.
type decision struct {
	Desired  int
	ScaleOut bool
	Cause    string
}

// decide evaluates the target tracking policies of a target against its
// datapoints (oldest first) and current capacity.
func decide(t targetRecord, policies []policyRecord, dps []datapoint, current int, now time.Time) (decision, bool) {
	last := func(n int) []datapoint {
		if len(dps) < n {
			return nil
		}
		return dps[len(dps)-n:]
	}
	// Scale out: any policy whose AlarmHigh fires; the largest capacity wins.
	var out decision
	if hi := last(highDatapoints); hi != nil && !t.Suspended.DynamicScalingOutSuspended {
		for _, p := range policies {
			breach := true
			for _, dp := range hi {
				if dp.Util.value(p.Statistic) <= p.Target {
					breach = false
					break
				}
			}
			if !breach {
				continue
			}
			inUse := hi[len(hi)-1].InUse.value(p.Statistic)
			desired := min(max(ceilDiv(inUse, p.Target), t.Min), t.Max)
			if desired > current && desired > out.Desired {
				out = decision{Desired: desired, ScaleOut: true,
					Cause: fmt.Sprintf("monitor alarm %s in state ALARM triggered policy %s", alarmName(p, 0), p.Name)}
			}
		}
	}
	if out.ScaleOut {
		return out, true
	}
	// Scale in: only when every policy that may scale in agrees (AlarmLow
	// fires and its cooldowns are over); the largest capacity wins.
	lo := last(lowDatapoints)
	if lo == nil || t.Suspended.DynamicScalingInSuspended {
		return decision{}, false
	}
	in := decision{Desired: -1}
	for _, p := range policies {
		if p.DisableScaleIn {
			continue
		}
		if now.Before(t.LastScaleIn.Add(time.Duration(p.ScaleInCooldown)*time.Second)) ||
			now.Before(t.LastScaleOut.Add(time.Duration(p.ScaleOutCooldown)*time.Second)) {
			return decision{}, false
		}
		peak := 0.0
		for _, dp := range lo {
			if dp.Util.value(p.Statistic) >= p.Target*lowFactor {
				return decision{}, false
			}
			peak = max(peak, dp.InUse.value(p.Statistic))
		}
		if d := ceilDiv(peak, p.Target); d > in.Desired {
			in = decision{Desired: d, Cause: fmt.Sprintf("monitor alarm %s in state ALARM triggered policy %s", alarmName(p, 1), p.Name)}
		}
	}
	if in.Desired < 0 {
		return decision{}, false
	}
	// Conservative steps: at most half the capacity at a time.
	in.Desired = max(in.Desired, current-max(1, current/2), t.Min)
	if in.Desired >= current {
		return decision{}, false
	}
	return in, true
}

// ceilDiv returns ceil(x / target) without float noise (2/0.5 is 4).
func ceilDiv(x, target float64) int {
	return int(math.Ceil(x/target - 1e-9))
}

func alarmName(p policyRecord, i int) string {
	if i < len(p.Alarms) {
		return p.Alarms[i].AlarmName
	}
	return ""
}

// start claims the target for an activity (compare-and-set, so that one
// node acts), records the activity and asks Lambda for the new capacity.
func (sc *scaler) start(ctx context.Context, key string, t targetRecord, ver int64, d decision, now time.Time) error {
	s := sc.s
	a := activityRecord{targetID: t.targetID, ID: s.deps.IDs.UUID(), Start: now, Status: "InProgress", Cause: d.Cause,
		Description: fmt.Sprintf("Setting desired concurrency to %d.", d.Desired)}
	akey := activityKey(key, now, a.ID)
	t.Pending = &pendingActivity{Key: akey, Desired: d.Desired, ScaleOut: d.ScaleOut}
	nver, err := storage.PutJSON(ctx, s.deps.Meta, nsTargets, key, t, ver)
	if errors.Is(err, storage.ErrConflict) {
		return nil // another node or an API call got there first
	}
	if err != nil {
		return err
	}
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsActivities, akey, a, storage.AnyVersion); err != nil {
		return err
	}
	s.log.Info("autoscaling: scaling", "resource", t.ResourceID, "account", t.Account, "region", t.Region,
		"desired", d.Desired, "cause", d.Cause)
	fn, qual := t.function()
	if err := s.deps.Lambda.SetProvisionedConcurrency(ctx, t.Account, t.Region, fn, qual, d.Desired); err != nil {
		_, _, err = sc.finish(ctx, key, t, nver, now, "Failed",
			fmt.Sprintf("Failed to set desired concurrency to %d. Reason: %s", d.Desired, reason(err)))
		return err
	}
	// The configuration may be READY at once (no new environments).
	_, _, err = sc.checkPending(ctx, key, t, nver, now)
	return err
}

// checkPending completes the target's pending activity when Lambda reports
// the configuration READY or FAILED.
func (sc *scaler) checkPending(ctx context.Context, key string, t targetRecord, ver int64, now time.Time) (targetRecord, int64, error) {
	fn, qual := t.function()
	p := t.Pending
	requested, _, status, why, err := sc.s.deps.Lambda.ProvisionedConcurrency(ctx, t.Account, t.Region, fn, qual)
	switch {
	case err != nil:
		return sc.finish(ctx, key, t, ver, now, "Failed",
			fmt.Sprintf("Failed to set desired concurrency to %d. Reason: %s", p.Desired, reason(err)))
	case requested != p.Desired:
		// Changed meanwhile by someone else (PutProvisionedConcurrencyConfig).
		return sc.finish(ctx, key, t, ver, now, "Overridden",
			fmt.Sprintf("Desired concurrency %d was overridden: the provisioned concurrency is now %d.", p.Desired, requested))
	case status == "READY" || (p.Desired == 0 && status == ""):
		return sc.finish(ctx, key, t, ver, now, "Successful",
			fmt.Sprintf("Successfully set desired concurrency to %d. Change successfully fulfilled by lambda.", p.Desired))
	case status == "FAILED":
		return sc.finish(ctx, key, t, ver, now, "Failed",
			fmt.Sprintf("Failed to set desired concurrency to %d. Reason: %s", p.Desired, why))
	}
	return t, ver, nil
}

// finish ends the pending activity with a status and frees the target.
func (sc *scaler) finish(ctx context.Context, key string, t targetRecord, ver int64, now time.Time, status, msg string) (targetRecord, int64, error) {
	s := sc.s
	p := t.Pending
	a, _, err := storage.GetJSON[activityRecord](ctx, s.deps.Meta, nsActivities, p.Key)
	if err == nil {
		a.Status, a.StatusMessage, a.End = status, msg, now
		if _, err := storage.PutJSON(ctx, s.deps.Meta, nsActivities, p.Key, a, storage.AnyVersion); err != nil {
			return t, ver, err
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		return t, ver, err
	}
	t.Pending = nil
	if status == "Successful" {
		if p.ScaleOut {
			t.LastScaleOut = now
		} else {
			t.LastScaleIn = now
		}
	}
	nver, err := storage.PutJSON(ctx, s.deps.Meta, nsTargets, key, t, ver)
	if errors.Is(err, storage.ErrConflict) {
		// Re-read: another node finished it, or the target changed.
		t, nver, err = storage.GetJSON[targetRecord](ctx, s.deps.Meta, nsTargets, key)
		return t, nver, err
	}
	if status != "Successful" {
		s.log.Warn("autoscaling: activity "+status, "resource", t.ResourceID, "message", msg)
	}
	return t, nver, err
}

// reason renders a Lambda error for a StatusMessage.
func reason(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s (Service: AWSLambda; Status Code: %d; Error Code: %s)", pe.Message, pe.HTTPStatus(), pe.Code)
	}
	return err.Error()
}

// enforceBounds brings a target's current capacity within its Min and Max
// (RegisterScalableTarget does this on every call). A resource Lambda does
// not know is left alone, as AWS leaves a resource that is not active.
func (sc *scaler) enforceBounds(ctx context.Context, account, region string, id targetID) {
	s := sc.s
	if s.deps.Lambda == nil {
		return
	}
	key := id.key(account, region)
	t, ver, err := storage.GetJSON[targetRecord](ctx, s.deps.Meta, nsTargets, key)
	if err != nil || t.Pending != nil {
		return
	}
	fn, qual := t.function()
	current, _, _, _, err := s.deps.Lambda.ProvisionedConcurrency(ctx, account, region, fn, qual)
	if err != nil {
		return
	}
	var d decision
	switch {
	case current < t.Min:
		d = decision{Desired: t.Min, ScaleOut: true, Cause: fmt.Sprintf("minimum capacity was set to %d", t.Min)}
	case current > t.Max:
		d = decision{Desired: t.Max, Cause: fmt.Sprintf("maximum capacity was set to %d", t.Max)}
	default:
		return
	}
	if err := sc.start(ctx, key, t, ver, d, s.deps.Clock.Now()); err != nil && ctx.Err() == nil {
		s.log.Warn("autoscaling: enforce bounds", "resource", t.ResourceID, "err", err)
	}
}

// prune drops activities older than AWS's six-week retention.
func (sc *scaler) prune(ctx context.Context, now time.Time) {
	s := sc.s
	acts, keys, err := storage.ListJSON[activityRecord](ctx, s.deps.Meta, nsActivities, "")
	if err != nil {
		return
	}
	for i, a := range acts {
		if now.Sub(a.Start) > activityRetention {
			_ = s.deps.Meta.Delete(ctx, nsActivities, keys[i], storage.AnyVersion)
		}
	}
}
