package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/fogbank/fogbank/internal/testenv"
)

// metricValue reads one sample of the /metrics page (0 when absent).
func metricValue(t *testing.T, env *testenv.Env, prefix string) string {
	t.Helper()
	resp, err := http.Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(line, prefix) {
			return line[strings.LastIndexByte(line, ' ')+1:]
		}
	}
	return "0"
}

// An EventBridge rule in account B whose dead-letter queue is in account A
// can put messages there only when A's queue policy allows the rule.
func TestEventsCrossAccountDLQNeedsQueuePolicy(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	const acctB = "222222222222"
	cfgB := env.NewAccount(t, acctB)
	ebB := eventbridge.NewFromConfig(cfgB)
	sqsA := sqs.NewFromConfig(env.Config)

	q, err := sqsA.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("central-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	dlqARN := "arn:aws:sqs:us-east-1:" + env.Account + ":central-dlq"
	rule, err := ebB.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["app"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	ruleARN := aws.ToString(rule.RuleArn)
	// The target does not exist, so every event goes to the DLQ at once.
	if _, err := ebB.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []ebtypes.Target{{
		Id: aws.String("t"), Arn: aws.String("arn:aws:sqs:us-east-1:" + acctB + ":missing"),
		DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: aws.String(dlqARN)},
	}}}); err != nil {
		t.Fatal(err)
	}
	put := func(detail string) {
		t.Helper()
		out, err := ebB.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			Source: aws.String("app"), DetailType: aws.String("t"), Detail: aws.String(detail)}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("put events: %v %+v", err, out)
		}
	}
	failedToDLQ := `fogbank_events_invocations_failed_to_be_sent_to_dlq_total{rule="` + ruleARN + `"}`
	sentToDLQ := `fogbank_events_invocations_sent_to_dlq_total{rule="` + ruleARN + `"}`

	// Without a policy the dead-letter message is refused.
	put(`{"n":1}`)
	testenv.Eventually(t, 10*time.Second, func() bool { return metricValue(t, env, failedToDLQ) == "1" }, "dead-letter send not refused")
	if got := metricValue(t, env, sentToDLQ); got != "0" {
		t.Fatalf("sent to DLQ without a policy: %s", got)
	}

	// The usual EventBridge DLQ policy admits it.
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},
		"Action":"sqs:SendMessage","Resource":"` + dlqARN + `","Condition":{"ArnEquals":{"aws:SourceArn":"` + ruleARN + `"}}}]}`
	if _, err := sqsA.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: q.QueueUrl, Attributes: map[string]string{"Policy": policy}}); err != nil {
		t.Fatal(err)
	}
	put(`{"n":2}`)
	var bodies []string
	testenv.Eventually(t, 10*time.Second, func() bool {
		r, err := sqsA.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			if got := aws.ToString(m.MessageAttributes["RULE_ARN"].StringValue); got != ruleARN {
				t.Errorf("RULE_ARN = %q", got)
			}
		}
		return len(bodies) > 0
	}, "dead-letter message not delivered after the policy")
	if len(bodies) != 1 || !strings.Contains(bodies[0], `"n":2`) {
		t.Fatalf("DLQ got %q, want only the second event", bodies)
	}
}
