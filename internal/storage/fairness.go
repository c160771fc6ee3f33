package storage

import "context"

// fairnessKeyCtx is the context key of a fairness key.
type fairnessKeyCtx struct{}

// WithFairnessKey returns a copy of ctx whose storage writes are queued
// under key (usually the account the work is done for). A back end that
// serializes writes (embedded SQLite's single writer) shares its commits
// among keys round-robin, so a backlog of writes under one key cannot hold
// back another key's write by more than about one commit; back ends that
// write concurrently (PostgreSQL, NATS) ignore it. An empty key removes
// any key ctx carries: the write joins the shared default key.
func WithFairnessKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, fairnessKeyCtx{}, key)
}

// FairnessKey returns the fairness key ctx carries, or "" (the shared
// default key) when it carries none.
func FairnessKey(ctx context.Context) string {
	k, _ := ctx.Value(fairnessKeyCtx{}).(string)
	return k
}
