package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
)

// Resource names (the same on every run, so setup is idempotent).
const (
	centralBus    = "activity-central"
	priorityQueue = "activity-priority"
	standardQueue = "activity-standard"
	findingsQueue = "activity-findings"
	processorName = "activity-processor"
	forwardRule   = "forward-activity-to-central"
	priorityRule  = "classify-priority"
	standardRule  = "classify-standard"
	findingsRule  = "route-findings"
)

// Event patterns. The source filter forwards write calls of the watched
// services, leaving out the message traffic (read-only calls never reach
// an ENABLED rule: only ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS gets
// them). The central classification sends permission and policy changes to
// the priority queue and exactly the rest to the standard queue. (A field
// named both beside a $or and inside one of its branches is replaced there,
// not combined, in AWS's grammar: hence the wildcard list below rather than
// a second eventName condition.)
const (
	forwardPattern = `{
  "detail-type": ["AWS API Call via CloudTrail"],
  "source": ["aws.sqs", "aws.lambda", "aws.iam"],
  "detail": {"eventName": [{"anything-but": ["SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage",
    "DeleteMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"]}]}
}`
	priorityPattern = `{
  "detail-type": ["AWS API Call via CloudTrail"],
  "detail": {"$or": [
    {"eventName": [{"suffix": "Permission"}]},
    {"eventSource": ["iam.amazonaws.com"]},
    {"eventName": ["SetQueueAttributes"], "requestParameters": {"attributes": {"Policy": [{"exists": true}]}}}
  ]}
}`
	standardPattern = `{
  "detail-type": ["AWS API Call via CloudTrail"],
  "detail": {
    "eventSource": [{"anything-but": "iam.amazonaws.com"}],
    "$or": [
      {"eventName": [{"anything-but": {"wildcard": ["*Permission", "SetQueueAttributes"]}}]},
      {"eventName": ["SetQueueAttributes"], "requestParameters": {"attributes": {"Policy": [{"exists": false}]}}}
    ]
  }
}`
	findingSource   = "fogbank.example.activity-monitor"
	findingsPattern = `{"source": ["` + findingSource + `"], "detail-type": ["Activity Finding"]}`
)

// central is what the central account's setup made.
type central struct {
	busARN      string
	findingsURL string
}

// setupCentral creates the central bus and its policy, the three queues,
// the classification and findings rules, and the processor function with
// its two SQS event source mappings.
func setupCentral(ctx context.Context, a *account, sources []string, code []byte, say func(string, ...any)) (*central, error) {
	say("central account %s:", a.id)
	if _, err := a.eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(centralBus)}); err != nil && !isCode(err, "ResourceAlreadyExistsException") {
		return nil, fmt.Errorf("create bus: %w", err)
	}
	bus, err := a.eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(centralBus)})
	if err != nil {
		return nil, fmt.Errorf("describe bus: %w", err)
	}
	c := &central{busARN: aws.ToString(bus.Arn)}
	say("  bus %s", c.busARN)
	for _, src := range sources {
		if _, err := a.eb.PutPermission(ctx, &eventbridge.PutPermissionInput{EventBusName: aws.String(centralBus),
			Action: aws.String("events:PutEvents"), Principal: aws.String(src), StatementId: aws.String("source-" + src)}); err != nil {
			return nil, fmt.Errorf("put permission for %s: %w", src, err)
		}
	}
	say("  bus policy allows events:PutEvents from %v", sources)

	queues := map[string]string{} // name -> ARN
	urls := map[string]string{}
	for name, rule := range map[string]string{priorityQueue: priorityRule, standardQueue: standardRule, findingsQueue: findingsRule} {
		arn := a.arn("sqs", name)
		// Only EventBridge, for this rule, may send: what AWS needs too.
		policy := mustJSON(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]string{"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
			"Resource": arn, "Condition": map[string]any{"ArnEquals": map[string]string{"aws:SourceArn": a.arn("events", "rule/"+centralBus+"/"+rule)}},
		}}})
		out, err := a.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{"Policy": policy}})
		if err != nil {
			return nil, fmt.Errorf("create queue %s: %w", name, err)
		}
		queues[name], urls[name] = arn, aws.ToString(out.QueueUrl)
	}
	c.findingsURL = urls[findingsQueue]

	for _, r := range []struct{ name, pattern, queue string }{
		{priorityRule, priorityPattern, priorityQueue},
		{standardRule, standardPattern, standardQueue},
		{findingsRule, findingsPattern, findingsQueue},
	} {
		if err := putRule(ctx, a, centralBus, r.name, r.pattern, "q", queues[r.queue]); err != nil {
			return nil, err
		}
		say("  rule %s → queue %s", r.name, r.queue)
	}

	if err := deployProcessor(ctx, a, code, queues[priorityQueue], queues[standardQueue]); err != nil {
		return nil, err
	}
	say("  function %s ← SQS event source mappings on %s (batch 1) and %s (batch 10)", processorName, priorityQueue, standardQueue)
	return c, nil
}

