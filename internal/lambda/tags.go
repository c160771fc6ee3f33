package lambda

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

func validateTags(tags map[string]string) error {
	if len(tags) > 50 {
		return errInvalidParam("Number of tags exceeds resource tag limit.")
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return errInvalidParam("An error occurred while tagging the resource: invalid tag %q.", k)
		}
	}
	return nil
}

// taggable resolves a tag resource ARN to its record kind and key.
func (s *Service) tagTarget(r *http.Request, call *service.Call) (kind, key, arn string, err error) {
	arn, _ = url.PathUnescape(r.PathValue("arn"))
	svc, region, account, res, ok := parseARN(arn)
	if !ok || svc != "lambda" {
		return "", "", arn, errValidation("1 validation error detected: Value '%s' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", arn)
	}
	parts := strings.Split(res, ":")
	switch {
	case parts[0] == "function" && len(parts) >= 2:
		if len(parts) > 2 {
			return "", "", arn, errInvalidParam("Tags on function aliases and versions are not supported. Please specify a function ARN.")
		}
		if account != call.Account || region != call.Region {
			return "", "", arn, errFunctionNotFound(arn)
		}
		return "function", account + "/" + region + "/" + parts[1], arn, nil
	case parts[0] == "event-source-mapping" && len(parts) == 2:
		return "esm", account + "/" + region + "/" + parts[1], arn, nil
	}
	return "", "", arn, errInvalidParam("Unsupported resource %s for tagging.", arn)
}

func (s *Service) tagResource(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	kind, key, arn, err := s.tagTarget(r, call)
	if err != nil {
		return err
	}
	var in struct {
		Tags map[string]string `json:"Tags"`
	}
	if err := protocol.DecodeJSON(r, &in); err != nil {
		return err
	}
	if err := validateTags(in.Tags); err != nil {
		return err
	}
	return s.mutateTags(w, r, kind, key, arn, func(t map[string]string) map[string]string {
		if t == nil {
			t = map[string]string{}
		}
		for k, v := range in.Tags {
			t[k] = v
		}
		return t
	})
}

func (s *Service) untagResource(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	kind, key, arn, err := s.tagTarget(r, call)
	if err != nil {
		return err
	}
	keys := r.URL.Query()["tagKeys"]
	return s.mutateTags(w, r, kind, key, arn, func(t map[string]string) map[string]string {
		for _, k := range keys {
			delete(t, k)
		}
		return t
	})
}

func (s *Service) mutateTags(w http.ResponseWriter, r *http.Request, kind, key, arn string, f func(map[string]string) map[string]string) error {
	ctx := r.Context()
	if kind == "function" {
		parts := strings.SplitN(key, "/", 3)
		unlock := s.lockFn(fnRef{Account: parts[0], Region: parts[1], Name: parts[2]})
		defer unlock()
	}
	tags, save, err := s.tagged(ctx, kind, key, arn)
	if err != nil {
		return err
	}
	if err := save(f(tags)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) listTags(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	kind, key, arn, err := s.tagTarget(r, call)
	if err != nil {
		return err
	}
	t, _, err := s.tagged(r.Context(), kind, key, arn)
	if err != nil {
		return err
	}
	tags := map[string]string{}
	for k, v := range t {
		tags[k] = v
	}
	s.codec.WriteJSON(w, http.StatusOK, map[string]any{"Tags": tags})
	return nil
}

// tagged loads the function or event source mapping that kind and key name
// and returns its tags and a function that stores new tags with
// compare-and-set. Another kind has no tags and nothing to store.
func (s *Service) tagged(ctx context.Context, kind, key, arn string) (map[string]string, func(map[string]string) error, error) {
	switch kind {
	case "function":
		return loadTagged(ctx, s.deps.Meta, nsFunctions, key, func() error {
			return errFunctionNotFound(arn)
		}, func(f *fnRecord) *map[string]string { return &f.Tags })
	case "esm":
		return loadTagged(ctx, s.deps.Meta, nsESM, key, func() error {
			return errNotFound("Event source mapping not found: %s", arn)
		}, func(e *esmRecord) *map[string]string { return &e.Tags })
	}
	return nil, func(map[string]string) error { return nil }, nil
}

// loadTagged reads the record ns/key and returns the tags field picks and
// a function that writes the record back, with new tags, if it has not
// changed since.
func loadTagged[T any](ctx context.Context, m storage.Meta, ns, key string, notFound func() error, field func(*T) *map[string]string) (map[string]string, func(map[string]string) error, error) {
	v, ver, err := loadJSON[T](ctx, m, ns, key, notFound)
	if err != nil {
		return nil, nil, err
	}
	return *field(&v), func(tags map[string]string) error {
		*field(&v) = tags
		_, err := storage.PutJSON(ctx, m, ns, key, v, ver)
		return err
	}, nil
}
