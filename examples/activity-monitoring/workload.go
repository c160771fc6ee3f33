package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// workloadUser is the IAM user whose key makes the workload's calls, so
// the trail tells them apart from the monitoring setup's.
const workloadUser = "app-developer"

// call is one API call of a workload and the finding it must produce:
// a severity, or "" when the call must not reach the central account
// (filtered in the source account, or read-only).
type call struct {
	op     string
	expect string
	why    string // for "" expectations: why nothing arrives
	do     func(ctx context.Context, w *workload) error
}

// scenarios are the workloads; source account i runs scenarios[i%3].
var scenarios = []struct {
	queue string
	calls []call
}{
	{"orders", []call{ // a team shares its queue with a partner account
		{"CreateQueue", "LOW", "", createQueue},
		{"SendMessage", "", "filtered at the source", sendMessage},
		{"SendMessage", "", "filtered at the source", sendMessage},
		{"SetQueueAttributes", "LOW", "", setAttrs(func(*workload) map[string]string { return map[string]string{"VisibilityTimeout": "60"} })},
		{"AddPermission", "HIGH", "", func(ctx context.Context, w *workload) error {
			_, err := w.a.sqs.AddPermission(ctx, &sqs.AddPermissionInput{QueueUrl: aws.String(w.url), Label: aws.String("share-with-" + w.peer),
				AWSAccountIds: []string{w.peer}, Actions: []string{"SendMessage"}})
			return err
		}},
	}},
	{"clicks", []call{ // routine life cycle, nothing security-relevant
		{"CreateQueue", "LOW", "", createQueue},
		{"TagQueue", "LOW", "", func(ctx context.Context, w *workload) error {
			_, err := w.a.sqs.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: aws.String(w.url), Tags: map[string]string{"team": "analytics"}})
			return err
		}},
		{"SendMessage", "", "filtered at the source", sendMessage},
		{"GetQueueAttributes", "", "read-only", func(ctx context.Context, w *workload) error {
			_, err := w.a.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(w.url), AttributeNames: []sqstypes.QueueAttributeName{"All"}})
			return err
		}},
		{"DeleteQueue", "LOW", "", func(ctx context.Context, w *workload) error {
			_, err := w.a.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(w.url)})
			return err
		}},
	}},
	{"exports", []call{ // someone opens a queue to the world
		{"CreateQueue", "LOW", "", createQueue},
		{"SetQueueAttributes", "CRITICAL", "", setAttrs(func(w *workload) map[string]string {
			return map[string]string{"Policy": mustJSON(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": w.a.arn("sqs", w.queue)}}})}
		})},
	}},
}

func createQueue(ctx context.Context, w *workload) error {
	out, err := w.a.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(w.queue)})
	if err == nil {
		w.url = aws.ToString(out.QueueUrl)
	}
	return err
}

func sendMessage(ctx context.Context, w *workload) error {
	_, err := w.a.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(w.url), MessageBody: aws.String(`{"order":42}`)})
	return err
}

func setAttrs(attrs func(*workload) map[string]string) func(context.Context, *workload) error {
	return func(ctx context.Context, w *workload) error {
		_, err := w.a.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(w.url), Attributes: attrs(w)})
		return err
	}
}

// workload is one source account's API calls in this run.
type workload struct {
	a     *account // signed as workloadUser
	queue string   // <scenario queue>-<run id>
	url   string
	peer  string
	calls []call
	start time.Time
	at    map[string]time.Time // op -> when the call returned
}

func newWorkload(i int, a *account, runID, peer string) *workload {
	sc := scenarios[i%len(scenarios)]
	return &workload{a: a, queue: sc.queue + "-" + runID, peer: peer, calls: sc.calls, at: map[string]time.Time{}}
}

func (w *workload) run(ctx context.Context, say func(string, ...any)) error {
	w.start = time.Now()
	for _, c := range w.calls {
		if err := c.do(ctx, w); err != nil {
			return fmt.Errorf("account %s: %s on %s: %w", w.a.id, c.op, w.queue, err)
		}
		w.at[c.op] = time.Now()
		note := "expect a " + c.expect + " finding"
		if c.expect == "" {
			note = "expect nothing (" + c.why + ")"
		}
		say("  %s  %-20s %-16s %s", w.a.id, c.op, w.queue, note)
	}
	return nil
}

// trailSummary prints what CloudTrail recorded of the workload's calls:
// every call is in the trail, filtered ones included.
func (w *workload) trailSummary(ctx context.Context, say func(string, ...any)) error {
	seen := map[string]int{}
	p := cloudtrail.NewLookupEventsPaginator(w.a.trail, &cloudtrail.LookupEventsInput{StartTime: aws.Time(w.start.Add(-time.Minute)),
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyAccessKeyId, AttributeValue: aws.String(w.a.keyID)}}})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("account %s: LookupEvents: %w", w.a.id, err)
		}
		for _, e := range out.Events {
			seen[aws.ToString(e.EventName)]++
		}
	}
	want := map[string]int{}
	for _, c := range w.calls {
		want[c.op]++
	}
	var parts []string
	for op, n := range want {
		if seen[op] < n {
			return fmt.Errorf("account %s: CloudTrail has %d %s calls of this run, want %d", w.a.id, seen[op], op, n)
		}
		parts = append(parts, fmt.Sprintf("%s×%d", op, n))
	}
	sort.Strings(parts)
	say("trail of %s (key %s): %s", w.a.id, w.a.keyID, strings.Join(parts, " "))
	return nil
}
