package events

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/fogbank/fogbank/internal/events/cron"
	"github.com/fogbank/fogbank/internal/storage"
)

// scheduler fires the ScheduleExpression rules of every account: at each
// due time it puts an "aws.events" "Scheduled Event" directly to the rule's
// targets (schedule rules match no bus events). The last fire time of each
// rule is stored (namespace events.schedules) so that a restart neither
// repeats a fire nor replays missed ones: as on AWS, missed fires are not
// caught up. Every node runs a scheduler; the stored last fire, written
// with compare-and-set, lets exactly one of them fire each due time.
type scheduler struct {
	s       *Service
	changed chan struct{}
}

type schedEntry struct {
	rule *Rule
	sch  cron.Schedule
	next time.Time
}

func newScheduler(s *Service) *scheduler {
	return &scheduler{s: s, changed: make(chan struct{}, 1)}
}

// scheduleChanged tells the scheduler to reload the schedule rules.
func (s *Service) scheduleChanged() {
	select {
	case s.sched.changed <- struct{}{}:
	default:
	}
}

func (sc *scheduler) run(ctx context.Context) {
	s := sc.s
	defer s.wg.Done()
	entries := sc.load(ctx, nil)
	for ctx.Err() == nil {
		var earliest time.Time
		for _, e := range entries {
			if !e.next.IsZero() && (earliest.IsZero() || e.next.Before(earliest)) {
				earliest = e.next
			}
		}
		wctx, cancel := context.WithCancel(ctx)
		var wait <-chan time.Time
		if !earliest.IsZero() {
			wait = s.deps.Clock.Until(wctx, earliest)
		}
		select {
		case <-ctx.Done():
		case <-sc.changed:
			entries = sc.load(ctx, entries)
		case <-wait:
			now := s.now()
			for _, e := range entries {
				if !e.next.IsZero() && !e.next.After(now) {
					sc.fire(ctx, e)
				}
			}
		}
		cancel()
	}
}

// load reads the enabled schedule rules. A rule that prev already holds
// unchanged (same expression, not modified since) keeps its next fire
// time: recomputed after that time had passed, it would move to the next
// one and the due fire would be lost (reloads follow every rule change on
// any node). A kept time another node has fired already is refused by
// claim.
func (sc *scheduler) load(ctx context.Context, prev []*schedEntry) []*schedEntry {
	s := sc.s
	recs, err := s.deps.Meta.List(ctx, nsRules, "", "", 0)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("events: load schedule rules", "err", err)
		}
		return prev
	}
	kept := make(map[string]*schedEntry, len(prev))
	for _, e := range prev {
		kept[ruleKey(e.rule.Account, e.rule.Region, e.rule.Bus, e.rule.Name)] = e
	}
	now := s.now()
	var out []*schedEntry
	for _, rec := range recs {
		var r Rule
		if json.Unmarshal(rec.Value, &r) != nil || r.ScheduleExpression == "" || !r.enabled() {
			continue
		}
		sch, err := cron.Parse(r.ScheduleExpression)
		if err != nil {
			continue
		}
		anchor := r.Modified
		if last, err := s.deps.Meta.Get(ctx, nsSchedules, rec.Key); err == nil {
			var t time.Time
			if json.Unmarshal(last.Value, &t) == nil && t.After(anchor) {
				anchor = t
			}
		}
		e := &schedEntry{rule: &r, sch: sch}
		e.next = nextFire(sch, anchor, now)
		if p := kept[rec.Key]; p != nil && p.rule.ScheduleExpression == r.ScheduleExpression &&
			p.rule.Modified.Equal(r.Modified) && p.next.After(anchor) && p.next.Before(e.next) {
			e.next = p.next
		}
		out = append(out, e)
	}
	return out
}

// nextFire is the first fire time at or after now (rate: on the grid
// anchored at the rule's creation or last fire; cron: the next matching
// minute after the last fire).
func nextFire(sch cron.Schedule, anchor, now time.Time) time.Time {
	if r, ok := sch.(cron.Rate); ok {
		next := anchor.Add(r.Every)
		if next.Before(now) {
			k := now.Sub(anchor) / r.Every
			next = anchor.Add(k * r.Every)
			if next.Before(now) {
				next = next.Add(r.Every)
			}
		}
		return next
	}
	from := anchor
	if from.Before(now) {
		from = now.Add(-time.Nanosecond)
	}
	return sch.Next(from)
}

// claim records at as the rule's last fire with compare-and-set, so that of
// several nodes sharing the storage exactly one fires each due time. It
// reports false when the fire is already recorded (by another node, or
// before a restart). When storage fails the rule fires anyway: a
// duplicate is better than a lost fire (delivery is at least once).
func (sc *scheduler) claim(ctx context.Context, r *Rule, at time.Time) bool {
	s := sc.s
	key := ruleKey(r.Account, r.Region, r.Bus, r.Name)
	expect := storage.MustNotExist
	rec, err := s.deps.Meta.Get(ctx, nsSchedules, key)
	switch {
	case err == nil:
		var last time.Time
		if json.Unmarshal(rec.Value, &last) == nil && !last.Before(at) {
			return false
		}
		expect = rec.Version
	case !errors.Is(err, storage.ErrNotFound):
		if ctx.Err() == nil {
			s.log.Error("events: read schedule fire", "rule", r.ARN(), "err", err)
		}
		return ctx.Err() == nil
	}
	raw, _ := json.Marshal(at)
	if _, err := s.deps.Meta.Put(ctx, nsSchedules, key, raw, expect); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return false
		}
		if ctx.Err() == nil {
			s.log.Error("events: record schedule fire", "rule", r.ARN(), "err", err)
		}
		return ctx.Err() == nil
	}
	return true
}

func (sc *scheduler) fire(ctx context.Context, e *schedEntry) {
	s := sc.s
	r := e.rule
	at := e.next
	e.next = nextFire(e.sch, at, at.Add(time.Nanosecond))
	if !sc.claim(ctx, r, at) {
		return
	}
	// Use the rule's current targets, read from storage: this node's bus
	// cache may not have seen a change another node made yet (a fire it
	// claimed with a stale cache would be lost).
	rule, _, err := storage.GetJSON[Rule](ctx, s.deps.Meta, nsRules, ruleKey(r.Account, r.Region, r.Bus, r.Name))
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) && ctx.Err() == nil {
			s.log.Error("events: read scheduled rule", "rule", r.ARN(), "err", err)
		}
		return
	}
	if !rule.enabled() || rule.ScheduleExpression == "" {
		return
	}
	env := envelope{Version: "0", ID: s.deps.IDs.UUID(), DetailType: "Scheduled Event", Source: "aws.events", Account: r.Account, Time: eventTime(at), Region: r.Region, Resources: []string{rule.ARN()}, Detail: json.RawMessage("{}")}
	raw := env.marshal()
	now := s.now()
	s.m.triggeredRules.WithLabelValues(rule.ARN()).Inc()
	var tasks []task
	for i := range rule.Targets {
		tgt := rule.Targets[i]
		tasks = append(tasks, task{Account: rule.Account, Region: rule.Region, Bus: rule.Bus, Rule: rule.Name, RuleARN: rule.ARN(), Target: &tgt, Event: raw, EventID: env.ID, Ingested: now})
	}
	if err := s.enqueue(ctx, rule.Account, tasks); err != nil && ctx.Err() == nil {
		s.log.Error("events: enqueue scheduled event", "rule", rule.ARN(), "err", err)
	}
}