// setupSource puts the forwarding rule on the source account's default bus.
func setupSource(ctx context.Context, a *account, centralBusARN string, say func(string, ...any)) error {
	if err := putRule(ctx, a, "default", forwardRule, forwardPattern, "central-bus", centralBusARN); err != nil {
		return fmt.Errorf("source %s: %w", a.id, err)
	}
	say("source account %s: rule %s on the default bus → %s", a.id, forwardRule, centralBusARN)
	return nil
}

func putRule(ctx context.Context, a *account, bus, name, pattern, targetID, targetARN string) error {
	if _, err := a.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String(bus),
		EventPattern: aws.String(pattern), State: ebtypes.RuleStateEnabled}); err != nil {
		return fmt.Errorf("put rule %s: %w", name, err)
	}
	out, err := a.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String(targetID), Arn: aws.String(targetARN)}}})
	if err != nil {
		return fmt.Errorf("put targets of %s: %w", name, err)
	}
	if out.FailedEntryCount > 0 {
		return fmt.Errorf("put targets of %s: %s", name, aws.ToString(out.FailedEntries[0].ErrorMessage))
	}
	return nil
}

// deployProcessor creates (or updates) the processor function and maps
// the two classification queues to it.
func deployProcessor(ctx context.Context, a *account, code []byte, priorityARN, standardARN string) error {
	arch := lambdatypes.ArchitectureX8664
	if runtime.GOARCH == "arm64" {
		arch = lambdatypes.ArchitectureArm64
	}
	_, err := a.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(processorName), Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::" + a.id + ":role/activity-processor"), Architectures: []lambdatypes.Architecture{arch},
		Code: &lambdatypes.FunctionCode{ZipFile: code}, Timeout: aws.Int32(30), MemorySize: aws.Int32(128),
		Environment: &lambdatypes.Environment{Variables: map[string]string{"FINDINGS_BUS": centralBus, "PRIORITY_QUEUE_ARN": priorityARN}},
	})
	if isCode(err, "ResourceConflictException") {
		_, err = a.lambda.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(processorName), ZipFile: code})
	}
	if err != nil {
		return fmt.Errorf("deploy %s: %w", processorName, err)
	}
	if err := waitFor(ctx, func() (bool, error) {
		fc, err := a.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(processorName)})
		if err != nil {
			return false, err
		}
		return fc.State == lambdatypes.StateActive && fc.LastUpdateStatus != lambdatypes.LastUpdateStatusInProgress, nil
	}); err != nil {
		return fmt.Errorf("wait for %s: %w", processorName, err)
	}
	existing, err := a.lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(processorName)})
	if err != nil {
		return fmt.Errorf("list event source mappings: %w", err)
	}
	for _, m := range []struct {
		arn    string
		batch  int32
		window int32
	}{{priorityARN, 1, 0}, {standardARN, 10, 1}} {
		var uuid *string
		for _, e := range existing.EventSourceMappings {
			if aws.ToString(e.EventSourceArn) == m.arn {
				uuid = e.UUID
			}
		}
		if uuid == nil {
			out, err := a.lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
				FunctionName: aws.String(processorName), EventSourceArn: aws.String(m.arn), BatchSize: aws.Int32(m.batch),
				MaximumBatchingWindowInSeconds: aws.Int32(m.window),
				FunctionResponseTypes:          []lambdatypes.FunctionResponseType{lambdatypes.FunctionResponseTypeReportBatchItemFailures},
			})
			if err != nil {
				return fmt.Errorf("map %s to %s: %w", m.arn, processorName, err)
			}
			uuid = out.UUID
		}
		if err := waitFor(ctx, func() (bool, error) {
			e, err := a.lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: uuid})
			return err == nil && aws.ToString(e.State) == "Enabled", err
		}); err != nil {
			return fmt.Errorf("wait for the mapping of %s: %w", m.arn, err)
		}
	}
	return nil
}

// buildProcessor compiles ./processor for this machine (Fogbank runs
// provided.al2023 functions as local processes) and zips it as bootstrap.
func buildProcessor(ctx context.Context) ([]byte, error) {
	dir, err := os.MkdirTemp("", "activity-processor-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(sourceDir(), "processor")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build the processor in %s: %w\n%s", cmd.Dir, err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sourceDir is this example's source directory: where this file was
// compiled from, else the working directory's examples/activity-monitoring.
func sourceDir() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		if _, err := os.Stat(filepath.Join(filepath.Dir(file), "processor")); err == nil {
			return filepath.Dir(file)
		}
	}
	if _, err := os.Stat("processor"); err == nil {
		return "."
	}
	return filepath.Join("examples", "activity-monitoring")
}

// waitFor polls cond every 100 ms until it is true, fails or ctx ends.
func waitFor(ctx context.Context, cond func() (bool, error)) error {
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
