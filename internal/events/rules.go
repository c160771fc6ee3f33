package events

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/fogbank/fogbank/internal/events/cron"
	"github.com/fogbank/fogbank/internal/pattern"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

type putRuleInput struct {
	Name               string
	ScheduleExpression string
	EventPattern       string
	State              string
	Description        *string
	RoleArn            *string
	Tags               []Tag
	EventBusName       string
}

// checkPattern validates an event pattern as EventBridge does.
func checkPattern(p string) error {
	if err := pattern.Validate([]byte(p)); err != nil {
		var ipe *pattern.InvalidPatternError
		if errors.As(err, &ipe) {
			return errInvalidPattern(ipe.RawMessage())
		}
		return errInvalidPattern(err.Error())
	}
	return nil
}

func (s *Service) putRule(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in putRuleInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v validationErrors
	v.pattern(in.Name, "name", nameRE, nameOK(in.Name))
	v.maxLen(in.Name, "name", 64)
	v.maxLen(in.EventPattern, "eventPattern", 4096)
	v.maxLen(in.ScheduleExpression, "scheduleExpression", 256)
	if in.State != "" {
		v.enum(in.State, "state", stateEnabled, stateDisabled, stateEnabledAll)
	}
	validateTags(&v, in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	if in.EventPattern == "" && in.ScheduleExpression == "" {
		return nil, errValidation("Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	ref, err := resolveBus(in.EventBusName, call.Account, call.Region)
	if err != nil {
		return nil, err
	}
	if ref.Account != call.Account {
		return nil, errAccessDenied("User: %s is not authorized to perform: events:PutRule on resource: %s", call.Identity.ARN, busARN(ref.Account, ref.Region, ref.Name))
	}
	if in.ScheduleExpression != "" {
		if ref.Name != defaultBus {
			return nil, errValidation("ScheduleExpression is supported only on the default event bus.")
		}
		if _, err := cron.Parse(in.ScheduleExpression); err != nil {
			return nil, errValidation("Parameter ScheduleExpression is not valid.")
		}
	}
	if in.EventPattern != "" {
		if err := checkPattern(in.EventPattern); err != nil {
			return nil, err
		}
	}
	if _, _, err := s.getBus(ctx, ref); err != nil {
		return nil, err
	}
	old, ver, err := s.getRule(ctx, ref.Account, ref.Region, ref.Name, in.Name)
	var pe *protocol.Error
	if err != nil && !(errors.As(err, &pe) && pe.Code == "ResourceNotFoundException") {
		return nil, err
	}
	r := &Rule{Name: in.Name, Bus: ref.Name, Account: ref.Account, Region: ref.Region, State: stateEnabled, CreatedBy: call.Account}
	expect := storage.MustNotExist
	if old != nil {
		if old.ManagedBy != "" {
			return nil, errManagedRule(in.Name)
		}
		r = old
		expect = ver
	} else if len(in.Tags) > 0 {
		r.Tags = map[string]string{}
		for _, t := range in.Tags {
			r.Tags[t.Key] = t.Value
		}
	}
	r.EventPattern = in.EventPattern
	r.ScheduleExpression = in.ScheduleExpression
	if in.State != "" {
		r.State = in.State
	}
	if in.Description != nil {
		r.Description = *in.Description
	}
	if in.RoleArn != nil {
		r.RoleArn = *in.RoleArn
	}
	r.Modified = s.now()
	if err := s.saveRule(ctx, r, expect); err != nil {
		return nil, err
	}
	call.Resources = append(call.Resources, service.Resource{Type: "AWS::Events::Rule", Name: r.ARN()})
	return map[string]string{"RuleArn": r.ARN()}, nil
}

type ruleNameInput struct {
	Name         string
	EventBusName string
	Force        bool
}

// ruleFor loads the rule a Name/EventBusName request names, checking the bus.
func (s *Service) ruleFor(ctx context.Context, call *service.Call, in ruleNameInput) (*Rule, int64, error) {
	ref, err := resolveBus(in.EventBusName, call.Account, call.Region)
	if err != nil {
		return nil, 0, err
	}
	if _, _, err := s.getBus(ctx, ref); err != nil {
		return nil, 0, err
	}
	return s.getRule(ctx, ref.Account, ref.Region, ref.Name, in.Name)
}

func (s *Service) deleteRule(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in ruleNameInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, ver, err := s.ruleFor(ctx, call, in)
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) && strings.HasPrefix(pe.Message, "Rule ") {
			return struct{}{}, nil // deleting a rule that does not exist succeeds
		}
		return nil, err
	}
	if r.ManagedBy != "" && !in.Force {
		return nil, errManagedRule(r.Name)
	}
	if len(r.Targets) > 0 {
		return nil, errValidation("Rule can't be deleted since it has targets.")
	}
	if err := s.deleteRuleRecord(ctx, r, ver); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type ruleOutput struct {
	Name               string `json:"Name"`
	Arn                string `json:"Arn"`
	EventPattern       string `json:"EventPattern,omitempty"`
	ScheduleExpression string `json:"ScheduleExpression,omitempty"`
	State              string `json:"State"`
	Description        string `json:"Description,omitempty"`
	RoleArn            string `json:"RoleArn,omitempty"`
	ManagedBy          string `json:"ManagedBy,omitempty"`
	EventBusName       string `json:"EventBusName"`
	CreatedBy          string `json:"CreatedBy,omitempty"`
}

func ruleView(r *Rule) ruleOutput {
	return ruleOutput{Name: r.Name, Arn: r.ARN(), EventPattern: r.EventPattern, ScheduleExpression: r.ScheduleExpression, State: r.State, Description: r.Description, RoleArn: r.RoleArn, ManagedBy: r.ManagedBy, EventBusName: r.Bus}
}

func (s *Service) describeRule(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in ruleNameInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, _, err := s.ruleFor(ctx, call, in)
	if err != nil {
		return nil, err
	}
	out := ruleView(r)
	out.CreatedBy = r.CreatedBy
	return out, nil
}

func (s *Service) setRuleState(ctx context.Context, call *service.Call, body []byte, state string) (any, error) {
	var in ruleNameInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, ver, err := s.ruleFor(ctx, call, in)
	if err != nil {
		return nil, err
	}
	if r.ManagedBy != "" {
		return nil, errManagedRule(r.Name)
	}
	if r.State == state || (state == stateEnabled && r.State == stateEnabledAll) {
		return struct{}{}, nil
	}
	r.State = state
	r.Modified = s.now()
	if err := s.saveRule(ctx, r, ver); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (s *Service) enableRule(ctx context.Context, call *service.Call, body []byte) (any, error) {
	return s.setRuleState(ctx, call, body, stateEnabled)
}

func (s *Service) disableRule(ctx context.Context, call *service.Call, body []byte) (any, error) {
	return s.setRuleState(ctx, call, body, stateDisabled)
}

type listRulesInput struct {
	NamePrefix   string
	EventBusName string
	NextToken    string
	Limit        *int
}

func (s *Service) listRules(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in listRulesInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, after, err := pageParams(in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	ref, err := resolveBus(in.EventBusName, call.Account, call.Region)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.getBus(ctx, ref); err != nil {
		return nil, err
	}
	c, err := s.cache(ctx, ref.Account, ref.Region, ref.Name)
	if err != nil {
		return nil, err
	}
	out := struct {
		Rules     []ruleOutput `json:"Rules"`
		NextToken string       `json:"NextToken,omitempty"`
	}{Rules: []ruleOutput{}}
	for _, r := range c.all() {
		if !strings.HasPrefix(r.Name, in.NamePrefix) || (after != "" && r.Name <= after) {
			continue
		}
		if limit > 0 && len(out.Rules) == limit {
			out.NextToken = encodeToken(out.Rules[limit-1].Name)
			break
		}
		out.Rules = append(out.Rules, ruleView(r))
	}
	return out, nil
}

type listRuleNamesInput struct {
	TargetArn    string
	EventBusName string
	NextToken    string
	Limit        *int
}

func (s *Service) listRuleNamesByTarget(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in listRuleNamesInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, after, err := pageParams(in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	ref, err := resolveBus(in.EventBusName, call.Account, call.Region)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.getBus(ctx, ref); err != nil {
		return nil, err
	}
	c, err := s.cache(ctx, ref.Account, ref.Region, ref.Name)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, r := range c.all() {
		for _, t := range r.Targets {
			if t.Arn == in.TargetArn {
				names = append(names, r.Name)
				break
			}
		}
	}
	sort.Strings(names)
	out := struct {
		RuleNames []string `json:"RuleNames"`
		NextToken string   `json:"NextToken,omitempty"`
	}{RuleNames: []string{}}
	for _, n := range names {
		if after != "" && n <= after {
			continue
		}
		if limit > 0 && len(out.RuleNames) == limit {
			out.NextToken = encodeToken(out.RuleNames[limit-1])
			break
		}
		out.RuleNames = append(out.RuleNames, n)
	}
	return out, nil
}
