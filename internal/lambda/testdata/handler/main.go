// Command handler is an aws-lambda-go function for the lambda package's
// integration tests; the event's "action" selects its behaviour.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
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
	RawPath string          `json:"rawPath"`
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
	if ev.RawPath != "" {
		return functionURL(raw, ev.RawPath)
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
	case "opt":
		// Reads a file from the merged layer directory (Lambda's /opt).
		b, err := os.ReadFile(os.Getenv("FOGBANK_OPT_DIR") + "/" + ev.Message)
		if err != nil {
			return nil, err
		}
		return string(b), nil
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

// functionURL answers function URL (payload format 2.0) events by path.
func functionURL(raw json.RawMessage, path string) (any, error) {
	var req events.LambdaFunctionURLRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, err
	}
	switch path {
	case "/plain":
		return map[string]string{"hello": "world"}, nil
	case "/string":
		return "hello", nil
	case "/error":
		return nil, errors.New("url failure")
	case "/binary":
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return events.LambdaFunctionURLResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/octet-stream"},
			Body: base64.StdEncoding.EncodeToString(b), IsBase64Encoded: true}, nil
	case "/gzip":
		// Compress only when the client accepts it, as the network-footprint
		// post describes; the URL front end passes the bytes through.
		text := strings.Repeat("compressible text ", 1000)
		if !strings.Contains(req.Headers["accept-encoding"], "gzip") {
			return events.LambdaFunctionURLResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: text}, nil
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(text))
		zw.Close()
		return events.LambdaFunctionURLResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain", "Content-Encoding": "gzip"},
			Body: base64.StdEncoding.EncodeToString(buf.Bytes()), IsBase64Encoded: true}, nil
	}
	return events.LambdaFunctionURLResponse{StatusCode: 201, Headers: map[string]string{"X-Echo": "yes"},
		Cookies: []string{"a=1; Path=/", "b=2"}, Body: string(raw)}, nil
}

func main() { lambda.Start(handle) }
