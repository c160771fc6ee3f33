package lambda

import (
	"context"
	"fmt"
	"strings"

	"github.com/fogbank/fogbank/internal/iampolicy"
)

// EventBridge rule targets. On AWS, EventBridge invokes a function target
// of a rule as the service principal events.amazonaws.com, and Lambda
// admits the call only if the function's resource-based policy
// (AddPermission) has a statement that allows that principal
// lambda:InvokeFunction on the ARN the target names, under the
// statement's conditions: aws:SourceArn is the rule's ARN and
// aws:SourceAccount the rule's account. A statement added with a
// Qualifier governs only that version's or alias's ARN; one added without
// governs the unqualified ARN and $LATEST. Lambda considers no identity
// policy for a service principal, so the function's own account gets no
// free pass here (unlike API callers, see authorizeInvoke).
//
// A function in another account than the rule is a cross-account target:
// EventBridge calls it with the target's execution role (RoleArn) instead,
// so the principal is a session of that role and the policy must allow
// the role (or its account). EventBridge Scheduler and Pipes also invoke
// with an execution role; Fogbank serves neither yet.
//
// The decision reads the function record from the hot cache, which every
// AddPermission and RemovePermission invalidates, so a permission removed
// stops the next delivery (after at most the cache's TTL when another
// node made the change).

// eventsPrincipal is EventBridge's service principal.
const eventsPrincipal = "events.amazonaws.com"

// InvokeForRule queues an asynchronous invocation (InvocationType Event)
// of functionARN (qualified or not) that the EventBridge rule ruleARN
// makes for one of its targets; roleARN is the target's RoleArn, "" when
// it has none. It satisfies EventBridge's LambdaInvoker. Errors are
// *protocol.Error values as Invoke would return them:
// ResourceNotFoundException for a function, version or alias that does
// not exist, AccessDeniedException when the function's resource-based
// policy does not allow the rule to invoke it (EventBridge's NO_PERMISSIONS,
// not retried), RequestTooLargeException past the asynchronous payload limit;
// other errors are storage failures.
func (s *Service) InvokeForRule(ctx context.Context, functionARN, ruleARN, roleARN string, payload []byte) error {
	ref, err := refFromARN(functionARN)
	if err != nil {
		return err
	}
	res, err := s.resolveHot(ctx, ref)
	if err != nil {
		return err
	}
	p, conds := rulePrincipal(ruleARN, roleARN, ref.Account)
	if !policyAllowsInvoke(&s.policies, res.fn, ref, p, conds) {
		resource, _ := invokeResource(ref)
		caller := p.ARN
		if caller == "" {
			caller = p.ServicePrincipal
		}
		return errInvokeDenied(caller, resource)
	}
	if len(payload) > maxAsyncPayload {
		return errRequestTooLarge(fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", maxAsyncPayload))
	}
	return s.async.enqueue(ctx, res, payload, s.deps.IDs.UUID(), "")
}

// rulePrincipal returns the principal EventBridge calls Lambda as for the
// rule ruleARN and a function in fnAccount, and the condition keys the
// call carries: the service principal with the rule as aws:SourceArn and
// its account as aws:SourceAccount, or for a function in another account
// with a target role, a session of that role (named after the service).
func rulePrincipal(ruleARN, roleARN, fnAccount string) (iampolicy.Principal, map[string][]string) {
	account := ""
	if parts := strings.SplitN(ruleARN, ":", 6); len(parts) == 6 {
		account = parts[4]
	}
	if roleARN == "" || account == fnAccount {
		conds := map[string][]string{"aws:SourceArn": {ruleARN}}
		if account != "" {
			conds["aws:SourceAccount"] = []string{account}
		}
		return iampolicy.Principal{ServicePrincipal: eventsPrincipal}, conds
	}
	// IAM puts aws:SourceArn and aws:SourceAccount in the request context
	// only for calls a service principal makes, not a role session's.
	roleAccount, name := account, roleARN
	if parts := strings.SplitN(roleARN, ":", 6); len(parts) == 6 {
		roleAccount, name = parts[4], parts[5]
	}
	name = name[strings.LastIndexByte(name, '/')+1:]
	return iampolicy.Principal{Account: roleAccount, Type: iampolicy.TypeAssumedRole, RoleARN: roleARN,
		ARN: "arn:aws:sts::" + roleAccount + ":assumed-role/" + name + "/events"}, nil
}
