package lambda

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/fogbank/fogbank/internal/iampolicy"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
)

// Invoke authorization. Fogbank has no identity policies yet, so a caller
// in the function's own account may invoke it (on AWS its identity policy
// would decide); a caller from another account needs a statement of the
// function's resource policy (AddPermission) that allows it
// lambda:InvokeFunction on the ARN it invoked, as AWS requires both the
// caller's identity policy and the function's policy across accounts.

const actionInvoke = "lambda:InvokeFunction"

// callerPrincipal returns the IAM principal of an API call.
func callerPrincipal(call *service.Call) iampolicy.Principal {
	id := call.Identity
	account := id.AccountID
	if account == "" {
		account = call.Account
	}
	return iampolicy.Principal{Account: account, ARN: id.ARN, Type: id.Type, RoleARN: id.SessionIssuerARN}
}

// policyQualifier is the qualifier whose policy statements govern an
// invocation of ref: $LATEST and the unqualified name share the function's
// own policy (AddPermission refuses $LATEST); versions and aliases have
// their own.
func policyQualifier(ref fnRef) string {
	if ref.Qualifier == latest {
		return ""
	}
	return ref.Qualifier
}

// functionPolicy parses the statements of fn's resource policy that apply
// to qualifier q; nil when there are none.
func functionPolicy(fn fnRecord, q string) *iampolicy.Policy {
	var stmts []json.RawMessage
	for _, st := range fn.Policy {
		if st.Qualifier == q {
			stmts = append(stmts, st.Statement)
		}
	}
	if len(stmts) == 0 {
		return nil
	}
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	p, err := iampolicy.Parse(doc)
	if err != nil {
		return nil // a statement AddPermission wrote that the evaluator cannot read allows nothing
	}
	return p
}

// invokeResource returns the ARN whose policy statements govern an
// invocation of ref, and the qualifier they are stored under.
func invokeResource(ref fnRef) (resource, qualifier string) {
	q := policyQualifier(ref)
	if q == "" {
		return ref.arn(), ""
	}
	return ref.arn() + ":" + q, q
}

// policyAllowsInvoke reports whether fn's resource policy allows p
// lambda:InvokeFunction on the resource that governs ref, with ctx as the
// request's condition keys. An explicit Deny or no applicable Allow is a
// refusal. pc (may be nil) keeps parsed policies between calls.
func policyAllowsInvoke(pc *policyCache, fn fnRecord, ref fnRef, p iampolicy.Principal, ctx map[string][]string) bool {
	resource, q := invokeResource(ref)
	return iampolicy.Evaluate(pc.get(fn, q, resource), iampolicy.Request{Principal: p, Action: actionInvoke, Resource: resource, Context: ctx}) == iampolicy.Allowed
}

// policyCache keeps the parsed resource policy of each function ARN and
// qualifier, for the policy revision it was parsed from: deliveries of
// EventBridge rules and cross-account invokes evaluate the policy on every
// call, and parsing it dominated that cost. A policy change gives the
// function a new PolicyRevision, so a stale entry is never used; entries
// are bounded by the number of qualified functions with a policy.
type policyCache struct {
	mu sync.Mutex
	m  map[string]cachedPolicy
}

type cachedPolicy struct {
	rev string
	p   *iampolicy.Policy
}

// get returns functionPolicy(fn, q), parsed once per policy revision;
// resource (the ARN the statements govern) is the key.
func (pc *policyCache) get(fn fnRecord, q, resource string) *iampolicy.Policy {
	if len(fn.Policy) == 0 {
		return nil
	}
	if pc == nil {
		return functionPolicy(fn, q)
	}
	pc.mu.Lock()
	c, ok := pc.m[resource]
	pc.mu.Unlock()
	if ok && c.rev == fn.PolicyRevision {
		return c.p
	}
	pol := functionPolicy(fn, q)
	pc.mu.Lock()
	if pc.m == nil {
		pc.m = map[string]cachedPolicy{}
	}
	pc.m[resource] = cachedPolicy{rev: fn.PolicyRevision, p: pol}
	pc.mu.Unlock()
	return pol
}

// errInvokeDenied is Lambda's AccessDeniedException for a caller (an ARN
// or a service principal) that no resource-based policy statement admits.
func errInvokeDenied(caller, resource string) *protocol.Error {
	return &protocol.Error{Code: "AccessDeniedException", Status: http.StatusForbidden,
		Message: "User: " + caller + " is not authorized to perform: " + actionInvoke + " on resource: " + resource +
			" because no resource-based policy allows the " + actionInvoke + " action"}
}

// authorizeInvoke decides whether call may invoke ref (resolved as res;
// resErr is the resolution's error). Callers in the function's account
// are allowed; others need an Allow in the function policy for the
// invoked ARN, and get AccessDeniedException (also when the function does
// not exist, so its existence does not leak across accounts).
func authorizeInvoke(pc *policyCache, call *service.Call, ref fnRef, res resolved, resErr error) error {
	p := callerPrincipal(call)
	if p.Account == ref.Account {
		return resErr
	}
	if resErr == nil {
		t := call.Time
		if t.IsZero() {
			t = time.Now()
		}
		ctx := map[string][]string{
			"aws:SecureTransport": {strconv.FormatBool(call.Scheme == "https")},
			"aws:CurrentTime":     {t.UTC().Format(time.RFC3339)},
			"aws:EpochTime":       {strconv.FormatInt(t.Unix(), 10)},
		}
		if policyAllowsInvoke(pc, res.fn, ref, p, ctx) {
			return nil
		}
	}
	caller := p.ARN
	if caller == "" {
		caller = "arn:aws:iam::" + p.Account + ":root"
	}
	resource, _ := invokeResource(ref)
	return errInvokeDenied(caller, resource)
}
