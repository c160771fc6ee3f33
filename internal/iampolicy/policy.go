package iampolicy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Policy versions.
const (
	// Version2012 enables policy variables.
	Version2012 = "2012-10-17"
	// Version2008 is the original language version; it is assumed when a
	// document has no Version.
	Version2008 = "2008-10-17"
)

// MaxDocumentSize bounds the documents Parse reads (the largest resource
// policy a service accepts is well below it).
const MaxDocumentSize = 1 << 20

// Effect is a statement's effect.
type Effect string

// Effects.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Policy is a parsed policy document. Its zero value allows nothing.
type Policy struct {
	Version    string
	ID         string
	Statements []Statement
}

// Statement is one statement of a policy.
type Statement struct {
	Sid    string
	Effect Effect
	// Principal and NotPrincipal are nil when the element is absent (the
	// case of identity policies).
	Principal, NotPrincipal *Principals
	// Action and NotAction are "service:pattern" or "*"; exactly one is set.
	Action, NotAction []string
	// Resource and NotResource are ARN patterns; both empty means the
	// statement applies to the resource the policy is attached to.
	Resource, NotResource []string
	// Conditions are all conditions of the statement (a conjunction).
	Conditions []Condition
}

// Principals is the value of a Principal or NotPrincipal element.
type Principals struct {
	// All is set by "*" and by {"AWS": "*"}: everyone, including services
	// and anonymous callers.
	All bool
	// AWS are 12-digit account ids and IAM ARNs (account root, users,
	// roles, assumed-role sessions).
	AWS []string
	// Service are service principals ("events.amazonaws.com").
	Service []string
	// Federated are identity providers; CanonicalUser are S3 canonical ids.
	Federated, CanonicalUser []string
}

// Condition is one key of one condition operator block, e.g.
// {"StringEquals": {"aws:SourceAccount": ["111122223333"]}}.
type Condition struct {
	// Operator is the full operator as written, e.g.
	// "ForAnyValue:StringLikeIfExists".
	Operator string
	// Key is the condition key ("aws:SourceArn"); keys compare
	// case-insensitively.
	Key    string
	Values []string

	op        baseOp
	set       setQualifier
	ifExists  bool
	negate    bool
	nullCheck bool
}

// ValidationError is a policy document that breaks the grammar. Reason is
// IAM's wording ("Missing required field Effect", "Invalid principal in
// policy", ...); services that report a fixed message (SQS: "Invalid value
// for the parameter Policy.") ignore it.
type ValidationError struct {
	Reason string
}

// Error implements error.
func (e *ValidationError) Error() string { return "iampolicy: " + e.Reason }

func invalid(format string, args ...any) *ValidationError {
	return &ValidationError{Reason: fmt.Sprintf(format, args...)}
}

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	vendorRE  = regexp.MustCompile(`^[a-zA-Z0-9-]+$`)
)

var statementFields = map[string]bool{
	"Sid": true, "Effect": true, "Principal": true, "NotPrincipal": true, "Action": true,
	"NotAction": true, "Resource": true, "NotResource": true, "Condition": true,
}

