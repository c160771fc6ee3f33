package iampolicy

import (
	"strings"
)

// Principal types, as aws:PrincipalType reports them.
const (
	TypeAccount     = "Account" // an account's root user
	TypeUser        = "User"
	TypeAssumedRole = "AssumedRole"
	TypeService     = "AWSService"
	TypeAnonymous   = "Anonymous"
)

// Principal is who makes a request.
type Principal struct {
	// Account is the caller's account id ("" for service principals and
	// anonymous callers).
	Account string
	// ARN is the caller's ARN: arn:aws:iam::ACCT:root, an IAM user ARN or
	// an assumed-role session ARN (arn:aws:sts::ACCT:assumed-role/R/S).
	ARN string
	// Type is one of the Type* constants (CloudTrail's "Root" and
	// "IAMUser" are accepted too); empty is inferred from ARN.
	Type string
	// RoleARN is the role an assumed-role session belongs to; a policy
	// that names the role matches its sessions.
	RoleARN string
	// ServicePrincipal is set when an AWS service acts on its own behalf
	// ("events.amazonaws.com"); AWS-account principals never match it.
	ServicePrincipal string
}

// Request is one authorization question.
type Request struct {
	Principal Principal
	// Action is "service:Operation" ("sqs:SendMessage"); compared
	// case-insensitively.
	Action string
	// Resource is the ARN the action applies to.
	Resource string
	// Context holds condition keys (aws:SourceArn, aws:SourceAccount,
	// aws:CurrentTime, aws:SecureTransport, ...). Keys compare
	// case-insensitively. aws:PrincipalArn, aws:PrincipalAccount,
	// aws:PrincipalType, aws:PrincipalIsAWSService and
	// aws:PrincipalServiceName are derived from Principal when absent.
	Context map[string][]string
}

// Decision is the outcome of evaluating one policy.
//
// For a resource policy AWS combines it with the caller's identity
// policies: within the resource's account either may allow; across
// accounts both must; an explicit deny anywhere wins. A service principal
// has no identity policies, so only an Allow admits it.
type Decision int

// Decisions.
const (
	// ImplicitDeny: no statement applies (the policy neither allows nor
	// denies).
	ImplicitDeny Decision = iota
	// Allowed: an Allow statement applies and no Deny does.
	Allowed
	// ExplicitDeny: a Deny statement applies.
	ExplicitDeny
)

// String implements fmt.Stringer.
func (d Decision) String() string {
	switch d {
	case Allowed:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Evaluate evaluates policy for req. A nil policy yields ImplicitDeny.
func Evaluate(policy *Policy, req Request) Decision {
	if policy == nil {
		return ImplicitDeny
	}
	ctx := newContext(req)
	d := ImplicitDeny
	for i := range policy.Statements {
		st := &policy.Statements[i]
		if !st.applies(req, ctx, policy.Version) {
			continue
		}
		if st.Effect == Deny {
			return ExplicitDeny
		}
		d = Allowed
	}
	return d
}

// applies reports whether the statement covers the request.
func (st *Statement) applies(req Request, ctx evalContext, version string) bool {
	switch {
	case st.Principal != nil && !st.Principal.Matches(req.Principal):
		return false
	case st.NotPrincipal != nil && st.NotPrincipal.Matches(req.Principal):
		return false
	}
	if st.Action != nil && !anyAction(st.Action, req.Action) {
		return false
	}
	if st.NotAction != nil && anyAction(st.NotAction, req.Action) {
		return false
	}
	if st.Resource != nil && !anyResource(st.Resource, req.Resource, version, ctx) {
		return false
	}
	if st.NotResource != nil && anyResource(st.NotResource, req.Resource, version, ctx) {
		return false
	}
	for i := range st.Conditions {
		if !st.Conditions[i].eval(ctx, version) {
			return false
		}
	}
	return true
}

func anyAction(patterns []string, action string) bool {
	for _, p := range patterns {
		if matchAction(p, action) {
			return true
		}
	}
	return false
}

func anyResource(patterns []string, resource, version string, ctx evalContext) bool {
	for _, s := range patterns {
		if s == "*" {
			return true
		}
		p, ok := compile(s, version == Version2012, ctx)
		if ok && p.matchARN(resource) {
			return true
		}
	}
	return false
}

// Matches reports whether the principal is one the element names.
func (ps *Principals) Matches(p Principal) bool {
	if ps.All {
		return true
	}
	if p.ServicePrincipal != "" {
		for _, s := range ps.Service {
			if strings.EqualFold(s, p.ServicePrincipal) {
				return true
			}
		}
		return false
	}
	if p.Account == "" && p.ARN == "" {
		return false // anonymous callers match only "*"
	}
	for _, a := range ps.AWS {
		if accountRE.MatchString(a) {
			if a == p.Account {
				return true
			}
			continue
		}
		parts := strings.SplitN(a, ":", 6)
		if len(parts) == 6 && parts[2] == "iam" && parts[5] == "root" {
			if parts[4] == p.Account {
				return true
			}
			continue
		}
		if a == p.ARN || (p.RoleARN != "" && a == p.RoleARN) {
			return true
		}
	}
	return false
}

// evalContext is the request context with lower-cased keys.
type evalContext struct{ m map[string][]string }

func (c evalContext) get(key string) ([]string, bool) {
	v, ok := c.m[strings.ToLower(key)]
	return v, ok
}

func newContext(req Request) evalContext {
	m := make(map[string][]string, len(req.Context)+5)
	for k, v := range req.Context {
		m[strings.ToLower(k)] = v
	}
	p := req.Principal
	set := func(k, v string) {
		if _, ok := m[k]; !ok && v != "" {
			m[k] = []string{v}
		}
	}
	typ := p.principalType()
	if p.ServicePrincipal != "" {
		set("aws:principalisawsservice", "true")
		set("aws:principalservicename", p.ServicePrincipal)
	} else if typ != TypeAnonymous {
		set("aws:principalisawsservice", "false")
		arn := p.ARN
		if p.RoleARN != "" {
			arn = p.RoleARN
		}
		set("aws:principalarn", arn)
		set("aws:principalaccount", p.Account)
		if typ == TypeUser {
			if i := strings.LastIndexByte(p.ARN, '/'); i >= 0 {
				set("aws:username", p.ARN[i+1:])
			}
		}
	}
	set("aws:principaltype", typ)
	return evalContext{m: m}
}

func (p Principal) principalType() string {
	switch p.Type {
	case "Root":
		return TypeAccount
	case "IAMUser":
		return TypeUser
	}
	switch {
	case p.Type != "":
		return p.Type
	case p.ServicePrincipal != "":
		return TypeService
	case strings.Contains(p.ARN, ":assumed-role/"):
		return TypeAssumedRole
	case strings.Contains(p.ARN, ":user/"):
		return TypeUser
	case p.Account != "" || strings.HasSuffix(p.ARN, ":root"):
		return TypeAccount
	}
	return TypeAnonymous
}
