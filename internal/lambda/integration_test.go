package lambda_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/fogbank/fogbank/internal/testenv"
)

// handlerZip is the test handler (testdata/handler) built as bootstrap and
// zipped; handlerBin is the built bootstrap (for baselines that exec it).
var (
	handlerZip []byte
	handlerBin string
)

func TestMain(m *testing.M) {
	if os.Getenv(echoServerEnv) != "" {
		os.Exit(echoServerMain())
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lambda-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, zipped, err := testenv.BuildBootstrap(dir, "./testdata/handler")
	if err != nil {
		fmt.Fprintln(os.Stderr, "building the test handler:", err)
		return 1
	}
	handlerBin, handlerZip = bin, zipped
	return m.Run()
}

const role = "arn:aws:iam::000000000000:role/lambda-role"

func createFn(t *testing.T, c *lambda.Client, name string, mod func(*lambda.CreateFunctionInput)) *lambda.CreateFunctionOutput {
	t.Helper()
	in := &lambda.CreateFunctionInput{FunctionName: aws.String(name), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: handlerZip}, Timeout: aws.Int32(10)}
	if mod != nil {
		mod(in)
	}
	out, err := c.CreateFunction(context.Background(), in)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return out
}

func invoke(t *testing.T, c *lambda.Client, name, payload string, mod func(*lambda.InvokeInput)) *lambda.InvokeOutput {
	t.Helper()
	in := &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(payload)}
	if mod != nil {
		mod(in)
	}
	out, err := c.Invoke(context.Background(), in)
	if err != nil {
		t.Fatalf("invoke %s %s: %v", name, payload, err)
	}
	return out
}

func apiErr(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

func TestFunctionLifecycleAndInvoke(t *testing.T) {
	env := testenv.Start(t)
	c := lambda.NewFromConfig(env.Config)
	ctx := context.Background()

	out := createFn(t, c, "echo", nil)
	if out.State != types.StatePending || aws.ToString(out.FunctionArn) != "arn:aws:lambda:us-east-1:"+env.Account+":function:echo" {
		t.Fatalf("create answer: state %s arn %s", out.State, aws.ToString(out.FunctionArn))
	}
	_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("echo"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Code: &types.FunctionCode{ZipFile: handlerZip}})
	apiErr(t, err, "ResourceConflictException")
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("bad"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Code: &types.FunctionCode{ZipFile: []byte("not a zip")}})
	apiErr(t, err, "InvalidParameterValueException")
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("bad"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Code: &types.FunctionCode{ZipFile: handlerZip}, Timeout: aws.Int32(901)})
	apiErr(t, err, "ValidationException")

	if err := lambda.NewFunctionActiveV2Waiter(c).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("echo")}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("echo")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Configuration.State != types.StateActive || got.Configuration.LastUpdateStatus != types.LastUpdateStatusSuccessful {
		t.Fatalf("state %s/%s", got.Configuration.State, got.Configuration.LastUpdateStatus)
	}

	res := invoke(t, c, "echo", `{"hello":"world"}`, func(in *lambda.InvokeInput) { in.LogType = types.LogTypeTail })
	if string(res.Payload) != `{"hello":"world"}` || aws.ToString(res.ExecutedVersion) != "$LATEST" || res.FunctionError != nil {
		t.Fatalf("invoke: %s %v %v", res.Payload, aws.ToString(res.ExecutedVersion), res.FunctionError)
	}
	tail, _ := base64.StdEncoding.DecodeString(aws.ToString(res.LogResult))
	for _, want := range []string{"START RequestId:", "echo: {\"hello\":\"world\"}", "END RequestId:", "REPORT RequestId:", "Init Duration:"} {
		if !strings.Contains(string(tail), want) {
			t.Errorf("log tail lacks %q:\n%s", want, tail)
		}
	}

	res = invoke(t, c, "echo", `{"action":"error","message":"boom"}`, nil)
	if aws.ToString(res.FunctionError) != "Unhandled" || !strings.Contains(string(res.Payload), `"errorMessage":"boom"`) {
		t.Fatalf("error invoke: %v %s", res.FunctionError, res.Payload)
	}
	res = invoke(t, c, "echo", `{"action":"exit"}`, nil)
	if aws.ToString(res.FunctionError) != "Unhandled" || !strings.Contains(string(res.Payload), "Runtime.ExitError") {
		t.Fatalf("crash invoke: %v %s", res.FunctionError, res.Payload)
	}
	dry := invoke(t, c, "echo", `{}`, func(in *lambda.InvokeInput) { in.InvocationType = types.InvocationTypeDryRun })
	if dry.StatusCode != 204 {
		t.Fatalf("dry run status %d", dry.StatusCode)
	}
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: bytes.Repeat([]byte("a"), 6*1024*1024+10)})
	apiErr(t, err, "RequestTooLargeException")
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("nope")})
	apiErr(t, err, "ResourceNotFoundException")

	// Timeout.
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("echo"), Timeout: aws.Int32(1),
		Environment: &types.Environment{Variables: map[string]string{"A": "b"}}}); err != nil {
		t.Fatal(err)
	}
	res = invoke(t, c, "echo", `{"action":"sleep","ms":3000}`, nil)
	if !strings.Contains(string(res.Payload), "Task timed out after 1.00 seconds") || !strings.Contains(string(res.Payload), "Sandbox.Timedout") {
		t.Fatalf("timeout payload: %s", res.Payload)
	}
	cfg, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("echo")})
	if err != nil || cfg.Environment.Variables["A"] != "b" || aws.ToInt32(cfg.Timeout) != 1 {
		t.Fatalf("config after update: %+v %v", cfg, err)
	}

	// Versions and aliases.
	v1, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("echo")})
	if err != nil || aws.ToString(v1.Version) != "1" {
		t.Fatalf("publish: %v %v", v1, err)
	}
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("echo"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	res = invoke(t, c, "echo", `{"action":"version"}`, func(in *lambda.InvokeInput) { in.Qualifier = aws.String("live") })
	if string(res.Payload) != `"1"` || aws.ToString(res.ExecutedVersion) != "1" {
		t.Fatalf("alias invoke: %s %s", res.Payload, aws.ToString(res.ExecutedVersion))
	}
	list, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if err != nil || len(list.Functions) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}

	// Reserved concurrency 0 throttles.
	if _, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("echo"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo")})
	var tm *types.TooManyRequestsException
	if !errors.As(err, &tm) || tm.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded {
		t.Fatalf("want throttle, got %v", err)
	}
	if _, err := c.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("echo")}); err != nil {
		t.Fatal(err)
	}

	// Logs reach CloudWatch Logs.
	lc := cloudwatchlogs.NewFromConfig(env.Config)
	testenv.Eventually(t, 10*time.Second, func() bool {
		ev, err := lc.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/echo"), FilterPattern: aws.String(`"REPORT RequestId"`)})
		return err == nil && len(ev.Events) >= 5
	}, "REPORT lines in /aws/lambda/echo")
	streams, err := lc.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/lambda/echo")})
	if err != nil || len(streams.LogStreams) == 0 || !strings.Contains(aws.ToString(streams.LogStreams[0].LogStreamName), "[$LATEST]") {
		t.Fatalf("streams: %v %v", streams, err)
	}

	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("echo")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("echo")})
	apiErr(t, err, "ResourceNotFoundException")
}

