package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

type createBusInput struct {
	Name             string
	EventSourceName  string
	Description      string
	KmsKeyIdentifier string
	DeadLetterConfig *DeadLetterConfig
	Tags             []Tag
}

type busOutput struct {
	Name             string                 `json:"Name,omitempty"`
	Arn              string                 `json:"Arn,omitempty"`
	EventBusArn      string                 `json:"EventBusArn,omitempty"`
	Description      string                 `json:"Description,omitempty"`
	KmsKeyIdentifier string                 `json:"KmsKeyIdentifier,omitempty"`
	DeadLetterConfig *DeadLetterConfig      `json:"DeadLetterConfig,omitempty"`
	Policy           string                 `json:"Policy,omitempty"`
	CreationTime     *protocol.EpochSeconds `json:"CreationTime,omitempty"`
	LastModifiedTime *protocol.EpochSeconds `json:"LastModifiedTime,omitempty"`
}

func dlqOf(arn string) *DeadLetterConfig {
	if arn == "" {
		return nil
	}
	return &DeadLetterConfig{Arn: arn}
}

func validateTags(v *validationErrors, tags []Tag) {
	for i, t := range tags {
		v.minLen(t.Key, fmt.Sprintf("tags.%d.member.key", i+1), 1)
		v.maxLen(t.Key, fmt.Sprintf("tags.%d.member.key", i+1), 128)
		v.maxLen(t.Value, fmt.Sprintf("tags.%d.member.value", i+1), 256)
	}
}

func (s *Service) createEventBus(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in createBusInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v validationErrors
	v.pattern(in.Name, "name", busNameRE, busNameOK(in.Name))
	v.maxLen(in.Name, "name", 256)
	validateTags(&v, in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	if in.Name == defaultBus {
		return nil, errExists("Event bus %s already exists.", in.Name)
	}
	if strings.HasPrefix(in.Name, "aws.partner/") && in.EventSourceName == "" {
		return nil, errValidation("Event source name is required for partner event bus.")
	}
	if strings.Contains(in.Name, "/") && !strings.HasPrefix(in.Name, "aws.partner/") {
		return nil, errValidation("Event bus name must not contain '/'.")
	}
	now := s.now()
	b := &Bus{Name: in.Name, Account: call.Account, Region: call.Region, Description: in.Description, KMSKey: in.KmsKeyIdentifier, Created: now, Modified: now}
	if in.DeadLetterConfig != nil {
		b.DLQ = in.DeadLetterConfig.Arn
	}
	if len(in.Tags) > 0 {
		b.Tags = map[string]string{}
		for _, t := range in.Tags {
			b.Tags[t.Key] = t.Value
		}
	}
	if err := s.putBus(ctx, b, storage.MustNotExist); err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code == "ConcurrentModificationException" {
			return nil, errExists("Event bus %s already exists.", in.Name)
		}
		return nil, err
	}
	call.Resources = append(call.Resources, service.Resource{Type: "AWS::Events::EventBus", Name: b.ARN()})
	return busOutput{EventBusArn: b.ARN(), Description: b.Description, KmsKeyIdentifier: b.KMSKey, DeadLetterConfig: dlqOf(b.DLQ)}, nil
}

type busNameInput struct {
	Name string
}

func (s *Service) deleteEventBus(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in busNameInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Name == defaultBus {
		return nil, errValidation("Cannot delete event bus default.")
	}
	ref, err := resolveBus(in.Name, call.Account, call.Region)
	if err != nil {
		return nil, err
	}
	// As recorded from AWS: deleting a bus that does not exist succeeds,
	// and a bus that still has rules (managed ones included) is refused.
	_, ver, err := s.getBus(ctx, ref)
	if isNotFound(err) {
		return struct{}{}, nil
	}
	if err != nil {
		return nil, err
	}
	rules, err := s.deps.Meta.List(ctx, nsRules, rulePrefix(ref.Account, ref.Region, ref.Name), "", 1)
	if err != nil {
		return nil, fmt.Errorf("events: list bus rules: %w", err)
	}
	if len(rules) > 0 {
		return nil, errValidation("EventBus can't be deleted since it has rules.")
	}
	if err := s.deps.Meta.Delete(ctx, nsBuses, busKey(ref.Account, ref.Region, ref.Name), ver); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return struct{}{}, nil
		}
		return nil, fmt.Errorf("events: delete bus: %w", err)
	}
	s.dropCache(ref.Account, ref.Region, ref.Name)
	s.scheduleChanged()
	return struct{}{}, nil
}

