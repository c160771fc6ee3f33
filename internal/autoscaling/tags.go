package autoscaling

import (
	"context"
	"errors"
	"strings"

	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

const maxTags = 50

func checkTags(tags map[string]string) error {
	if len(tags) > maxTags {
		return tooManyTags()
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || strings.HasPrefix(k, "aws:") {
			return errValidation("Tag keys must be 1 to 128 characters and must not start with aws:")
		}
		if len(v) > 256 {
			return errValidation("Tag values must be at most 256 characters")
		}
	}
	return nil
}

func tooManyTags() error {
	e := errValidation("A scalable target can have at most %d tags", maxTags)
	e.Code = "TooManyTagsException"
	return e
}

// targetByARN finds a scalable target of the caller's account and region
// by ARN; only scalable targets can be tagged.
func (s *Service) targetByARN(ctx context.Context, call *service.Call, arn string) (targetRecord, string, int64, error) {
	if arn == "" {
		return targetRecord{}, "", 0, errValidation("1 validation error detected: Value null at 'resourceARN' failed to satisfy constraint: Member must not be null")
	}
	recs, keys, err := storage.ListJSON[targetRecord](ctx, s.deps.Meta, nsTargets, call.Account+"/"+call.Region+"/")
	if err != nil {
		return targetRecord{}, "", 0, err
	}
	for i, t := range recs {
		if t.ARN == arn {
			rec, err := s.deps.Meta.Get(ctx, nsTargets, keys[i])
			if err != nil {
				return targetRecord{}, "", 0, err
			}
			return t, keys[i], rec.Version, nil
		}
	}
	return targetRecord{}, "", 0, resourceNotFound(arn)
}

func resourceNotFound(arn string) error {
	e := errObjectNotFound("No scalable target found for ARN %s", arn)
	e.Code = "ResourceNotFoundException"
	return e
}

// updateTags applies f to a target's tags with compare-and-set.
func (s *Service) updateTags(ctx context.Context, call *service.Call, arn string, f func(map[string]string) error) error {
	for {
		t, key, ver, err := s.targetByARN(ctx, call, arn)
		if err != nil {
			return err
		}
		if t.Tags == nil {
			t.Tags = map[string]string{}
		}
		if err := f(t.Tags); err != nil {
			return err
		}
		if _, err := storage.PutJSON(ctx, s.deps.Meta, nsTargets, key, t, ver); errors.Is(err, storage.ErrConflict) {
			continue
		} else if err != nil {
			return err
		}
		return nil
	}
}

func (s *Service) tagResource(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		ResourceARN string            `json:"ResourceARN"`
		Tags        map[string]string `json:"Tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	call.RequestParameters = in
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	return map[string]any{}, s.updateTags(ctx, call, in.ResourceARN, func(tags map[string]string) error {
		for k, v := range in.Tags {
			tags[k] = v
		}
		if len(tags) > maxTags {
			return tooManyTags()
		}
		return nil
	})
}

func (s *Service) untagResource(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		ResourceARN string   `json:"ResourceARN"`
		TagKeys     []string `json:"TagKeys"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	call.RequestParameters = in
	return map[string]any{}, s.updateTags(ctx, call, in.ResourceARN, func(tags map[string]string) error {
		for _, k := range in.TagKeys {
			delete(tags, k)
		}
		return nil
	})
}

func (s *Service) listTagsForResource(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		ResourceARN string `json:"ResourceARN"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	t, _, _, err := s.targetByARN(ctx, call, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	tags := t.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{"Tags": tags}, nil
}
