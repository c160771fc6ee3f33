package autoscaling

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// activityKey sorts a target's activities newest first.
func activityKey(targetKey string, start time.Time, id string) string {
	return fmt.Sprintf("%s/%019d-%s", targetKey, math.MaxInt64-start.UnixNano(), id)
}

type scalingActivityOut struct {
	ActivityID        string                 `json:"ActivityId"`
	ServiceNamespace  string                 `json:"ServiceNamespace"`
	ResourceID        string                 `json:"ResourceId"`
	ScalableDimension string                 `json:"ScalableDimension"`
	Description       string                 `json:"Description"`
	Cause             string                 `json:"Cause"`
	StartTime         protocol.EpochSeconds  `json:"StartTime"`
	EndTime           *protocol.EpochSeconds `json:"EndTime,omitempty"`
	StatusCode        string                 `json:"StatusCode"`
	StatusMessage     string                 `json:"StatusMessage,omitempty"`
}

func (a activityRecord) wire() scalingActivityOut {
	out := scalingActivityOut{ActivityID: a.ID, ServiceNamespace: a.Namespace, ResourceID: a.ResourceID,
		ScalableDimension: a.Dimension, Description: a.Description, Cause: a.Cause, StartTime: epoch(a.Start),
		StatusCode: a.Status, StatusMessage: a.StatusMessage}
	if !a.End.IsZero() {
		e := epoch(a.End)
		out.EndTime = &e
	}
	return out
}

func (s *Service) describeScalingActivities(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		ServiceNamespace           string `json:"ServiceNamespace"`
		ResourceID                 string `json:"ResourceId"`
		ScalableDimension          string `json:"ScalableDimension"`
		MaxResults                 *int   `json:"MaxResults"`
		NextToken                  string `json:"NextToken"`
		IncludeNotScaledActivities bool   `json:"IncludeNotScaledActivities"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v validationErrors
	v.required("serviceNamespace", in.ServiceNamespace != "")
	v.enum("serviceNamespace", in.ServiceNamespace, serviceNamespaces)
	v.enum("scalableDimension", in.ScalableDimension, scalableDimensions)
	v.length("resourceId", in.ResourceID, 1, 1600)
	if err := v.err(); err != nil {
		return nil, err
	}
	if in.ScalableDimension != "" && in.ResourceID == "" {
		return nil, errValidation("If you specify a scalable dimension, you must also specify a resource ID")
	}
	size, err := pageSize(in.MaxResults, 50)
	if err != nil {
		return nil, err
	}
	prefix := call.Account + "/" + call.Region + "/" + in.ServiceNamespace + "/"
	recs, keys, err := storage.ListJSON[activityRecord](ctx, s.deps.Meta, nsActivities, prefix)
	if err != nil {
		return nil, err
	}
	var sel []activityRecord
	var selKeys []string
	for i, a := range recs {
		if (in.ResourceID != "" && a.ResourceID != in.ResourceID) || (in.ScalableDimension != "" && a.Dimension != in.ScalableDimension) {
			continue
		}
		sel, selKeys = append(sel, a), append(selKeys, keys[i])
	}
	if in.ResourceID == "" {
		// Across targets, newest first as AWS lists them.
		sortNewestFirst(sel, selKeys)
	}
	page, next, err := paginateOrdered(sel, selKeys, in.NextToken, size)
	if err != nil {
		return nil, err
	}
	items := make([]scalingActivityOut, 0, len(page))
	for _, a := range page {
		items = append(items, a.wire())
	}
	out := map[string]any{"ScalingActivities": items}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

// sortNewestFirst orders activities of several targets by start time
// (newest first), keys alongside.
func sortNewestFirst(acts []activityRecord, keys []string) {
	// Insertion sort keeps it stable and simple; the lists are short.
	for i := 1; i < len(acts); i++ {
		for j := i; j > 0 && acts[j].Start.After(acts[j-1].Start); j-- {
			acts[j], acts[j-1] = acts[j-1], acts[j]
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

// paginateOrdered is paginate for a list in any fixed order: the token
// names the last key returned.
func paginateOrdered[T any](items []T, keys []string, token string, size int) ([]T, string, error) {
	start := 0
	if token != "" {
		after, err := decodeToken(token)
		if err != nil {
			return nil, "", err
		}
		start = -1
		for i, k := range keys {
			if k == after {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, "", errInvalidNextToken()
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
