package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// FindingSource and FindingDetailType identify findings on the bus.
const (
	FindingSource     = "fogbank.example.activity-monitor"
	FindingDetailType = "Activity Finding"
)

type handler struct {
	eb            *eventbridge.Client
	bus           string
	priorityQueue string
}

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "processor: load AWS config:", err)
		os.Exit(1)
	}
	h := &handler{eb: eventbridge.NewFromConfig(cfg), bus: os.Getenv("FINDINGS_BUS"), priorityQueue: os.Getenv("PRIORITY_QUEUE_ARN")}
	lambda.Start(h.handle)
}

func (h *handler) handle(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	var entries []ebtypes.PutEventsRequestEntry
	var ids []string // message id of each entry
	for _, rec := range batch.Records {
		f, err := classify(rec, rec.EventSourceARN == h.priorityQueue)
		if err != nil {
			// A record that is not a trail event can never become a
			// finding: log it and let SQS drop it (no retry helps).
			fmt.Printf("skipping message %s: %v\n", rec.MessageId, err)
			continue
		}
		detail, _ := json.Marshal(f)
		fmt.Printf("finding %s %s %s on %s in %s\n", f.Severity, f.EventSource, f.EventName, f.Resource, f.Account)
		entries = append(entries, ebtypes.PutEventsRequestEntry{
			EventBusName: aws.String(h.bus), Source: aws.String(FindingSource), DetailType: aws.String(FindingDetailType),
			Detail: aws.String(string(detail)),
		})
		ids = append(ids, rec.MessageId)
	}
	for start := 0; start < len(entries); start += 10 {
		end := min(start+10, len(entries))
		out, err := h.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries[start:end]})
		for i := start; i < end; i++ {
			if err != nil || out.Entries[i-start].ErrorCode != nil {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ids[i]})
			}
		}
		if err != nil {
			fmt.Println("publishing findings:", err)
		}
	}
	return resp, nil
}

// Finding is the detail of a finding event.
type Finding struct {
	Severity      string `json:"severity"` // CRITICAL, HIGH or LOW
	Queue         string `json:"queue"`    // "priority" or "standard": how it was classified
	Account       string `json:"account"`
	Region        string `json:"region"`
	EventSource   string `json:"eventSource"`
	EventName     string `json:"eventName"`
	Resource      string `json:"resource"`
	Principal     string `json:"principal"`
	EventTime     string `json:"eventTime"`
	SourceEventID string `json:"sourceEventId"`
}

// trailEvent is the part of an "AWS API Call via CloudTrail" event the
// processor reads.
type trailEvent struct {
	ID         string `json:"id"`
	DetailType string `json:"detail-type"`
	Account    string `json:"account"`
	Region     string `json:"region"`
	Detail     struct {
		EventSource  string `json:"eventSource"`
		EventName    string `json:"eventName"`
		EventTime    string `json:"eventTime"`
		UserIdentity struct {
			ARN string `json:"arn"`
		} `json:"userIdentity"`
		RequestParameters struct {
			QueueName    string            `json:"queueName"`
			QueueURL     string            `json:"queueUrl"`
			FunctionName string            `json:"functionName"`
			Attributes   map[string]string `json:"attributes"`
			Principal    string            `json:"principal"`
		} `json:"requestParameters"`
	} `json:"detail"`
}

// classify turns one SQS record into a finding: security changes (from the
// priority queue) are HIGH, or CRITICAL when they open a resource to
// everyone; the rest are LOW.
func classify(rec events.SQSMessage, priority bool) (Finding, error) {
	var ev trailEvent
	if err := json.Unmarshal([]byte(rec.Body), &ev); err != nil {
		return Finding{}, fmt.Errorf("not JSON: %w", err)
	}
	if ev.DetailType != "AWS API Call via CloudTrail" {
		return Finding{}, fmt.Errorf("unexpected detail-type %q", ev.DetailType)
	}
	d := ev.Detail
	p := d.RequestParameters
	f := Finding{Severity: "LOW", Queue: "standard", Account: ev.Account, Region: ev.Region, EventSource: d.EventSource,
		EventName: d.EventName, Principal: d.UserIdentity.ARN, EventTime: d.EventTime, SourceEventID: ev.ID}
	switch {
	case p.QueueName != "":
		f.Resource = p.QueueName
	case p.QueueURL != "":
		f.Resource = lastSegment(p.QueueURL)
	default:
		f.Resource = p.FunctionName
	}
	if priority {
		f.Severity, f.Queue = "HIGH", "priority"
		if opensToEveryone(p.Attributes["Policy"]) || p.Principal == "*" {
			f.Severity = "CRITICAL"
		}
	}
	return f, nil
}

// opensToEveryone reports whether a resource policy has an Allow statement
// whose principal is "*" or {"AWS": "*"}.
func opensToEveryone(policy string) bool {
	if policy == "" {
		return false
	}
	var doc struct {
		Statement []struct {
			Effect    string          `json:"Effect"`
			Principal json.RawMessage `json:"Principal"`
		} `json:"Statement"`
	}
	if json.Unmarshal([]byte(policy), &doc) != nil {
		return false
	}
	for _, st := range doc.Statement {
		if st.Effect != "Allow" {
			continue
		}
		var s string
		if json.Unmarshal(st.Principal, &s) == nil && s == "*" {
			return true
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(st.Principal, &m) == nil && json.Unmarshal(m["AWS"], &s) == nil && s == "*" {
			return true
		}
	}
	return false
}

func lastSegment(u string) string {
	for i := len(u) - 1; i >= 0; i-- {
		if u[i] == '/' {
			return u[i+1:]
		}
	}
	return u
}
