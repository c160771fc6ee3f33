package storage

import (
	"context"
	"encoding/json"
	"fmt"
)

// GetJSON reads the record ns/key and decodes its JSON value into a new T.
// It returns the record's version for a later compare-and-set; a missing
// record is ErrNotFound, unwrapped, so callers can map it to their own
// error.
func GetJSON[T any](ctx context.Context, m Meta, ns, key string) (*T, int64, error) {
	rec, err := m.Get(ctx, ns, key)
	if err != nil {
		return nil, 0, err
	}
	v := new(T)
	if err := json.Unmarshal(rec.Value, v); err != nil {
		return nil, 0, fmt.Errorf("storage: decode %s %q: %w", ns, key, err)
	}
	return v, rec.Version, nil
}

// PutJSON encodes v as JSON and writes it to ns/key if the record's version
// is expect (MustNotExist, AnyVersion or a version read before). A lost
// compare-and-set is ErrConflict, unwrapped.
func PutJSON(ctx context.Context, m Meta, ns, key string, v any, expect int64) (int64, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("storage: encode %s %q: %w", ns, key, err)
	}
	return m.Put(ctx, ns, key, raw, expect)
}
