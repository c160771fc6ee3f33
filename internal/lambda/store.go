package lambda

import (
	"context"
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

// loadJSON is storage.GetJSON with a missing record turned into the error notFound
// builds.
func loadJSON[T any](ctx context.Context, m storage.Meta, ns, key string, notFound func() error) (T, int64, error) {
	v, ver, err := storage.GetJSON[T](ctx, m, ns, key)
	if errors.Is(err, storage.ErrNotFound) {
		return v, 0, notFound()
	}
	return v, ver, err
}

// loadFunction returns the function record or ResourceNotFoundException.
func (s *Service) loadFunction(ctx context.Context, ref fnRef) (fnRecord, int64, error) {
	return loadJSON[fnRecord](ctx, s.deps.Meta, nsFunctions, ref.key(), func() error {
		return errFunctionNotFound(ref.arn())
	})
}

// loadVersion returns a published version's configuration.
func (s *Service) loadVersion(ctx context.Context, ref fnRef, version string) (fnConfig, error) {
	c, _, err := loadJSON[fnConfig](ctx, s.deps.Meta, nsVersions, versionRecordKey(ref, version), func() error {
		return errFunctionNotFound(ref.arn() + ":" + version)
	})
	return c, err
}

// versionRecordKey is the Meta key of a published version, named by its
// number in decimal.
func versionRecordKey(ref fnRef, version string) string {
	var n int
	fmt.Sscan(version, &n)
	return ref.key() + "/" + versionKey(n)
}

func (s *Service) loadAlias(ctx context.Context, ref fnRef, alias string) (aliasRecord, int64, error) {
	return loadJSON[aliasRecord](ctx, s.deps.Meta, nsAliases, ref.key()+"/"+alias, func() error {
		return errFunctionNotFound(ref.arn() + ":" + alias)
	})
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
