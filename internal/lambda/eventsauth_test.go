package lambda_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/fogbank/fogbank/internal/testenv"
)

// ebRig is one account's clients and the queues of an EventBridge →
// Lambda test: out receives what the function sends (one message per
// invocation, naming the rule), dlq the targets' dead letters.
type ebRig struct {
	env                  *testenv.Env
	lc                   *lambda.Client
	eb                   *eventbridge.Client
	sc                   *sqs.Client
	outURL, dlqURL, dlqA string
}

func newEBRig(t *testing.T) *ebRig {
	t.Helper()
	env := testenv.Start(t)
	r := &ebRig{env: env, lc: lambda.NewFromConfig(env.Config), eb: eventbridge.NewFromConfig(env.Config), sc: sqs.NewFromConfig(env.Config)}
	r.outURL, _ = queue(t, r.sc, "eb-out")
	r.dlqURL, r.dlqA = queue(t, r.sc, "eb-dlq")
	return r
}

// rule creates a rule on the default bus matching detail-type name, with
// one target: the function ARN target, which sends name to the out queue
// when invoked, and the dead-letter queue. It returns the rule's ARN.
func (r *ebRig) rule(t *testing.T, name, target string) string {
	t.Helper()
	return r.ruleWith(t, name, target, "", r.outURL)
}

// ruleWith is rule with a target RoleArn (role, if not "") and the queue
// the function sends to (outURL).
func (r *ebRig) ruleWith(t *testing.T, name, target, role, outURL string) string {
	t.Helper()
	ctx := context.Background()
	pattern, _ := json.Marshal(map[string]any{"source": []string{"authz.test"}, "detail-type": []string{name}})
	out, err := r.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(string(pattern))})
	if err != nil {
		t.Fatal(err)
	}
	input, _ := json.Marshal(map[string]string{"action": "sqs", "queue": outURL, "message": name})
	tg := ebtypes.Target{Id: aws.String("fn"), Arn: aws.String(target), Input: aws.String(string(input)),
		DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String(r.dlqA)}}
	if role != "" {
		tg.RoleArn = aws.String(role)
	}
	pt, err := r.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: []ebtypes.Target{tg}})
	if err != nil || pt.FailedEntryCount > 0 {
		t.Fatalf("put targets of %s: %v %+v", name, err, pt)
	}
	return aws.ToString(out.RuleArn)
}

// fire puts one event that only rule name matches.
func (r *ebRig) fire(t *testing.T, name string) {
	t.Helper()
	out, err := r.eb.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String("authz.test"), DetailType: aws.String(name), Detail: aws.String(`{"rule":"` + name + `"}`)}}})
	if err != nil || out.FailedEntryCount > 0 {
		t.Fatalf("put events: %v %+v", err, out)
	}
}

// next waits for the outcome of one delivery: the rule name the function
// sent to the out queue (invoked), or the dead letter (not invoked).
func (r *ebRig) next(t *testing.T) (invokedBy string, dead *sqstypes.Message) {
	t.Helper()
	return r.nextFrom(t, r.sc, r.outURL)
}

// nextFrom is next with the function's out queue outURL, read by sc.
func (r *ebRig) nextFrom(t *testing.T, sc *sqs.Client, outURL string) (invokedBy string, dead *sqstypes.Message) {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, 60*time.Second, func() bool {
		for _, url := range []string{outURL, r.dlqURL} {
			c := r.sc
			if url == outURL {
				c = sc
			}
			out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 1,
				MessageAttributeNames: []string{"All"}})
			if err != nil || len(out.Messages) == 0 {
				continue
			}
			m := out.Messages[0]
			if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
			if url == outURL {
				invokedBy = aws.ToString(m.Body)
			} else {
				dead = &m
			}
			return true
		}
		return false
	}, "an invocation or a dead letter")
	return invokedBy, dead
}