func queue(t *testing.T, c *sqs.Client, name string) (url, arn string) {
	t.Helper()
	ctx := context.Background()
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{"VisibilityTimeout": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(q.QueueUrl), a.Attributes["QueueArn"]
}

func receiveOne(t *testing.T, c *sqs.Client, url string, within time.Duration, advance func()) string {
	t.Helper()
	var body string
	testenv.Eventually(t, within, func() bool {
		if advance != nil {
			advance()
		}
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 1})
		if err == nil && len(out.Messages) == 1 {
			body = aws.ToString(out.Messages[0].Body)
			return true
		}
		return false
	}, "a message in %s", url)
	return body
}

func TestAsyncDestinations(t *testing.T) {
	env := testenv.Start(t)
	c := lambda.NewFromConfig(env.Config)
	sc := sqs.NewFromConfig(env.Config)
	ctx := context.Background()
	okURL, okARN := queue(t, sc, "on-success")
	failURL, failARN := queue(t, sc, "on-failure")
	dlqURL, dlqARN := queue(t, sc, "dlq")
	createFn(t, c, "async", func(in *lambda.CreateFunctionInput) {
		in.DeadLetterConfig = &types.DeadLetterConfig{TargetArn: aws.String(dlqARN)}
	})
	if _, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("async"),
		DestinationConfig: &types.DestinationConfig{OnSuccess: &types.OnSuccess{Destination: aws.String(okARN)}, OnFailure: &types.OnFailure{Destination: aws.String(failARN)}}}); err != nil {
		t.Fatal(err)
	}
	out := invoke(t, c, "async", `{"n":1}`, func(in *lambda.InvokeInput) { in.InvocationType = types.InvocationTypeEvent })
	if out.StatusCode != 202 {
		t.Fatalf("status %d", out.StatusCode)
	}
	var rec map[string]any
	json.Unmarshal([]byte(receiveOne(t, sc, okURL, 15*time.Second, nil)), &rec)
	rc := rec["requestContext"].(map[string]any)
	if rc["condition"] != "Success" || rec["version"] != "1.0" || rc["approximateInvokeCount"].(float64) != 1 {
		t.Fatalf("success record: %v", rec)
	}

	// A failing event is retried after 1 and 2 minutes (server clock), then
	// goes to OnFailure and the DLQ.
	invoke(t, c, "async", `{"action":"error","message":"nope"}`, func(in *lambda.InvokeInput) { in.InvocationType = types.InvocationTypeEvent })
	body := receiveOne(t, sc, failURL, 30*time.Second, func() { env.Server.Clock().Advance(30 * time.Second) })
	json.Unmarshal([]byte(body), &rec)
	rc = rec["requestContext"].(map[string]any)
	if rc["condition"] != "RetriesExhausted" || rc["approximateInvokeCount"].(float64) != 3 {
		t.Fatalf("failure record: %s", body)
	}
	if rec["responseContext"].(map[string]any)["functionError"] != "Unhandled" {
		t.Fatalf("failure record: %s", body)
	}
	if got := receiveOne(t, sc, dlqURL, 10*time.Second, nil); got != `{"action":"error","message":"nope"}` {
		t.Fatalf("dlq body %s", got)
	}
}