func busView(b *Bus) busOutput {
	return busOutput{Name: b.Name, Arn: b.ARN(), Description: b.Description, KmsKeyIdentifier: b.KMSKey, DeadLetterConfig: dlqOf(b.DLQ), Policy: b.Policy, CreationTime: epoch(b.Created), LastModifiedTime: epoch(b.Modified)}
}

func (s *Service) describeEventBus(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in busNameInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ref, err := resolveBus(in.Name, call.Account, call.Region)
	if err != nil {
		return nil, err
	}
	if ref.Account != call.Account || ref.Region != call.Region {
		return nil, errBusNotFound(ref.Name)
	}
	b, _, err := s.getBus(ctx, ref)
	if err != nil {
		return nil, err
	}
	return busView(b), nil
}

type listBusesInput struct {
	NamePrefix string
	NextToken  string
	Limit      *int
}

func (s *Service) listEventBuses(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in listBusesInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := checkLimit(in.Limit)
	if err != nil {
		return nil, err
	}
	recs, err := s.deps.Meta.List(ctx, nsBuses, call.Account+"/"+call.Region+"/", "", 0)
	if err != nil {
		return nil, fmt.Errorf("events: list buses: %w", err)
	}
	var buses []*Bus
	haveDefault := false
	for _, rec := range recs {
		var b Bus
		if err := json.Unmarshal(rec.Value, &b); err != nil {
			return nil, fmt.Errorf("events: decode bus: %w", err)
		}
		haveDefault = haveDefault || b.Name == defaultBus
		buses = append(buses, &b)
	}
	if !haveDefault {
		buses = append(buses, &Bus{Name: defaultBus, Account: call.Account, Region: call.Region})
	}
	sort.Slice(buses, func(i, j int) bool { return buses[i].Name < buses[j].Name })
	after := ""
	if in.NextToken != "" {
		if after, err = decodeToken(in.NextToken); err != nil {
			return nil, err
		}
	}
	out := struct {
		EventBuses []busOutput `json:"EventBuses"`
		NextToken  string      `json:"NextToken,omitempty"`
	}{EventBuses: []busOutput{}}
	for _, b := range buses {
		if !strings.HasPrefix(b.Name, in.NamePrefix) || (after != "" && b.Name <= after) {
			continue
		}
		if limit > 0 && len(out.EventBuses) == limit {
			out.NextToken = encodeToken(out.EventBuses[limit-1].Name)
			break
		}
		out.EventBuses = append(out.EventBuses, busView(b))
	}
	return out, nil
}

// pageParams validates a list call's Limit and decodes its NextToken into
// the key to list after.
func pageParams(l *int, token string) (limit int, after string, err error) {
	if limit, err = checkLimit(l); err != nil {
		return 0, "", err
	}
	if token != "" {
		if after, err = decodeToken(token); err != nil {
			return 0, "", err
		}
	}
	return limit, after, nil
}

// checkLimit validates a list Limit (1-100); nil means no limit.
func checkLimit(l *int) (int, error) {
	if l == nil {
		return 0, nil
	}
	if *l < 1 || *l > 100 {
		var v validationErrors
		if *l < 1 {
			v.add("Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *l)
		} else {
			v.add("Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100", *l)
		}
		return 0, v.err()
	}
	return *l, nil
}

type updateBusInput struct {
	Name             string
	Description      *string
	KmsKeyIdentifier *string
	DeadLetterConfig *DeadLetterConfig
}

func (s *Service) updateEventBus(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in updateBusInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ref, err := resolveBus(in.Name, call.Account, call.Region)
	if err != nil {
		return nil, err
	}
	b, ver, err := s.getBus(ctx, ref)
	if err != nil {
		return nil, err
	}
	if in.Description != nil {
		b.Description = *in.Description
	}
	if in.KmsKeyIdentifier != nil {
		b.KMSKey = *in.KmsKeyIdentifier
	}
	if in.DeadLetterConfig != nil {
		b.DLQ = in.DeadLetterConfig.Arn
	}
	b.Modified = s.now()
	if b.Created.IsZero() {
		b.Created = b.Modified
	}
	if err := s.putBus(ctx, b, ver); err != nil {
		return nil, err
	}
	v := busView(b)
	v.Policy, v.CreationTime, v.LastModifiedTime = "", nil, nil
	return v, nil
}
