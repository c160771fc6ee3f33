package autoscaling

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"sort"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

func decode(body []byte, v any) error { return protocol.UnmarshalJSON(body, v) }

// serviceLinkedRole is the role AWS creates for Lambda targets.
func serviceLinkedRole(account string) string {
	return "arn:aws:iam::" + account + ":role/aws-service-role/lambda.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency"
}

func (s *Service) registerScalableTarget(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		targetID
		MinCapacity    *int              `json:"MinCapacity"`
		MaxCapacity    *int              `json:"MaxCapacity"`
		RoleARN        string            `json:"RoleARN"`
		SuspendedState *suspendedState   `json:"SuspendedState"`
		Tags           map[string]string `json:"Tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	call.RequestParameters = in
	if err := in.check(); err != nil {
		return nil, err
	}
	if (in.MinCapacity != nil && *in.MinCapacity < 0) || (in.MaxCapacity != nil && *in.MaxCapacity < 0) {
		return nil, errValidation("Minimum and maximum capacity must be greater than or equal to 0")
	}
	key := in.key(call.Account, call.Region)
	var out targetRecord
	for {
		rec, ver, err := storage.GetJSON[targetRecord](ctx, s.deps.Meta, nsTargets, key)
		isNew := errors.Is(err, storage.ErrNotFound)
		if err != nil && !isNew {
			return nil, err
		}
		if isNew {
			if in.MinCapacity == nil || in.MaxCapacity == nil {
				return nil, errValidation("MinCapacity and MaxCapacity are required for registering a new scalable target")
			}
			rec = targetRecord{targetID: in.targetID, Account: call.Account, Region: call.Region, Created: call.Time, RoleARN: serviceLinkedRole(call.Account),
				ARN: "arn:aws:application-autoscaling:" + call.Region + ":" + call.Account + ":scalable-target/" + s.deps.IDs.Hex(18)}
			ver = storage.MustNotExist
		}
		if in.MinCapacity != nil {
			rec.Min = *in.MinCapacity
		}
		if in.MaxCapacity != nil {
			rec.Max = *in.MaxCapacity
		}
		if rec.Min > rec.Max {
			return nil, errValidation("Maximum capacity cannot be less than minimum capacity")
		}
		if in.SuspendedState != nil {
			rec.Suspended = *in.SuspendedState
		}
		if isNew && len(in.Tags) > 0 {
			if err := checkTags(in.Tags); err != nil {
				return nil, err
			}
			rec.Tags = in.Tags
		}
		if _, err := storage.PutJSON(ctx, s.deps.Meta, nsTargets, key, rec, ver); errors.Is(err, storage.ErrConflict) {
			continue
		} else if err != nil {
			return nil, err
		}
		out = rec
		break
	}
	// Bring the current capacity within the new bounds, as AWS does on
	// every registration.
	s.sc.enforceBounds(ctx, call.Account, call.Region, out.targetID)
	call.Resources = []service.Resource{{Type: "AWS::ApplicationAutoScaling::ScalableTarget", Name: out.ARN}}
	return map[string]any{"ScalableTargetARN": out.ARN}, nil
}

func (s *Service) deregisterScalableTarget(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in targetID
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	call.RequestParameters = in
	if err := in.check(); err != nil {
		return nil, err
	}
	key := in.key(call.Account, call.Region)
	// Deregistering deletes the target's policies (and would delete its
	// scheduled actions); capacity stays as it is.
	pols, keys, err := storage.ListJSON[policyRecord](ctx, s.deps.Meta, nsPolicies, key+"/")
	if err != nil {
		return nil, err
	}
	if err := s.deps.Meta.Delete(ctx, nsTargets, key, storage.AnyVersion); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, errTargetNotFound(in)
		}
		return nil, err
	}
	for i := range pols {
		if err := s.deps.Meta.Delete(ctx, nsPolicies, keys[i], storage.AnyVersion); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
	}
	s.sc.forget(key)
	return map[string]any{}, nil
}

type scalableTargetOut struct {
	ServiceNamespace  string                `json:"ServiceNamespace"`
	ResourceID        string                `json:"ResourceId"`
	ScalableDimension string                `json:"ScalableDimension"`
	MinCapacity       int                   `json:"MinCapacity"`
	MaxCapacity       int                   `json:"MaxCapacity"`
	RoleARN           string                `json:"RoleARN"`
	CreationTime      protocol.EpochSeconds `json:"CreationTime"`
	SuspendedState    suspendedState        `json:"SuspendedState"`
	ScalableTargetARN string                `json:"ScalableTargetARN"`
}

func (s *Service) describeScalableTargets(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		ServiceNamespace  string   `json:"ServiceNamespace"`
		ResourceIDs       []string `json:"ResourceIds"`
		ScalableDimension string   `json:"ScalableDimension"`
		MaxResults        *int     `json:"MaxResults"`
		NextToken         string   `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v validationErrors
	v.required("serviceNamespace", in.ServiceNamespace != "")
	v.enum("serviceNamespace", in.ServiceNamespace, serviceNamespaces)
	v.enum("scalableDimension", in.ScalableDimension, scalableDimensions)
	if err := v.err(); err != nil {
		return nil, err
	}
	size, err := pageSize(in.MaxResults, 50)
	if err != nil {
		return nil, err
	}
	recs, keys, err := storage.ListJSON[targetRecord](ctx, s.deps.Meta, nsTargets, call.Account+"/"+call.Region+"/"+in.ServiceNamespace+"/")
	if err != nil {
		return nil, err
	}
	var sel []targetRecord
	var selKeys []string
	for i, t := range recs {
		if (len(in.ResourceIDs) > 0 && !slices.Contains(in.ResourceIDs, t.ResourceID)) ||
			(in.ScalableDimension != "" && t.Dimension != in.ScalableDimension) {
			continue
		}
		sel, selKeys = append(sel, t), append(selKeys, keys[i])
	}
	page, next, err := paginate(sel, selKeys, in.NextToken, size)
	if err != nil {
		return nil, err
	}
	items := make([]scalableTargetOut, 0, len(page))
	for _, t := range page {
		items = append(items, scalableTargetOut{ServiceNamespace: t.Namespace, ResourceID: t.ResourceID, ScalableDimension: t.Dimension,
			MinCapacity: t.Min, MaxCapacity: t.Max, RoleARN: t.RoleARN, CreationTime: epoch(t.Created),
			SuspendedState: t.Suspended, ScalableTargetARN: t.ARN})
	}
	out := map[string]any{"ScalableTargets": items}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

// paginate returns the page of items (sorted by key) after the one the
// token names, and the token of the next page ("" when none).
func paginate[T any](items []T, keys []string, token string, size int) ([]T, string, error) {
	start := 0
	if token != "" {
		after, err := decodeToken(token)
		if err != nil {
			return nil, "", err
		}
		start = sort.SearchStrings(keys, after)
		if start < len(keys) && keys[start] == after {
			start++
		}
	}
	end := min(start+size, len(items))
	if start >= end {
		return nil, "", nil
	}
	next := ""
	if end < len(items) {
		next = encodeToken(keys[end-1])
	}
	return items[start:end], next, nil
}

func encodeToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func decodeToken(token string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) == 0 {
		return "", errInvalidNextToken()
	}
	return string(b), nil
}

// loadTarget returns a registered target or ObjectNotFoundException.
func (s *Service) loadTarget(ctx context.Context, account, region string, t targetID) (targetRecord, int64, error) {
	rec, ver, err := storage.GetJSON[targetRecord](ctx, s.deps.Meta, nsTargets, t.key(account, region))
	if errors.Is(err, storage.ErrNotFound) {
		return rec, 0, errTargetNotFound(t)
	}
	return rec, ver, err
}
