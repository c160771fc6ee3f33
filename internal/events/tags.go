package events

import (
	"context"
	"strings"

	"github.com/fogbank/fogbank/internal/service"
)

type tagInput struct {
	ResourceARN string
	Tags        []Tag
	TagKeys     []string
}

// taggable loads the bus or rule an ARN names and returns its tags and a
// function that stores new tags.
func (s *Service) taggable(ctx context.Context, call *service.Call, resourceARN string) (map[string]string, func(map[string]string) error, error) {
	a, ok := parseARN(resourceARN)
	if !ok || a.Service != "events" {
		return nil, nil, errValidation("Parameter ResourceARN is not valid.")
	}
	if a.Account != call.Account || a.Region != call.Region {
		return nil, nil, errAccessDenied("User: %s is not authorized to access resource: %s", call.Identity.ARN, resourceARN)
	}
	switch {
	case strings.HasPrefix(a.Resource, "event-bus/"):
		ref := busRef{a.Account, a.Region, strings.TrimPrefix(a.Resource, "event-bus/")}
		b, ver, err := s.getBus(ctx, ref)
		if err != nil {
			return nil, nil, err
		}
		return b.Tags, func(tags map[string]string) error {
			b.Tags = tags
			if b.Created.IsZero() {
				b.Created = s.now()
				b.Modified = b.Created
			}
			return s.putBus(ctx, b, ver)
		}, nil
	case strings.HasPrefix(a.Resource, "rule/"):
		rest := strings.TrimPrefix(a.Resource, "rule/")
		bus, name := defaultBus, rest
		if i := strings.LastIndexByte(rest, '/'); i >= 0 {
			bus, name = rest[:i], rest[i+1:]
		}
		if bus != defaultBus {
			if _, _, err := s.getBus(ctx, busRef{a.Account, a.Region, bus}); err != nil {
				return nil, nil, err
			}
		}
		r, ver, err := s.getRule(ctx, a.Account, a.Region, bus, name)
		if err != nil {
			return nil, nil, err
		}
		return r.Tags, func(tags map[string]string) error {
			r.Tags = tags
			return s.saveRule(ctx, r, ver)
		}, nil
	}
	return nil, nil, errValidation("Parameter ResourceARN is not valid.")
}

func (s *Service) tagResource(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in tagInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v validationErrors
	validateTags(&v, in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	tags, save, err := s.taggable(ctx, call, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	next := map[string]string{}
	for k, val := range tags {
		next[k] = val
	}
	for _, t := range in.Tags {
		next[t.Key] = t.Value
	}
	if len(next) > 50 {
		return nil, errLimit("The requested resource exceeds the maximum number allowed.")
	}
	if err := save(next); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (s *Service) untagResource(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in tagInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	tags, save, err := s.taggable(ctx, call, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	next := map[string]string{}
	for k, val := range tags {
		next[k] = val
	}
	for _, k := range in.TagKeys {
		delete(next, k)
	}
	if err := save(next); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (s *Service) listTagsForResource(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in tagInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	tags, _, err := s.taggable(ctx, call, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	return map[string][]Tag{"Tags": tagList(tags)}, nil
}
