package lambda_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/fogbank/fogbank/internal/testenv"
)

// busToQueue creates a bus with a rule that sends every Lambda destination
// event of the given detail type to a new queue; it returns the bus ARN
// and the queue URL.
func busToQueue(t *testing.T, eb *eventbridge.Client, sc *sqs.Client, name, detailType string) (busARN, queueURL string) {
	t.Helper()
	ctx := context.Background()
	bus, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	url, qARN := queue(t, sc, name+"-queue")
	pattern, _ := json.Marshal(map[string]any{"source": []string{"lambda"}, "detail-type": []string{detailType}})
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("to-queue"), EventBusName: aws.String(name),
		EventPattern: aws.String(string(pattern))}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("to-queue"), EventBusName: aws.String(name),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(qARN)}}}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(bus.EventBusArn), url
}

// destinationEvent is the EventBridge event Lambda puts on a bus destination.
type destinationEvent struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     struct {
		Version        string `json:"version"`
		RequestContext struct {
			RequestID              string `json:"requestId"`
			FunctionArn            string `json:"functionArn"`
			Condition              string `json:"condition"`
			ApproximateInvokeCount int    `json:"approximateInvokeCount"`
		} `json:"requestContext"`
		RequestPayload  json.RawMessage `json:"requestPayload"`
		ResponseContext struct {
			StatusCode      int    `json:"statusCode"`
			ExecutedVersion string `json:"executedVersion"`
			FunctionError   string `json:"functionError"`
		} `json:"responseContext"`
		ResponsePayload json.RawMessage `json:"responsePayload"`
	} `json:"detail"`
}

// TestAsyncDestinationsEventBridge sends async invocation records to
// EventBridge bus destinations: a success reaches the OnSuccess bus and,
// through a rule, a queue; a failure reaches the OnFailure bus after the
// retries. The events have AWS's shape (source "lambda", the detail types,
// the bus and qualified function ARNs as resources, the record as detail).
func TestAsyncDestinationsEventBridge(t *testing.T) {
	env := testenv.Start(t)
	c := lambda.NewFromConfig(env.Config)
	sc := sqs.NewFromConfig(env.Config)
	eb := eventbridge.NewFromConfig(env.Config)
	ctx := context.Background()
	okBus, okURL := busToQueue(t, eb, sc, "lambda-ok", "Lambda Function Invocation Result - Success")
	failBus, failURL := busToQueue(t, eb, sc, "lambda-fail", "Lambda Function Invocation Result - Failure")
	fn := createFn(t, c, "to-bus", nil)
	if _, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("to-bus"),
		DestinationConfig: &types.DestinationConfig{OnSuccess: &types.OnSuccess{Destination: aws.String(okBus)},
			OnFailure: &types.OnFailure{Destination: aws.String(failBus)}}}); err != nil {
		t.Fatal(err)
	}
	fnARN := aws.ToString(fn.FunctionArn) + ":$LATEST"

	out := invoke(t, c, "to-bus", `{"n":1}`, func(in *lambda.InvokeInput) { in.InvocationType = types.InvocationTypeEvent })
	if out.StatusCode != 202 {
		t.Fatalf("status %d", out.StatusCode)
	}
	var ev destinationEvent
	body := receiveOne(t, sc, okURL, 15*time.Second, nil)
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	d := ev.Detail
	if ev.Source != "lambda" || ev.DetailType != "Lambda Function Invocation Result - Success" || ev.Version != "0" || ev.ID == "" ||
		ev.Account != "000000000000" || ev.Region != "us-east-1" || len(ev.Resources) != 2 || ev.Resources[0] != okBus || ev.Resources[1] != fnARN {
		t.Fatalf("success event envelope: %s", body)
	}
	if d.Version != "1.0" || d.RequestContext.Condition != "Success" || d.RequestContext.FunctionArn != fnARN ||
		d.RequestContext.ApproximateInvokeCount != 1 || d.RequestContext.RequestID == "" || string(d.RequestPayload) != `{"n":1}` ||
		d.ResponseContext.StatusCode != 200 || d.ResponseContext.ExecutedVersion != "$LATEST" || d.ResponseContext.FunctionError != "" {
		t.Fatalf("success record: %s", body)
	}

	// A failing event is retried after 1 and 2 minutes (server clock), then
	// its record goes to the OnFailure bus.
	invoke(t, c, "to-bus", `{"action":"error","message":"nope"}`, func(in *lambda.InvokeInput) { in.InvocationType = types.InvocationTypeEvent })
	body = receiveOne(t, sc, failURL, 30*time.Second, func() { env.Server.Clock().Advance(30 * time.Second) })
	ev = destinationEvent{}
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	d = ev.Detail
	if ev.Source != "lambda" || ev.DetailType != "Lambda Function Invocation Result - Failure" || len(ev.Resources) != 2 ||
		ev.Resources[0] != failBus || ev.Resources[1] != fnARN {
		t.Fatalf("failure event envelope: %s", body)
	}
	if d.RequestContext.Condition != "RetriesExhausted" || d.RequestContext.ApproximateInvokeCount != 3 ||
		d.ResponseContext.FunctionError != "Unhandled" || len(d.ResponsePayload) == 0 {
		t.Fatalf("failure record: %s", body)
	}
}
