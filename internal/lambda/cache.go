package lambda

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

// hotTTL bounds how long the invoke path trusts a cached record. Writes
// made through this service invalidate their records at once; the TTL only
// bounds staleness after changes that bypass it (another node sharing the
// storage, or an admin reset; Service.Invalidate drops everything). It is
// I/O caching, not an AWS-visible delay, so it runs on real time.
const hotTTL = time.Second

// hotCacheMax bounds the number of cached records; the cache is cleared
// when it grows past it.
const hotCacheMax = 10000

// cachingMeta is the service's view of storage.Meta: reads and writes go
// to the store, and every Put or Delete also drops the record from the hot
// cache, which holds decoded records for the invoke path (function,
// version, alias, event invoke config and function URL lookups). Control-
// plane operations never read through the cache, so their preconditions
// always see the store.
type cachingMeta struct {
	storage.Meta
	mu      sync.Mutex
	gen     uint64
	entries map[hotKey]hotEntry
}

type hotKey struct{ ns, key string }

type hotEntry struct {
	val any
	ver int64
	at  time.Time
}

func newCachingMeta(m storage.Meta) *cachingMeta {
	return &cachingMeta{Meta: m, entries: map[hotKey]hotEntry{}}
}

// Put implements storage.Meta and invalidates the record.
func (c *cachingMeta) Put(ctx context.Context, ns, key string, value []byte, expect int64) (int64, error) {
	v, err := c.Meta.Put(ctx, ns, key, value, expect)
	c.invalidate(ns, key)
	return v, err
}

// Delete implements storage.Meta and invalidates the record.
func (c *cachingMeta) Delete(ctx context.Context, ns, key string, expect int64) error {
	err := c.Meta.Delete(ctx, ns, key, expect)
	c.invalidate(ns, key)
	return err
}

func (c *cachingMeta) invalidate(ns, key string) {
	c.mu.Lock()
	c.gen++
	delete(c.entries, hotKey{ns, key})
	c.mu.Unlock()
}

// invalidateAll drops every cached record.
func (c *cachingMeta) invalidateAll() {
	c.mu.Lock()
	c.gen++
	clear(c.entries)
	c.mu.Unlock()
}

// hotJSON returns a decoded record through the hot cache. The value is
// shared with other readers: callers must not modify its maps or slices.
// Missing records are not cached.
func hotJSON[T any](ctx context.Context, c *cachingMeta, ns, key string) (T, int64, error) {
	k := hotKey{ns, key}
	c.mu.Lock()
	e, ok := c.entries[k]
	gen := c.gen
	c.mu.Unlock()
	if ok && time.Since(e.at) < hotTTL {
		if v, ok := e.val.(T); ok {
			return v, e.ver, nil
		}
	}
	v, ver, err := storage.GetJSON[T](ctx, c.Meta, ns, key)
	if err != nil {
		return v, 0, err
	}
	c.mu.Lock()
	// A write that raced with this read bumped gen: do not cache what may
	// be the value it replaced.
	if c.gen == gen {
		if len(c.entries) >= hotCacheMax {
			clear(c.entries)
		}
		c.entries[k] = hotEntry{val: v, ver: ver, at: time.Now()}
	}
	c.mu.Unlock()
	return v, ver, nil
}

// Invalidate drops every cached function record, so that changes made to
// the storage behind the service's back (an admin reset) are seen by the
// next invocation rather than within a second.
func (s *Service) Invalidate() {
	s.meta.invalidateAll()
	s.rt.credsMu.Lock()
	clear(s.rt.creds)
	s.rt.credsMu.Unlock()
}

// resolveHot is resolve for the data plane (Invoke, async delivery, event
// source batches, function URLs): the same answers, from the hot cache.
// The result's maps are shared and must not be modified.
func (s *Service) resolveHot(ctx context.Context, ref fnRef) (resolved, error) {
	fn, _, err := hotJSON[fnRecord](ctx, s.meta, nsFunctions, ref.key())
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			if ref.Qualifier != "" {
				return resolved{}, errFunctionNotFound(ref.qualifiedARN())
			}
			return resolved{}, errFunctionNotFound(ref.arn())
		}
		return resolved{}, err
	}
	res := resolved{ref: ref, fn: fn, hot: true}
	switch q := ref.Qualifier; {
	case q == "" || q == latest:
		res.cfg = fn.Latest
	case isVersionNumber(q):
		res.cfg, err = s.loadVersionHot(ctx, ref, q)
	default:
		a, _, aerr := hotJSON[aliasRecord](ctx, s.meta, nsAliases, ref.key()+"/"+q)
		if aerr != nil {
			if errors.Is(aerr, storage.ErrNotFound) {
				return res, errFunctionNotFound(ref.arn() + ":" + q)
			}
			return res, aerr
		}
		res.alias = &a
		if a.FunctionVersion == latest {
			res.cfg = fn.Latest
		} else {
			res.cfg, err = s.loadVersionHot(ctx, ref, a.FunctionVersion)
		}
	}
	return res, err
}

func (s *Service) loadVersionHot(ctx context.Context, ref fnRef, version string) (fnConfig, error) {
	c, _, err := hotJSON[fnConfig](ctx, s.meta, nsVersions, versionRecordKey(ref, version))
	if errors.Is(err, storage.ErrNotFound) {
		return c, errFunctionNotFound(ref.arn() + ":" + version)
	}
	return c, err
}