// queued reads how many events Lambda queued for asynchronous invocation
// of fn (AsyncEventsReceived) from the server's /metrics.
func (r *ebRig) queued(t *testing.T, fn string) int {
	t.Helper()
	resp, err := http.Get(r.env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	prefix := `fogbank_lambda_async_events_received_total{function="` + fn + `"} `
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	return 0
}

// deadLetter checks a dead letter of a delivery the function's policy
// refused: the event, not retried, with AWS's attributes (ERROR_CODE
// NO_PERMISSIONS; the message is Lambda's AccessDeniedException text,
// our wording: AWS does not document the one it writes).
func deadLetter(t *testing.T, m *sqstypes.Message, ruleARN, target, resource string) {
	t.Helper()
	deadLetterFor(t, m, ruleARN, target, resource, "events.amazonaws.com")
}

// deadLetterFor is deadLetter for a refusal of caller.
func deadLetterFor(t *testing.T, m *sqstypes.Message, ruleARN, target, resource, caller string) {
	t.Helper()
	if m == nil {
		t.Fatalf("the function was invoked; want a dead letter for %s", ruleARN)
	}
	got := map[string]string{}
	for k, v := range m.MessageAttributes {
		got[k] = aws.ToString(v.StringValue)
	}
	want := map[string]string{"RULE_ARN": ruleARN, "TARGET_ARN": target, "ERROR_CODE": "NO_PERMISSIONS",
		"ERROR_MESSAGE": "User: " + caller + " is not authorized to perform: lambda:InvokeFunction on resource: " + resource +
			" because no resource-based policy allows the lambda:InvokeFunction action"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("dead letter attributes (-want +got):\n%s", diff)
	}
	var ev struct {
		Source string `json:"source"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil || ev.Source != "authz.test" {
		t.Fatalf("dead letter body is not the event: %s", aws.ToString(m.Body))
	}
}

// TestEventBridgeTargetNeedsFunctionPolicy checks, through the SDKs, that
// an EventBridge rule invokes a function target only where the function's
// resource-based policy allows events.amazonaws.com lambda:InvokeFunction
// on the ARN the target names, under the statement's conditions
// (AWS:SourceArn against the rule's ARN, AWS:SourceAccount against its
// account), with AWS's qualifier scoping: a permission added with a
// Qualifier covers only that alias's or version's ARN. A refused delivery
// is not retried and goes to the target's dead-letter queue.
func TestEventBridgeTargetNeedsFunctionPolicy(t *testing.T) {
	r := newEBRig(t)
	ctx := context.Background()
	type perm struct {
		qualifier, sourceArn, sourceAccount, principal, action string
	}
	const (
		ruleName  = "the-rule"
		otherName = "other-rule"
	)
	for i, tc := range []struct {
		name string
		// alias: the target names the function's alias "live".
		alias bool
		perms []perm
		want  bool
	}{
		{name: "no permission"},
		{name: "source ARN of the rule", perms: []perm{{sourceArn: "rule"}}, want: true},
		{name: "source ARN of another rule", perms: []perm{{sourceArn: "other"}}},
		{name: "source ARN pattern", perms: []perm{{sourceArn: "arn:aws:events:us-east-1:ACCOUNT:rule/the-*"}}, want: true},
		{name: "no source condition", perms: []perm{{}}, want: true},
		{name: "source account of the rule", perms: []perm{{sourceAccount: "ACCOUNT"}}, want: true},
		{name: "source account of another account", perms: []perm{{sourceAccount: "999999999999"}}},
		{name: "another service", perms: []perm{{sourceArn: "rule", principal: "sns.amazonaws.com"}}},
		{name: "another action", perms: []perm{{sourceArn: "rule", action: "lambda:GetFunction"}}},
		{name: "lambda:*", perms: []perm{{sourceArn: "rule", action: "lambda:*"}}, want: true},
		{name: "alias target, function permission", alias: true, perms: []perm{{sourceArn: "rule"}}},
		{name: "alias target, alias permission", alias: true, perms: []perm{{sourceArn: "rule", qualifier: "live"}}, want: true},
		{name: "function target, alias permission", perms: []perm{{sourceArn: "rule", qualifier: "live"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fnName := "eb-target-" + strconv.Itoa(i)
			fn := aws.ToString(createFn(t, r.lc, fnName, nil).FunctionArn)
			if _, err := r.lc.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(fnName), Name: aws.String("live"),
				FunctionVersion: aws.String("$LATEST")}); err != nil {
				t.Fatal(err)
			}
			target := fn
			if tc.alias {
				target += ":live"
			}
			name, other := ruleName+"-"+strconv.Itoa(i), otherName+"-"+strconv.Itoa(i)
			ruleARN := r.rule(t, name, target)
			otherARN := r.rule(t, other, "arn:aws:lambda:us-east-1:"+r.env.Account+":function:nobody")
			for j, p := range tc.perms {
				in := &lambda.AddPermissionInput{FunctionName: aws.String(fnName), StatementId: aws.String("s" + strconv.Itoa(j)),
					Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("events.amazonaws.com")}
				switch p.sourceArn {
				case "":
				case "rule":
					in.SourceArn = aws.String(ruleARN)
				case "other":
					in.SourceArn = aws.String(otherARN)
				default:
					in.SourceArn = aws.String(strings.ReplaceAll(p.sourceArn, "ACCOUNT", r.env.Account))
				}
				if p.sourceAccount != "" {
					in.SourceAccount = aws.String(strings.ReplaceAll(p.sourceAccount, "ACCOUNT", r.env.Account))
				}
				if p.qualifier != "" {
					in.Qualifier = aws.String(p.qualifier)
				}
				if p.principal != "" {
					in.Principal = aws.String(p.principal)
				}
				if p.action != "" {
					in.Action = aws.String(p.action)
				}
				if _, err := r.lc.AddPermission(ctx, in); err != nil {
					t.Fatal(err)
				}
			}
			r.fire(t, name)
			by, dead := r.next(t)
			if !tc.want {
				deadLetter(t, dead, ruleARN, target, target)
				// The refusal came before Lambda queued anything, and the
				// dead letter after it: nothing is on its way either.
				if n := r.queued(t, fnName); n != 0 {
					t.Fatalf("%d events queued for %s, want none", n, fnName)
				}
				return
			}
			if by != name {
				t.Fatalf("invoked by %q (dead letter %v), want %q", by, dead != nil, name)
			}
		})
	}
}

// TestEventBridgeTargetPermissionChanges checks that a change to the
// function's policy decides the next delivery at once (the invoke path's
// cached function record is dropped by AddPermission and
// RemovePermission): permitted, then removed, then added again.
func TestEventBridgeTargetPermissionChanges(t *testing.T) {
	r := newEBRig(t)
	ctx := context.Background()
	const fnName = "eb-changes"
	fn := aws.ToString(createFn(t, r.lc, fnName, nil).FunctionArn)
	ruleARN := r.rule(t, "changes", fn)
	allow := func() {
		t.Helper()
		if _, err := r.lc.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String(fnName), StatementId: aws.String("eb"),
			Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("events.amazonaws.com"), SourceArn: aws.String(ruleARN)}); err != nil {
			t.Fatal(err)
		}
	}
	for step, want := range []bool{false, true, true, false, true} {
		switch step {
		case 1, 4:
			allow()
		case 3:
			if _, err := r.lc.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(fnName), StatementId: aws.String("eb")}); err != nil {
				t.Fatal(err)
			}
		}
		before := r.queued(t, fnName)
		r.fire(t, "changes")
		by, dead := r.next(t)
		if want {
			if by != "changes" {
				t.Fatalf("step %d: not invoked (dead letter %v)", step, dead != nil)
			}
			continue
		}
		deadLetter(t, dead, ruleARN, fn, fn)
		if n := r.queued(t, fnName); n != before {
			t.Fatalf("step %d: %d events queued for %s, want %d", step, n, fnName, before)
		}
	}
}

// TestEventBridgeCrossAccountTargetUsesRole checks a rule's function
// target in another account: EventBridge invokes it with the target's
// execution role (RoleArn, in the rule's account), so the function's
// policy must allow that role or its account; a statement for the
// events.amazonaws.com service principal does not admit it, nor does one
// conditioned on AWS:SourceArn (IAM sets that key only for calls of a
// service principal).
func TestEventBridgeCrossAccountTargetUsesRole(t *testing.T) {
	r := newEBRig(t)
	ctx := context.Background()
	const other = "222222222222"
	cfg := r.env.NewAccount(t, other)
	lb, sb := lambda.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	outB, _ := queue(t, sb, "eb-out-b")
	role := "arn:aws:iam::" + r.env.Account + ":role/eb-cross"
	session := "arn:aws:sts::" + r.env.Account + ":assumed-role/eb-cross/events"
	for i, tc := range []struct {
		name, principal string
		// sourceArn conditions the statement on the rule's ARN.
		sourceArn bool
		want      bool
	}{
		{name: "role allowed", principal: role, want: true},
		{name: "rule account allowed", principal: r.env.Account, want: true},
		{name: "role allowed for the rule's source ARN", principal: role, sourceArn: true},
		{name: "service principal allowed", principal: "events.amazonaws.com", sourceArn: true},
		{name: "another account allowed", principal: "999999999999"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fnName := "eb-cross-" + strconv.Itoa(i)
			fn := aws.ToString(createFn(t, lb, fnName, func(in *lambda.CreateFunctionInput) {
				in.Role = aws.String("arn:aws:iam::" + other + ":role/lambda-role")
			}).FunctionArn)
			name := "cross-" + strconv.Itoa(i)
			ruleARN := r.ruleWith(t, name, fn, role, outB)
			in := &lambda.AddPermissionInput{FunctionName: aws.String(fnName), StatementId: aws.String("s"),
				Action: aws.String("lambda:InvokeFunction"), Principal: aws.String(tc.principal)}
			if tc.sourceArn {
				in.SourceArn = aws.String(ruleARN)
			}
			if _, err := lb.AddPermission(ctx, in); err != nil {
				t.Fatal(err)
			}
			r.fire(t, name)
			by, dead := r.nextFrom(t, sb, outB)
			if !tc.want {
				deadLetterFor(t, dead, ruleARN, fn, fn, session)
				return
			}
			if by != name {
				t.Fatalf("invoked by %q (dead letter %v), want %q", by, dead != nil, name)
			}
		})
	}
}
