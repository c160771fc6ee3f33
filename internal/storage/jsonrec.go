package storage

import (
	"context"
	"encoding/json"
	"fmt"
)

// GetJSON reads the record ns/key and decodes its JSON value into a T.
// It returns the record's version for a later compare-and-set; a missing
// record is ErrNotFound, unwrapped, so callers can map it to their own
// error.
func GetJSON[T any](ctx context.Context, m Meta, ns, key string) (T, int64, error) {
	var v T
	rec, err := m.Get(ctx, ns, key)
	if err != nil {
		return v, 0, err
	}
	if err := json.Unmarshal(rec.Value, &v); err != nil {
		return v, 0, fmt.Errorf("storage: decode %s %q: %w", ns, key, err)
	}
	return v, rec.Version, nil
}

// ListJSON decodes every record of ns whose key starts with prefix, in key
// order, and returns them with their keys.
func ListJSON[T any](ctx context.Context, m Meta, ns, prefix string) ([]T, []string, error) {
	recs, err := m.List(ctx, ns, prefix, "", 0)
	if err != nil {
		return nil, nil, err
	}
	out := make([]T, 0, len(recs))
	keys := make([]string, 0, len(recs))
	for _, r := range recs {
		var v T
		if err := json.Unmarshal(r.Value, &v); err != nil {
			return nil, nil, fmt.Errorf("storage: decode %s %q: %w", ns, r.Key, err)
		}
		out = append(out, v)
		keys = append(keys, r.Key)
	}
	return out, keys, nil
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