func TestSQSEventSource(t *testing.T) {
	env := testenv.Start(t)
	c := lambda.NewFromConfig(env.Config)
	sc := sqs.NewFromConfig(env.Config)
	ctx := context.Background()
	url, arn := queue(t, sc, "source")
	createFn(t, c, "consumer", nil)
	esm, err := c.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("consumer"),
		EventSourceArn: aws.String(arn), BatchSize: aws.Int32(10),
		FunctionResponseTypes: []types.FunctionResponseType{types.FunctionResponseTypeReportBatchItemFailures},
		FilterCriteria:        &types.FilterCriteria{Filters: []types.Filter{{Pattern: aws.String(`{"body":{"keep":[true]}}`)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(esm.State) != "Creating" {
		t.Fatalf("state %s", aws.ToString(esm.State))
	}
	for _, b := range []string{`{"keep":true,"v":"ok"}`, `{"keep":true,"v":"fail"}`, `{"keep":false}`} {
		if _, err := sc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	// The kept success is deleted, the filtered message is deleted, the
	// reported failure returns to the queue.
	testenv.Eventually(t, 20*time.Second, func() bool {
		a, err := sc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
		return err == nil && a.Attributes["ApproximateNumberOfMessages"]+"/"+a.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0/0" &&
			(a.Attributes["ApproximateNumberOfMessages"] == "1" || a.Attributes["ApproximateNumberOfMessagesNotVisible"] == "1") &&
			a.Attributes["ApproximateNumberOfMessages"] != "2" && a.Attributes["ApproximateNumberOfMessagesNotVisible"] != "2"
	}, "only the failed record left")
	lc := cloudwatchlogs.NewFromConfig(env.Config)
	testenv.Eventually(t, 10*time.Second, func() bool {
		ev, err := lc.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/consumer"), FilterPattern: aws.String(`record`)})
		if err != nil {
			return false
		}
		for _, e := range ev.Events {
			if strings.Contains(aws.ToString(e.Message), `"keep":false`) {
				t.Fatalf("filtered record was delivered: %s", aws.ToString(e.Message))
			}
		}
		return len(ev.Events) >= 2
	}, "records logged")
	if _, err := c.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: esm.UUID}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkWarmInvoke measures a warm RequestResponse invoke of a real
// aws-lambda-go bootstrap through the SDK and the whole front door.
func BenchmarkWarmInvoke(b *testing.B) {
	env := testenv.Start(b)
	c := lambda.NewFromConfig(env.Config)
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("bench"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Code: &types.FunctionCode{ZipFile: handlerZip}}); err != nil {
		b.Fatal(err)
	}
	in := &lambda.InvokeInput{FunctionName: aws.String("bench"), Payload: []byte(`{"a":1}`)}
	if _, err := c.Invoke(ctx, in); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Invoke(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkColdInvoke measures invokes that each start a new environment
// (every iteration changes the configuration first, outside the timer).
func BenchmarkColdInvoke(b *testing.B) {
	env := testenv.Start(b)
	c := lambda.NewFromConfig(env.Config)
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("cold"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Code: &types.FunctionCode{ZipFile: handlerZip}}); err != nil {
		b.Fatal(err)
	}
	in := &lambda.InvokeInput{FunctionName: aws.String("cold"), Payload: []byte(`{"a":1}`)}
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("cold"),
			Description: aws.String(fmt.Sprint(i))}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := c.Invoke(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}
