package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/fogbank/fogbank/internal/testenv"
)

// inRegion returns the account's clients in another region.
func inRegion(id string, cfg aws.Config, region string) acct {
	cfg = cfg.Copy()
	cfg.Region = region
	return acct{id, eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)}
}

// TestE2ECrossRegionBusTargets: a rule's target is a bus in another region,
// of the same account and of another account (allowed by that bus's
// policy). As recorded from AWS, the forwarded event keeps its account,
// region, source and detail but gets a new id when it crosses regions.
func TestE2ECrossRegionBusTargets(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	a := defaultAcct(env)
	aEU := inRegion(a.id, env.Config, "eu-west-1")
	bEU := inRegion("222222222222", env.NewAccount(t, "222222222222"), "eu-west-1")

	// Same account, eu-west-1: bus "regional" → queue.
	check(aEU.eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("regional")}))(t)
	sameURL := aws.ToString(check(aEU.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("same")}))(t).QueueUrl)
	aEU.rule(t, "regional", "all", `{"source":["my.app"]}`, target("q", "arn:aws:sqs:eu-west-1:"+a.id+":same"))
	// Other account, eu-west-1: bus "central" (policy allows A) → queue.
	check(bEU.eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("central")}))(t)
	check(bEU.eb.PutPermission(ctx, &eventbridge.PutPermissionInput{EventBusName: aws.String("central"), Action: aws.String("events:PutEvents"),
		Principal: aws.String(a.id), StatementId: aws.String("from-a")}))(t)
	otherURL := aws.ToString(check(bEU.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("other")}))(t).QueueUrl)
	bEU.rule(t, "central", "all", `{"source":["my.app"]}`, target("q", "arn:aws:sqs:eu-west-1:"+bEU.id+":other"))

	// A's us-east-1 default bus forwards to both.
	a.rule(t, "", "fwd", `{"source":["my.app"]}`,
		target("same", "arn:aws:events:eu-west-1:"+a.id+":event-bus/regional"),
		target("other", "arn:aws:events:eu-west-1:"+bEU.id+":event-bus/central"))
	ids := a.put(t, entry("", "my.app", "order", `{"n":1}`))

	for _, c := range []struct {
		who acct
		url string
	}{{aEU, sameURL}, {bEU, otherURL}} {
		msgs := c.who.receive(t, c.url, 1, 10*time.Second)
		ev := decodeEvent(t, aws.ToString(msgs[0].Body))
		if ev.ID == ids[0] || ev.ID == "" {
			t.Errorf("%s: id %q, want a new id (the original is %s)", c.url, ev.ID, ids[0])
		}
		if ev.Account != a.id || ev.Region != "us-east-1" || ev.Source != "my.app" || string(ev.Detail) != `{"n":1}` {
			t.Errorf("%s: forwarded event %+v, want A's us-east-1 event unchanged", c.url, ev)
		}
		c.who.empty(t, c.url)
	}
}
