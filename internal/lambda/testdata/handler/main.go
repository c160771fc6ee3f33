// Command handler is an aws-lambda-go function for the lambda package's
// integration tests; the event's "action" selects its behaviour.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

type event struct {
	Action  string          `json:"action"`
	Message string          `json:"message"`
	Ms      int             `json:"ms"`
	Queue   string          `json:"queue"`
	Records json.RawMessage `json:"Records"`
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev event
	_ = json.Unmarshal(raw, &ev)
	if len(ev.Records) > 0 {
		return sqsBatch(raw)
	}
	switch ev.Action {
	case "", "echo":
		fmt.Println("echo:", string(raw))
		return raw, nil
	case "error":
		return nil, errors.New(ev.Message)
	case "panic":
		panic(ev.Message)
	case "exit":
		os.Exit(3)
	case "sleep":
		time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
		return "slept", nil
	case "version":
		return os.Getenv("AWS_LAMBDA_FUNCTION_VERSION"), nil
	case "sqs":
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, err
		}
		out, err := sqs.NewFromConfig(cfg).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(ev.Queue), MessageBody: aws.String(ev.Message)})
		if err != nil {
			return nil, err
		}
		return *out.MessageId, nil
	}
	return nil, fmt.Errorf("unknown action %q", ev.Action)
}

// sqsBatch reports every record whose body contains "fail" as a batch item failure.
func sqsBatch(raw json.RawMessage) (any, error) {
	var e events.SQSEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, err
	}
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, r := range e.Records {
		fmt.Println("record:", r.Body)
		if strings.Contains(r.Body, "fail") {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	return resp, nil
}

func main() { lambda.Start(handle) }
