package events_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/fogbank/fogbank/internal/testenv"
)

func apiErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("err = %s: %q, want %s: %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// check returns a function that fails the test on err or returns v, so
// that a two-result SDK call can be checked inline: check(eb.X(ctx, in))(t).
func check[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestSDKBusesRulesTargets(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	eb := eventbridge.NewFromConfig(env.Config)
	acct := env.Account

	cb := check(eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("orders"), Description: aws.String("test bus"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}))(t)
	if got, want := aws.ToString(cb.EventBusArn), "arn:aws:events:us-east-1:"+acct+":event-bus/orders"; got != want {
		t.Fatalf("EventBusArn = %s, want %s", got, want)
	}
	_, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("orders")})
	apiErr(t, err, "ResourceAlreadyExistsException", "Event bus orders already exists.")
	_, err = eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("nope")})
	apiErr(t, err, "ResourceNotFoundException", "Event bus nope does not exist.")
	_, err = eb.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String("default")})
	apiErr(t, err, "ValidationException", "Cannot delete event bus default.")
	lb := check(eb.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{}))(t)
	if len(lb.EventBuses) != 2 || aws.ToString(lb.EventBuses[0].Name) != "default" || aws.ToString(lb.EventBuses[1].Description) != "test bus" {
		t.Fatalf("ListEventBuses = %+v", lb.EventBuses)
	}

	pr := check(eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r1"), EventBusName: aws.String("orders"), EventPattern: aws.String(`{"source":["shop"]}`)}))(t)
	if got, want := aws.ToString(pr.RuleArn), "arn:aws:events:us-east-1:"+acct+":rule/orders/r1"; got != want {
		t.Fatalf("RuleArn = %s, want %s", got, want)
	}
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("bad"), EventPattern: aws.String(`["not", "a", "dict", "but valid json"]`)})
	apiErr(t, err, "InvalidEventPatternException", "Event pattern is not valid. Reason: Filter is not an object\n at [Source: (String)\"[\"not\", \"a\", \"dict\", \"but valid json\"]\"; line: 1, column: 2]")
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("s"), EventBusName: aws.String("orders"), ScheduleExpression: aws.String("rate(1 minute)")})
	apiErr(t, err, "ValidationException", "ScheduleExpression is supported only on the default event bus.")
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("s"), ScheduleExpression: aws.String("cron(0 1 * * * *)")})
	apiErr(t, err, "ValidationException", "Parameter ScheduleExpression is not valid.")
	_, err = eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("nope")})
	apiErr(t, err, "ResourceNotFoundException", "Rule nope does not exist on EventBus default.")

	dr := check(eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("r1"), EventBusName: aws.String("orders")}))(t)
	if dr.State != types.RuleStateEnabled || aws.ToString(dr.CreatedBy) != acct || aws.ToString(dr.EventBusName) != "orders" {
		t.Fatalf("DescribeRule = %+v", dr)
	}
	check(eb.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String("r1"), EventBusName: aws.String("orders")}))(t)
	dr = check(eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("r1"), EventBusName: aws.String("orders")}))(t)
	if dr.State != types.RuleStateDisabled {
		t.Fatalf("State = %s after DisableRule", dr.State)
	}

	q := "arn:aws:sqs:us-east-1:" + acct + ":q"
	var targets []types.Target
	for _, id := range []string{"t0", "t1", "t2", "t3", "t4"} {
		targets = append(targets, types.Target{Id: aws.String(id), Arn: aws.String(q)})
	}
	pt := check(eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r1"), EventBusName: aws.String("orders"), Targets: targets}))(t)
	if pt.FailedEntryCount != 0 {
		t.Fatalf("PutTargets FailedEntryCount = %d", pt.FailedEntryCount)
	}
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r1"), EventBusName: aws.String("orders"), Targets: []types.Target{{Id: aws.String("t5"), Arn: aws.String(q)}}})
	apiErr(t, err, "LimitExceededException", "The requested resource exceeds the maximum number allowed.")
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r1"), EventBusName: aws.String("orders"), Targets: []types.Target{{Id: aws.String("!@#$@!#$"), Arn: aws.String(q)}}})
	apiErr(t, err, "ValidationException", `1 validation error detected: Value '!@#$@!#$' at 'targets.1.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+`)
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r1"), EventBusName: aws.String("orders"), Targets: []types.Target{{Id: aws.String("t0"), Arn: aws.String(q), InputPath: aws.String("$.detail"), Input: aws.String("{}")}}})
	apiErr(t, err, "ValidationException", "Only one of Input, InputPath, or InputTransformer must be provided for target t0.")
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r1"), EventBusName: aws.String("orders"), Targets: []types.Target{{Id: aws.String("t0"), Arn: aws.String(q), InputTransformer: &types.InputTransformer{InputTemplate: aws.String(`{"a": <notdefinedkey>}`)}}}})
	apiErr(t, err, "ValidationException", "InputTemplate for target t0 contains invalid placeholder notdefinedkey.")

	lt := check(eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r1"), EventBusName: aws.String("orders"), Limit: aws.Int32(3)}))(t)
	if len(lt.Targets) != 3 || lt.NextToken == nil {
		t.Fatalf("ListTargetsByRule page 1 = %d targets, token %v", len(lt.Targets), lt.NextToken)
	}
	lt = check(eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r1"), EventBusName: aws.String("orders"), Limit: aws.Int32(3), NextToken: lt.NextToken}))(t)
	if len(lt.Targets) != 2 || lt.NextToken != nil || aws.ToString(lt.Targets[1].Id) != "t4" {
		t.Fatalf("ListTargetsByRule page 2 = %+v", lt)
	}
	names := check(eb.ListRuleNamesByTarget(ctx, &eventbridge.ListRuleNamesByTargetInput{TargetArn: aws.String(q), EventBusName: aws.String("orders")}))(t)
	if len(names.RuleNames) != 1 || names.RuleNames[0] != "r1" {
		t.Fatalf("ListRuleNamesByTarget = %v", names.RuleNames)
	}
	_, err = eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("r1"), EventBusName: aws.String("orders")})
	apiErr(t, err, "ValidationException", "Rule can't be deleted since it has targets.")
	check(eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("r1"), EventBusName: aws.String("orders"), Ids: []string{"t0", "t1", "t2", "t3", "t4"}}))(t)
	check(eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("r1"), EventBusName: aws.String("orders")}))(t)
	lr := check(eb.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("orders")}))(t)
	if len(lr.Rules) != 0 {
		t.Fatalf("ListRules after delete = %+v", lr.Rules)
	}

	// Tags.
	busArn := aws.ToString(cb.EventBusArn)
	check(eb.TagResource(ctx, &eventbridge.TagResourceInput{ResourceARN: aws.String(busArn), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}}}))(t)
	check(eb.UntagResource(ctx, &eventbridge.UntagResourceInput{ResourceARN: aws.String(busArn), TagKeys: []string{"k"}}))(t)
	tags := check(eb.ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String(busArn)}))(t)
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "a" {
		t.Fatalf("tags = %+v", tags.Tags)
	}
	_, err = eb.ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String("arn:aws:events:us-east-1:" + acct + ":rule/ghost")})
	apiErr(t, err, "ResourceNotFoundException", "Rule ghost does not exist on EventBus default.")

	// Permissions.
	check(eb.PutPermission(ctx, &eventbridge.PutPermissionInput{EventBusName: aws.String("orders"), Action: aws.String("events:PutEvents"), Principal: aws.String("111111111111"), StatementId: aws.String("s1")}))(t)
	db := check(eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("orders")}))(t)
	wantPolicy := `{"Version":"2012-10-17","Statement":[{"Sid":"s1","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"events:PutEvents","Resource":"` + busArn + `"}]}`
	if aws.ToString(db.Policy) != wantPolicy {
		t.Fatalf("Policy = %s\nwant %s", aws.ToString(db.Policy), wantPolicy)
	}
	_, err = eb.RemovePermission(ctx, &eventbridge.RemovePermissionInput{EventBusName: aws.String("orders"), StatementId: aws.String("nope")})
	apiErr(t, err, "ResourceNotFoundException", "Statement with the provided id does not exist.")
	check(eb.RemovePermission(ctx, &eventbridge.RemovePermissionInput{EventBusName: aws.String("orders"), StatementId: aws.String("s1")}))(t)
	db = check(eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("orders")}))(t)
	if db.Policy != nil {
		t.Fatalf("Policy after removing the last statement = %s", aws.ToString(db.Policy))
	}
	// DeleteEventBus as recorded from AWS: a bus with rules is refused, a
	// missing bus is no error.
	check(eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("last"), EventBusName: aws.String("orders"), EventPattern: aws.String(`{"source":["shop"]}`)}))(t)
	_, err = eb.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String("orders")})
	apiErr(t, err, "ValidationException", "EventBus can't be deleted since it has rules.")
	check(eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("last"), EventBusName: aws.String("orders")}))(t)
	check(eb.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String("orders")}))(t)
	_, err = eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("orders")})
	apiErr(t, err, "ResourceNotFoundException", "Event bus orders does not exist.")
	check(eb.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String("orders")}))(t)
	check(eb.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String("never-existed")}))(t)
}

