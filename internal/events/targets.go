package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/fogbank/fogbank/internal/events/transform"
	"github.com/fogbank/fogbank/internal/service"
)

// maxTargets is AWS's limit of targets per rule.
const maxTargets = 5

type putTargetsInput struct {
	Rule         string
	EventBusName string
	Targets      []Target
}

type failedTarget struct {
	TargetId     string `json:"TargetId"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

type targetsResult struct {
	FailedEntryCount int            `json:"FailedEntryCount"`
	FailedEntries    []failedTarget `json:"FailedEntries"`
}

// validateTarget checks one target as PutTargets does; i is its 1-based
// position for constraint messages.
func validateTarget(v *validationErrors, i int, t *Target) {
	field := func(f string) string { return fmt.Sprintf("targets.%d.member.%s", i, f) }
	v.pattern(t.Id, field("id"), nameRE, nameOK(t.Id))
	v.maxLen(t.Id, field("id"), 64)
	v.minLen(t.Arn, field("arn"), 1)
	v.maxLen(t.Arn, field("arn"), 1600)
	if p := t.RetryPolicy; p != nil {
		if n := p.MaximumRetryAttempts; n != nil && (*n < 0 || *n > 185) {
			bound := "greater than or equal to 0"
			if *n > 185 {
				bound = "less than or equal to 185"
			}
			v.add("Value '%d' at '%s' failed to satisfy constraint: Member must have value %s", *n, field("retryPolicy.maximumRetryAttempts"), bound)
		}
		if n := p.MaximumEventAgeInSeconds; n != nil && (*n < 60 || *n > 86400) {
			bound := "greater than or equal to 60"
			if *n > 86400 {
				bound = "less than or equal to 86400"
			}
			v.add("Value '%d' at '%s' failed to satisfy constraint: Member must have value %s", *n, field("retryPolicy.maximumEventAgeInSeconds"), bound)
		}
	}
}

// checkTargetInput validates Input / InputPath / InputTransformer.
func checkTargetInput(t *Target) error {
	n := 0
	if t.Input != "" {
		n++
	}
	if t.InputPath != "" {
		n++
	}
	if t.InputTransformer != nil {
		n++
	}
	if n > 1 {
		return errValidation("Only one of Input, InputPath, or InputTransformer must be provided for target %s.", t.Id)
	}
	if t.Input != "" && !json.Valid([]byte(t.Input)) {
		return errValidation("Input for target %s is not valid JSON.", t.Id)
	}
	if t.InputPath != "" {
		if _, err := transform.ParsePath(t.InputPath); err != nil {
			return errValidation("InputPath for target %s is invalid.", t.Id)
		}
	}
	if it := t.InputTransformer; it != nil {
		if len(it.InputPathsMap) > transform.MaxPathsMapEntries {
			return errValidation("InputPathsMap for target %s has more than %d entries.", t.Id, transform.MaxPathsMapEntries)
		}
		for k := range it.InputPathsMap {
			if strings.HasPrefix(k, "aws.") {
				return errValidation("InputTransformer for target %s contains invalid key %s.", t.Id, k)
			}
		}
		if _, err := transform.New(it.InputPathsMap, it.InputTemplate); err != nil {
			var pe *transform.PlaceholderError
			if errors.As(err, &pe) {
				return errValidation("InputTemplate for target %s contains invalid placeholder %s.", t.Id, pe.Name)
			}
			var pathErr *transform.PathError
			if errors.As(err, &pathErr) {
				return errValidation("InputPathsMap for target %s contains invalid JSONPath %s.", t.Id, pathErr.Path)
			}
			return errValidation("InputTransformer for target %s is invalid.", t.Id)
		}
	}
	if a, ok := parseARN(t.Arn); ok && a.Service == "sqs" && strings.HasSuffix(a.Resource, ".fifo") {
		if t.SqsParameters == nil || t.SqsParameters.MessageGroupId == "" {
			return errValidation("Parameter(s) SqsParameters must be specified for target: %s.", t.Id)
		}
	}
	return nil
}

func (s *Service) putTargets(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in putTargetsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v validationErrors
	if len(in.Targets) == 0 {
		v.add("Value '[]' at 'targets' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	for i := range in.Targets {
		validateTarget(&v, i+1, &in.Targets[i])
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	r, ver, err := s.ruleFor(ctx, call, ruleNameInput{Name: in.Rule, EventBusName: in.EventBusName})
	if err != nil {
		return nil, err
	}
	if r.ManagedBy != "" {
		return nil, errManagedRule(r.Name)
	}
	for i := range in.Targets {
		if err := checkTargetInput(&in.Targets[i]); err != nil {
			return nil, err
		}
	}
	merged := append([]Target(nil), r.Targets...)
	for _, t := range in.Targets {
		replaced := false
		for i := range merged {
			if merged[i].Id == t.Id {
				merged[i] = t
				replaced = true
				break
			}
		}
		if !replaced {
			merged = append(merged, t)
		}
	}
	if len(merged) > maxTargets {
		return nil, errLimit("The requested resource exceeds the maximum number allowed.")
	}
	r.Targets = merged
	if err := s.saveRule(ctx, r, ver); err != nil {
		return nil, err
	}
	return targetsResult{FailedEntries: []failedTarget{}}, nil
}

type removeTargetsInput struct {
	Rule         string
	EventBusName string
	Ids          []string
	Force        bool
}

func (s *Service) removeTargets(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in removeTargetsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Ids) == 0 {
		return nil, errValidation("1 validation error detected: Value '[]' at 'ids' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	r, ver, err := s.ruleFor(ctx, call, ruleNameInput{Name: in.Rule, EventBusName: in.EventBusName})
	if err != nil {
		return nil, err
	}
	if r.ManagedBy != "" && !in.Force {
		return nil, errManagedRule(r.Name)
	}
	drop := map[string]bool{}
	for _, id := range in.Ids {
		drop[id] = true
	}
	kept := r.Targets[:0:0]
	for _, t := range r.Targets {
		if !drop[t.Id] {
			kept = append(kept, t)
		}
	}
	r.Targets = kept
	if err := s.saveRule(ctx, r, ver); err != nil {
		return nil, err
	}
	return targetsResult{FailedEntries: []failedTarget{}}, nil
}

type listTargetsInput struct {
	Rule         string
	EventBusName string
	NextToken    string
	Limit        *int
}

func (s *Service) listTargetsByRule(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in listTargetsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := checkLimit(in.Limit)
	if err != nil {
		return nil, err
	}
	r, _, err := s.ruleFor(ctx, call, ruleNameInput{Name: in.Rule, EventBusName: in.EventBusName})
	if err != nil {
		return nil, err
	}
	start := 0
	if in.NextToken != "" {
		id, err := decodeToken(in.NextToken)
		if err != nil {
			return nil, err
		}
		for i, t := range r.Targets {
			if t.Id == id {
				start = i + 1
			}
		}
	}
	out := struct {
		Targets   []Target `json:"Targets"`
		NextToken string   `json:"NextToken,omitempty"`
	}{Targets: []Target{}}
	for _, t := range r.Targets[start:] {
		if limit > 0 && len(out.Targets) == limit {
			out.NextToken = encodeToken(out.Targets[limit-1].Id)
			break
		}
		out.Targets = append(out.Targets, t)
	}
	return out, nil
}
