package events

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/fogbank/fogbank/internal/pattern"
	"github.com/fogbank/fogbank/internal/storage"
)

// busCache holds one bus's rules and their compiled patterns. It is loaded
// from Meta on first use and kept current by this node's writes; changes
// made by other nodes sharing the storage drop every cache (syncRules), so
// they take effect here within Deps.RuleSync.
type busCache struct {
	mu      sync.RWMutex
	rules   map[string]*Rule
	matcher *pattern.Matcher
}

func (c *busCache) set(r *Rule) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rules[r.Name] = r
	if r.EventPattern != "" && r.enabled() {
		if err := c.matcher.Add(r.Name, []byte(r.EventPattern)); err != nil {
			c.matcher.Remove(r.Name)
		}
	} else {
		c.matcher.Remove(r.Name)
	}
}

func (c *busCache) remove(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.rules, name)
	c.matcher.Remove(name)
}

// snapshot returns the rules named by names (those still present).
func (c *busCache) get(names []string) []*Rule {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Rule, 0, len(names))
	for _, n := range names {
		if r, ok := c.rules[n]; ok {
			out = append(out, r)
		}
	}
	return out
}

func (c *busCache) all() []*Rule {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Rule, 0, len(c.rules))
	for _, r := range c.rules {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// cache returns the loaded rule cache of a bus.
func (s *Service) cache(ctx context.Context, account, region, bus string) (*busCache, error) {
	key := busKey(account, region, bus)
	s.mu.Lock()
	c, ok := s.buses[key]
	gen := s.cacheGen
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	recs, err := s.deps.Meta.List(ctx, nsRules, rulePrefix(account, region, bus), "", 0)
	if err != nil {
		return nil, fmt.Errorf("events: load rules: %w", err)
	}
	c = &busCache{rules: map[string]*Rule{}, matcher: pattern.NewMatcher()}
	for _, rec := range recs {
		var r Rule
		if err := json.Unmarshal(rec.Value, &r); err != nil {
			return nil, fmt.Errorf("events: decode rule %s: %w", rec.Key, err)
		}
		c.set(&r)
	}
	s.mu.Lock()
	if existing, ok := s.buses[key]; ok {
		c = existing // another goroutine loaded it first
	} else if s.cacheGen == gen {
		s.buses[key] = c
	} // else: the caches were dropped while loading; use this one once
	s.mu.Unlock()
	return c, nil
}

// getRecord reads and decodes the record ns/key; a missing record is the
// error notFound builds.
func getRecord[T any](ctx context.Context, s *Service, ns, key string, notFound func() error) (*T, int64, error) {
	v, ver, err := storage.GetJSON[T](ctx, s.deps.Meta, ns, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, 0, notFound()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("events: get %s: %w", ns, err)
	}
	return &v, ver, nil
}

// putRecord writes v to ns/key with compare-and-set. A lost race is
// ConcurrentModificationException, or, when the record was meant to be new
// and exists is given, the error exists builds.
func (s *Service) putRecord(ctx context.Context, ns, key string, v any, expect int64, exists func() error) error {
	if _, err := storage.PutJSON(ctx, s.deps.Meta, ns, key, v, expect); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			if expect == storage.MustNotExist && exists != nil {
				return exists()
			}
			return errConcurrentModification()
		}
		return fmt.Errorf("events: put %s: %w", ns, err)
	}
	return nil
}

// cacheAfterWrite applies a rule change, already written to Meta, to the
// bus's cache. It must run after the write: a cache that another goroutine
// loaded from Meta before the write and installed afterwards would
// otherwise miss the change until the next cache drop. Looking the cache up
// after the write means either the load saw the write, or this update lands
// on the installed cache.
func (s *Service) cacheAfterWrite(ctx context.Context, account, region, bus string, apply func(*busCache)) error {
	c, err := s.cache(ctx, account, region, bus)
	if err != nil {
		return err
	}
	apply(c)
	return nil
}

// rulesGenKey is the record in nsGen whose version is the rules generation.
const rulesGenKey = "rules"

// rulesChanged tells the other nodes sharing the storage that a rule
// changed: it bumps the rules generation.
func (s *Service) rulesChanged(ctx context.Context) {
	if s.deps.RuleSync < 0 {
		return
	}
	if _, err := s.deps.Meta.Put(ctx, nsGen, rulesGenKey, []byte("{}"), storage.AnyVersion); err != nil {
		s.log.Warn("events: bump the rules generation; other nodes see this change at their next restart", "err", err)
	}
}

// rulesGen reads the rules generation (0 before the first rule change).
func (s *Service) rulesGen(ctx context.Context) (int64, error) {
	rec, err := s.deps.Meta.Get(ctx, nsGen, rulesGenKey)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	return rec.Version, err
}