func TestSDKPutEventsAndTestEventPattern(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	eb := eventbridge.NewFromConfig(env.Config)
	out := check(eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("a"), DetailType: aws.String("b"), Detail: aws.String(`{"x":1}`)},
		{DetailType: aws.String("b"), Detail: aws.String(`{}`)},
		{Source: aws.String("a"), Detail: aws.String(`{}`)},
		{Source: aws.String("a"), DetailType: aws.String("b")},
		{Source: aws.String("a"), DetailType: aws.String("b"), Detail: aws.String(`"str"`)},
		{Source: aws.String("aws.s3"), DetailType: aws.String("b"), Detail: aws.String(`{}`)},
	}}))(t)
	type res struct{ code, msg string }
	want := []res{
		{"", ""},
		{"InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."},
		{"InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."},
		{"InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."},
		{"MalformedDetail", "Detail is malformed."},
		{"NotAuthorizedForSourceException", "Not authorized for the source."},
	}
	if out.FailedEntryCount != 5 || len(out.Entries) != 6 {
		t.Fatalf("FailedEntryCount = %d, entries %d", out.FailedEntryCount, len(out.Entries))
	}
	for i, w := range want {
		e := out.Entries[i]
		if aws.ToString(e.ErrorCode) != w.code || aws.ToString(e.ErrorMessage) != w.msg || (w.code == "") != (aws.ToString(e.EventId) != "") {
			t.Errorf("entry %d = %s %q %s, want %s %q", i, aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage), aws.ToString(e.EventId), w.code, w.msg)
		}
	}
	_, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("a"), DetailType: aws.String("b"), Detail: aws.String(`{}`), EventBusName: aws.String("ghost")}}})
	apiErr(t, err, "ResourceNotFoundException", "Event bus ghost does not exist.")
	big := `{"a":"` + strings.Repeat("x", 256*1024) + `"}`
	_, err = eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("a"), DetailType: aws.String("b"), Detail: aws.String(big)}}})
	apiErr(t, err, "ValidationException", "Total size of the entries in the request is over the limit.")
	var eleven []types.PutEventsRequestEntry
	for range 11 {
		eleven = append(eleven, types.PutEventsRequestEntry{Source: aws.String("s"), DetailType: aws.String("d"), Detail: aws.String(`{}`)})
	}
	_, err = eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: eleven})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || !strings.HasSuffix(ae.ErrorMessage(), "at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10") {
		t.Fatalf("11 entries: %v", err)
	}

	ev := `{"id":"1","source":"s","detail-type":"d","account":"123456789012","region":"us-east-1","time":"2022-07-13T13:48:01Z","detail":{"a":1}}`
	r := check(eb.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{Event: aws.String(ev), EventPattern: aws.String(`{"detail":{"a":[1]}}`)}))(t)
	if !r.Result {
		t.Fatal("TestEventPattern: want match")
	}
	r = check(eb.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{Event: aws.String(ev), EventPattern: aws.String(`{"detail":{"a":[2]}}`)}))(t)
	if r.Result {
		t.Fatal("TestEventPattern: want no match")
	}
	_, err = eb.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{Event: aws.String(`"plain"`), EventPattern: aws.String(`{}`)})
	apiErr(t, err, "ValidationException", "Parameter Event is not valid.")
}
