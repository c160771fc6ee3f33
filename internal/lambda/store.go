package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/fogbank/fogbank/internal/storage"
)

// Meta namespaces. Keys start with account/region/function-name.
const (
	nsFunctions   = "lambda.functions"
	nsVersions    = "lambda.versions"
	nsAliases     = "lambda.aliases"
	nsEventConfig = "lambda.eventinvoke"
	nsESM         = "lambda.esm"
	nsURLs        = "lambda.urls"
	nsURLIDs      = "lambda.urlids"
	nsProvisioned = "lambda.provisioned"
	nsLayers      = "lambda.layers"
)

func getJSON[T any](ctx context.Context, m storage.Meta, ns, key string) (T, int64, error) {
	var v T
	rec, err := m.Get(ctx, ns, key)
	if err != nil {
		return v, 0, err
	}
	if err := json.Unmarshal(rec.Value, &v); err != nil {
		return v, 0, fmt.Errorf("lambda: decode %s %s: %w", ns, key, err)
	}
	return v, rec.Version, nil
}

func putJSON(ctx context.Context, m storage.Meta, ns, key string, v any, expect int64) (int64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("lambda: encode %s %s: %w", ns, key, err)
	}
	return m.Put(ctx, ns, key, b, expect)
}

func listJSON[T any](ctx context.Context, m storage.Meta, ns, prefix string) ([]T, []string, error) {
	recs, err := m.List(ctx, ns, prefix, "", 0)
	if err != nil {
		return nil, nil, err
	}
	out := make([]T, 0, len(recs))
	keys := make([]string, 0, len(recs))
	for _, r := range recs {
		var v T
		if err := json.Unmarshal(r.Value, &v); err != nil {
			return nil, nil, fmt.Errorf("lambda: decode %s %s: %w", ns, r.Key, err)
		}
		out = append(out, v)
		keys = append(keys, r.Key)
	}
	return out, keys, nil
}

// loadFunction returns the function record or ResourceNotFoundException.
func (s *Service) loadFunction(ctx context.Context, ref fnRef) (fnRecord, int64, error) {
	f, ver, err := getJSON[fnRecord](ctx, s.deps.Meta, nsFunctions, ref.key())
	if errors.Is(err, storage.ErrNotFound) {
		return f, 0, errFunctionNotFound(ref.arn())
	}
	return f, ver, err
}

// loadVersion returns a published version's configuration.
func (s *Service) loadVersion(ctx context.Context, ref fnRef, version string) (fnConfig, error) {
	var n int
	fmt.Sscan(version, &n)
	c, _, err := getJSON[fnConfig](ctx, s.deps.Meta, nsVersions, ref.key()+"/"+versionKey(n))
	if errors.Is(err, storage.ErrNotFound) {
		return c, errFunctionNotFound(ref.arn() + ":" + version)
	}
	return c, err
}

func (s *Service) loadAlias(ctx context.Context, ref fnRef, alias string) (aliasRecord, int64, error) {
	a, v, err := getJSON[aliasRecord](ctx, s.deps.Meta, nsAliases, ref.key()+"/"+alias)
	if errors.Is(err, storage.ErrNotFound) {
		return a, 0, errFunctionNotFound(ref.arn() + ":" + alias)
	}
	return a, v, err
}

// resolved is a function reference resolved to one version's configuration.
type resolved struct {
	ref fnRef
	fn  fnRecord
	cfg fnConfig
	// alias is set when the qualifier named an alias.
	alias *aliasRecord
	// hot is set when the records came from the hot cache (resolveHot).
	hot bool
}

// resolve loads the function and the configuration the qualifier selects
// (an alias resolves to its primary version; weighted routing is applied
// by the invoke path).
func (s *Service) resolve(ctx context.Context, ref fnRef) (resolved, error) {
	fn, _, err := s.loadFunction(ctx, ref)
	if err != nil {
		if ref.Qualifier != "" {
			return resolved{}, errFunctionNotFound(ref.qualifiedARN())
		}
		return resolved{}, err
	}
	res := resolved{ref: ref, fn: fn}
	switch q := ref.Qualifier; {
	case q == "" || q == latest:
		res.cfg = fn.Latest
	case isVersionNumber(q):
		res.cfg, err = s.loadVersion(ctx, ref, q)
	default:
		a, _, aerr := s.loadAlias(ctx, ref, q)
		if aerr != nil {
			return res, aerr
		}
		res.alias = &a
		if a.FunctionVersion == latest {
			res.cfg = fn.Latest
		} else {
			res.cfg, err = s.loadVersion(ctx, ref, a.FunctionVersion)
		}
	}
	return res, err
}