// syncRules polls the rules generation every Deps.RuleSync; when another
// node (or this one) changed a rule since the last look, every bus cache is
// dropped (each reloads on its next use) and the scheduler reloads. One
// storage read per interval keeps nodes sharing a distributed back end
// consistent without a notification channel.
func (s *Service) syncRules(ctx context.Context, seen int64) {
	defer s.wg.Done()
	every := s.deps.RuleSync
	if every == 0 {
		every = time.Second
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.deps.Clock.After(ctx, every):
		}
		gen, err := s.rulesGen(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("events: read the rules generation", "err", err)
			}
			continue
		}
		if gen == seen {
			continue
		}
		seen = gen
		s.mu.Lock()
		s.buses = map[string]*busCache{}
		s.cacheGen++
		s.mu.Unlock()
		s.scheduleChanged()
	}
}

func (s *Service) dropCache(account, region, bus string) {
	s.mu.Lock()
	delete(s.buses, busKey(account, region, bus))
	s.mu.Unlock()
}

// getBus returns a bus and its stored version (0 for the implicit default
// bus), or ResourceNotFoundException.
func (s *Service) getBus(ctx context.Context, ref busRef) (*Bus, int64, error) {
	rec, err := s.deps.Meta.Get(ctx, nsBuses, busKey(ref.Account, ref.Region, ref.Name))
	if errors.Is(err, storage.ErrNotFound) {
		if ref.Name == defaultBus {
			return &Bus{Name: defaultBus, Account: ref.Account, Region: ref.Region}, storage.MustNotExist, nil
		}
		return nil, 0, errBusNotFound(ref.Name)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("events: get bus: %w", err)
	}
	var b Bus
	if err := json.Unmarshal(rec.Value, &b); err != nil {
		return nil, 0, fmt.Errorf("events: decode bus: %w", err)
	}
	return &b, rec.Version, nil
}

func (s *Service) putBus(ctx context.Context, b *Bus, expect int64) error {
	return s.putRecord(ctx, nsBuses, busKey(b.Account, b.Region, b.Name), b, expect, nil)
}

// getRule returns a rule and its version, or ResourceNotFoundException.
func (s *Service) getRule(ctx context.Context, account, region, bus, name string) (*Rule, int64, error) {
	return getRecord[Rule](ctx, s, nsRules, ruleKey(account, region, bus, name), func() error {
		return errRuleNotFound(name, bus)
	})
}

// saveRule stores a rule with compare-and-set and updates the cache.
func (s *Service) saveRule(ctx context.Context, r *Rule, expect int64) error {
	if err := s.putRecord(ctx, nsRules, ruleKey(r.Account, r.Region, r.Bus, r.Name), r, expect, nil); err != nil {
		return err
	}
	// The cache is looked up after the write: a cache loaded concurrently
	// from Meta before the write must still receive it (see cacheAfterWrite).
	if err := s.cacheAfterWrite(ctx, r.Account, r.Region, r.Bus, func(c *busCache) { c.set(r) }); err != nil {
		return err
	}
	s.rulesChanged(ctx)
	if r.ScheduleExpression != "" {
		s.scheduleChanged()
	}
	return nil
}

func (s *Service) deleteRuleRecord(ctx context.Context, r *Rule, expect int64) error {
	if err := s.deps.Meta.Delete(ctx, nsRules, ruleKey(r.Account, r.Region, r.Bus, r.Name), expect); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return errConcurrentModification()
		}
		if errors.Is(err, storage.ErrNotFound) {
			return errRuleNotFound(r.Name, r.Bus)
		}
		return fmt.Errorf("events: delete rule: %w", err)
	}
	if err := s.cacheAfterWrite(ctx, r.Account, r.Region, r.Bus, func(c *busCache) { c.remove(r.Name) }); err != nil {
		return err
	}
	s.rulesChanged(ctx)
	if r.ScheduleExpression != "" {
		s.scheduleChanged()
	}
	return nil
}

// listRecords pages through a Meta prefix: it returns up to limit records
// after the token and the next token ("" when done).
func (s *Service) listRecords(ctx context.Context, ns, prefix, token string, limit int) ([]storage.Record, string, error) {
	after := ""
	if token != "" {
		t, err := decodeToken(token)
		if err != nil {
			return nil, "", err
		}
		after = prefix + t
	}
	fetch := limit
	if fetch > 0 {
		fetch++
	}
	recs, err := s.deps.Meta.List(ctx, ns, prefix, after, fetch)
	if err != nil {
		return nil, "", fmt.Errorf("events: list: %w", err)
	}
	next := ""
	if limit > 0 && len(recs) > limit {
		recs = recs[:limit]
		next = encodeToken(recs[limit-1].Key[len(prefix):])
	}
	return recs, next, nil
}

func encodeToken(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeToken(t string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return "", errValidation("The NextToken provided is invalid.")
	}
	return string(b), nil
}