// Parse parses and validates a policy document. It does not require
// principals; resource-policy owners call RequirePrincipals as well.
func Parse(doc []byte) (*Policy, error) {
	if len(doc) > MaxDocumentSize {
		return nil, invalid("Policy document is too large")
	}
	var top map[string]json.RawMessage
	if err := strictUnmarshal(doc, &top); err != nil || top == nil {
		return nil, invalid("Syntax errors in policy.")
	}
	p := &Policy{Version: Version2008}
	for _, k := range sortedKeys(top) {
		v := top[k]
		switch k {
		case "Version":
			s, ok := asString(v)
			if !ok || (s != Version2012 && s != Version2008) {
				return nil, invalid("The policy must contain a valid version string")
			}
			p.Version = s
		case "Id":
			s, ok := asString(v)
			if !ok {
				return nil, invalid("Syntax errors in policy.")
			}
			p.ID = s
		case "Statement":
		default:
			return nil, invalid("Unknown field %s", k)
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return nil, invalid("Missing required field Statement")
	}
	var list []json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &list); err != nil {
			return nil, invalid("Syntax errors in policy.")
		}
	} else {
		list = []json.RawMessage{raw}
	}
	if len(list) == 0 {
		return nil, invalid("Policy statement must contain at least one statement.")
	}
	sids := map[string]bool{}
	for _, r := range list {
		st, err := parseStatement(r, p.Version)
		if err != nil {
			return nil, err
		}
		if st.Sid != "" {
			if sids[st.Sid] {
				return nil, invalid("Statement IDs (SID) in a single policy must be unique.")
			}
			sids[st.Sid] = true
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

// RequirePrincipals checks that every statement names a Principal or a
// NotPrincipal, as resource policies must.
func (p *Policy) RequirePrincipals() error {
	for _, st := range p.Statements {
		if st.Principal == nil && st.NotPrincipal == nil {
			return invalid("Missing required field Principal")
		}
	}
	return nil
}

func parseStatement(raw json.RawMessage, version string) (Statement, error) {
	var st Statement
	var m map[string]json.RawMessage
	if err := strictUnmarshal(raw, &m); err != nil || m == nil {
		return st, invalid("Syntax errors in policy.")
	}
	for _, k := range sortedKeys(m) {
		if !statementFields[k] {
			return st, invalid("Unknown field %s", k)
		}
	}
	if v, ok := m["Sid"]; ok {
		s, ok := asString(v)
		if !ok {
			return st, invalid("Syntax errors in policy.")
		}
		st.Sid = s
	}
	eff, ok := m["Effect"]
	if !ok {
		return st, invalid("Missing required field Effect")
	}
	s, _ := asString(eff)
	switch Effect(s) {
	case Allow, Deny:
		st.Effect = Effect(s)
	default:
		return st, invalid("Invalid effect: %s", s)
	}
	var err error
	if st.Principal, err = principalField(m, "Principal"); err != nil {
		return st, err
	}
	if st.NotPrincipal, err = principalField(m, "NotPrincipal"); err != nil {
		return st, err
	}
	if st.Principal != nil && st.NotPrincipal != nil {
		return st, invalid("Statement cannot contain both Principal and NotPrincipal")
	}
	if st.Action, st.NotAction, err = pairField(m, "Action", "NotAction"); err != nil {
		return st, err
	}
	if st.Action == nil && st.NotAction == nil {
		return st, invalid("Policy statement must contain actions.")
	}
	for _, a := range append(append([]string(nil), st.Action...), st.NotAction...) {
		if !validAction(a) {
			return st, invalid("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
		}
	}
	if st.Resource, st.NotResource, err = pairField(m, "Resource", "NotResource"); err != nil {
		return st, err
	}
	for _, r := range append(append([]string(nil), st.Resource...), st.NotResource...) {
		if r != "*" && !strings.HasPrefix(r, "arn:") {
			return st, invalid("Policy has invalid resource")
		}
	}
	if c, ok := m["Condition"]; ok {
		if st.Conditions, err = parseConditions(c, version); err != nil {
			return st, err
		}
	}
	return st, nil
}

func validAction(a string) bool {
	if a == "*" {
		return true
	}
	vendor, name, ok := strings.Cut(a, ":")
	return ok && vendor != "" && name != "" && vendorRE.MatchString(vendor)
}

// pairField reads one of two mutually exclusive string-or-list elements.
func pairField(m map[string]json.RawMessage, name, notName string) (pos, neg []string, err error) {
	p, hasP := m[name]
	n, hasN := m[notName]
	if hasP && hasN {
		return nil, nil, invalid("Statement cannot contain both %s and %s", name, notName)
	}
	raw, field := p, name
	if hasN {
		raw, field = n, notName
	}
	if !hasP && !hasN {
		return nil, nil, nil
	}
	vals, ok := stringList(raw)
	if !ok || len(vals) == 0 {
		if field == "Action" || field == "NotAction" {
			return nil, nil, invalid("Policy statement must contain actions.")
		}
		return nil, nil, invalid("Policy statement must contain resources.")
	}
	if hasN {
		return nil, vals, nil
	}
	return vals, nil, nil
}

func principalField(m map[string]json.RawMessage, name string) (*Principals, error) {
	raw, ok := m[name]
	if !ok {
		return nil, nil
	}
	if s, ok := asString(raw); ok {
		if s != "*" {
			return nil, invalid("Invalid principal in policy")
		}
		return &Principals{All: true}, nil
	}
	var obj map[string]json.RawMessage
	if err := strictUnmarshal(raw, &obj); err != nil || len(obj) == 0 {
		return nil, invalid("Invalid principal in policy")
	}
	p := &Principals{}
	for _, k := range sortedKeys(obj) {
		vals, ok := stringList(obj[k])
		if !ok || len(vals) == 0 {
			return nil, invalid("Invalid principal in policy")
		}
		switch k {
		case "AWS":
			for _, v := range vals {
				if v == "*" {
					p.All = true
					continue
				}
				if !validAWSPrincipal(v) {
					return nil, invalid("Invalid principal in policy")
				}
				p.AWS = append(p.AWS, v)
			}
		case "Service":
			for _, v := range vals {
				if v == "" || strings.ContainsAny(v, "*? ") {
					return nil, invalid("Invalid principal in policy")
				}
				p.Service = append(p.Service, v)
			}
		case "Federated":
			p.Federated = append(p.Federated, vals...)
		case "CanonicalUser":
			p.CanonicalUser = append(p.CanonicalUser, vals...)
		default:
			return nil, invalid("Invalid principal in policy")
		}
	}
	return p, nil
}

// validAWSPrincipal accepts an account id or an IAM/STS ARN without
// wildcards.
func validAWSPrincipal(v string) bool {
	if accountRE.MatchString(v) {
		return true
	}
	if strings.ContainsAny(v, "*?") {
		return false
	}
	parts := strings.SplitN(v, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[3] != "" || !accountRE.MatchString(parts[4]) {
		return false
	}
	switch parts[2] {
	case "iam":
		return parts[5] == "root" || strings.HasPrefix(parts[5], "user/") || strings.HasPrefix(parts[5], "role/") ||
			strings.HasPrefix(parts[5], "federated-user/")
	case "sts":
		return strings.HasPrefix(parts[5], "assumed-role/") || strings.HasPrefix(parts[5], "federated-user/")
	}
	return false
}

// strictUnmarshal decodes a JSON object, rejecting trailing data.
func strictUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("iampolicy: trailing data")
	}
	var extra json.RawMessage
	if err := d.Decode(&extra); err == nil {
		return fmt.Errorf("iampolicy: trailing data")
	}
	return nil
}

func asString(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// stringList reads a string or a list of strings.
func stringList(raw json.RawMessage) ([]string, bool) {
	if s, ok := asString(raw); ok {
		return []string{s}, true
	}
	var l []string
	if json.Unmarshal(raw, &l) != nil {
		return nil, false
	}
	return l, true
}

// scalarList reads condition values: a scalar (string, number, boolean) or
// a list of scalars, all rendered as strings.
func scalarList(raw json.RawMessage) ([]string, bool) {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '[' {
		var l []json.RawMessage
		if json.Unmarshal(t, &l) != nil {
			return nil, false
		}
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, ok := scalar(e)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	s, ok := scalar(t)
	if !ok {
		return nil, false
	}
	return []string{s}, true
}

func scalar(raw json.RawMessage) (string, bool) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
