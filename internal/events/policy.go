package events

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/fogbank/fogbank/internal/service"
)

// policyDoc is an IAM resource policy; statements keep AWS's member order.
type policyDoc struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid       string          `json:"Sid,omitempty"`
	Effect    string          `json:"Effect"`
	Principal json.RawMessage `json:"Principal,omitempty"`
	Action    json.RawMessage `json:"Action,omitempty"`
	Resource  json.RawMessage `json:"Resource,omitempty"`
	Condition json.RawMessage `json:"Condition,omitempty"`
}

type permissionCondition struct {
	Type  string
	Key   string
	Value string
}

type putPermissionInput struct {
	EventBusName string
	Action       string
	Principal    string
	StatementId  string
	Condition    *permissionCondition
	Policy       string
}

var accountRE = regexp.MustCompile(`^(\d{12}|\*)$`)

func (s *Service) putPermission(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in putPermissionInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ref, err := resolveBus(in.EventBusName, call.Account, call.Region)
	if err != nil {
		return nil, err
	}
	b, ver, err := s.getBus(ctx, ref)
	if err != nil {
		return nil, err
	}
	if in.Policy != "" {
		var doc policyDoc
		if json.Unmarshal([]byte(in.Policy), &doc) != nil || len(doc.Statement) == 0 {
			return nil, errValidation("Policy is not valid.")
		}
		b.Policy = in.Policy
	} else {
		var v validationErrors
		if in.Action != "events:PutEvents" {
			v.add("Value '%s' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: events:[a-zA-Z]+", in.Action)
		}
		v.pattern(in.Principal, "principal", `(\d{12}|\*)`, accountRE.MatchString(in.Principal))
		v.pattern(in.StatementId, "statementId", `[a-zA-Z0-9-_]+`, in.StatementId != "" && regexp.MustCompile(`^[a-zA-Z0-9-_]+$`).MatchString(in.StatementId))
		if err := v.err(); err != nil {
			return nil, err
		}
		doc := policyDoc{Version: "2012-10-17"}
		if b.Policy != "" {
			if err := json.Unmarshal([]byte(b.Policy), &doc); err != nil {
				doc = policyDoc{Version: "2012-10-17"}
			}
		}
		st := policyStatement{Sid: in.StatementId, Effect: "Allow", Action: mustJSON("events:PutEvents"), Resource: mustJSON(b.ARN())}
		if in.Principal == "*" {
			st.Principal = mustJSON("*")
		} else {
			st.Principal = mustJSON(map[string]string{"AWS": "arn:aws:iam::" + in.Principal + ":root"})
		}
		if in.Condition != nil {
			if in.Condition.Type != "StringEquals" || in.Condition.Key != "aws:PrincipalOrgID" {
				return nil, errValidation("Condition is not valid.")
			}
			st.Condition = mustJSON(map[string]map[string]string{"StringEquals": {"aws:PrincipalOrgID": in.Condition.Value}})
		}
		replaced := false
		for i := range doc.Statement {
			if doc.Statement[i].Sid == in.StatementId {
				doc.Statement[i] = st
				replaced = true
			}
		}
		if !replaced {
			doc.Statement = append(doc.Statement, st)
		}
		b.Policy = string(mustJSON(doc))
	}
	b.Modified = s.now()
	if b.Created.IsZero() {
		b.Created = b.Modified
	}
	if err := s.putBus(ctx, b, ver); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type removePermissionInput struct {
	EventBusName         string
	StatementId          string
	RemoveAllPermissions bool
}

func (s *Service) removePermission(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in removePermissionInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ref, err := resolveBus(in.EventBusName, call.Account, call.Region)
	if err != nil {
		return nil, err
	}
	b, ver, err := s.getBus(ctx, ref)
	if err != nil {
		return nil, err
	}
	if in.RemoveAllPermissions {
		b.Policy = ""
	} else {
		var doc policyDoc
		if b.Policy == "" || json.Unmarshal([]byte(b.Policy), &doc) != nil {
			return nil, errNotFound("EventBus does not have a policy.")
		}
		kept := doc.Statement[:0]
		found := false
		for _, st := range doc.Statement {
			if st.Sid == in.StatementId {
				found = true
				continue
			}
			kept = append(kept, st)
		}
		if !found {
			return nil, errNotFound("Statement with the provided id does not exist.")
		}
		doc.Statement = kept
		if len(kept) == 0 {
			b.Policy = ""
		} else {
			b.Policy = string(mustJSON(doc))
		}
	}
	b.Modified = s.now()
	if err := s.putBus(ctx, b, ver); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("events: marshal: " + err.Error()) // only called on plain data
	}
	return b
}

// allowsPutEvents reports whether a bus's resource policy lets principal
// account put events on it. A bus's own account is always allowed (its
// IAM policies are not modelled). Deny statements win over Allow.
// Conditions (aws:PrincipalOrgID and others) cannot be satisfied: Fogbank
// has no organizations.
func allowsPutEvents(b *Bus, account string) bool {
	if account == b.Account {
		return true
	}
	if b.Policy == "" {
		return false
	}
	var doc policyDoc
	if json.Unmarshal([]byte(b.Policy), &doc) != nil {
		return false
	}
	allowed := false
	for _, st := range doc.Statement {
		if !principalMatches(st.Principal, account) || !actionMatches(st.Action) || !resourceMatches(st.Resource, b.ARN()) {
			continue
		}
		if strings.EqualFold(st.Effect, "Deny") {
			return false
		}
		if strings.EqualFold(st.Effect, "Allow") && len(st.Condition) == 0 {
			allowed = true
		}
	}
	return allowed
}

func stringsOf(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	json.Unmarshal(raw, &many)
	return many
}

func principalMatches(raw json.RawMessage, account string) bool {
	if len(raw) == 0 {
		return false
	}
	var vals []string
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		vals = stringsOf(obj["AWS"])
	} else {
		vals = stringsOf(raw)
	}
	for _, p := range vals {
		if p == "*" || p == account || p == "arn:aws:iam::"+account+":root" {
			return true
		}
		if a, ok := parseARN(p); ok && a.Service == "iam" && a.Account == account {
			return true
		}
	}
	return false
}

func actionMatches(raw json.RawMessage) bool {
	for _, a := range stringsOf(raw) {
		if a == "*" || strings.EqualFold(a, "events:PutEvents") || strings.EqualFold(a, "events:*") {
			return true
		}
	}
	return false
}

func resourceMatches(raw json.RawMessage, busArn string) bool {
	if len(raw) == 0 {
		return true
	}
	for _, r := range stringsOf(raw) {
		if r == "*" || r == busArn {
			return true
		}
		if strings.HasSuffix(r, "*") && strings.HasPrefix(busArn, strings.TrimSuffix(r, "*")) {
			return true
		}
	}
	return false
}
