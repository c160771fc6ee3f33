package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// finding is the detail the processor publishes (see processor.Finding).
type finding struct {
	Severity    string `json:"severity"`
	Queue       string `json:"queue"`
	Account     string `json:"account"`
	EventSource string `json:"eventSource"`
	EventName   string `json:"eventName"`
	Resource    string `json:"resource"`
	Principal   string `json:"principal"`
}

// tally checks the findings of one run against the workloads.
type tally struct {
	want   map[string]string    // account/op/resource -> severity
	calls  map[string]time.Time // same key -> when the call returned
	got    map[string]string
	wrong  []string
	bySev  map[string]int
	suffix string // every resource of this run ends with it
}

func newTally(ws []*workload) *tally {
	t := &tally{want: map[string]string{}, calls: map[string]time.Time{}, got: map[string]string{}, bySev: map[string]int{}}
	for _, w := range ws {
		t.suffix = w.queue[strings.LastIndexByte(w.queue, '-'):]
		for _, c := range w.calls {
			if c.expect != "" {
				k := w.a.id + "/" + c.op + "/" + w.queue
				t.want[k], t.calls[k] = c.expect, w.at[c.op]
			}
		}
	}
	return t
}

func (t *tally) expected() int { return len(t.want) }

// observe records one finding and describes it; ok is false for a finding
// that should not exist (wrong severity, or a call that must not arrive).
func (t *tally) observe(f finding) (note string, ok bool) {
	if !strings.HasSuffix(f.Resource, t.suffix) {
		return "from an earlier run, ignored", true
	}
	k := f.Account + "/" + f.EventName + "/" + f.Resource
	want, expected := t.want[k]
	switch {
	case !expected:
		t.wrong = append(t.wrong, fmt.Sprintf("unexpected finding %s %s", f.Severity, k))
		return "UNEXPECTED", false
	case f.Severity != want:
		t.wrong = append(t.wrong, fmt.Sprintf("%s: severity %s, want %s", k, f.Severity, want))
		return "WRONG SEVERITY, want " + want, false
	case t.got[k] != "":
		return "duplicate (at-least-once delivery)", true
	}
	t.got[k] = f.Severity
	t.bySev[f.Severity]++
	return fmt.Sprintf("%.1fs after the call", time.Since(t.calls[k]).Seconds()), true
}

func (t *tally) complete() bool { return len(t.got) == len(t.want) }

func (t *tally) err() error {
	var missing []string
	for k, sev := range t.want {
		if t.got[k] == "" {
			missing = append(missing, sev+" "+k)
		}
	}
	sort.Strings(missing)
	var problems []string
	if len(missing) > 0 {
		problems = append(problems, "missing findings: "+strings.Join(missing, ", "))
	}
	problems = append(problems, t.wrong...)
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(problems, "; "))
}

func (t *tally) summary() string {
	var parts []string
	for _, sev := range []string{"CRITICAL", "HIGH", "LOW"} {
		if n := t.bySev[sev]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	return strings.Join(parts, ", ")
}

// settle is how long to keep reading after the last expected finding, to
// catch findings that must not exist.
const settle = 1500 * time.Millisecond

// watchFindings reads the findings queue until every expected finding
// arrived (and settle passed) or ctx ends.
func watchFindings(ctx context.Context, a *account, url string, t *tally, say func(string, ...any)) error {
	var doneAt time.Time
	for {
		if t.complete() && doneAt.IsZero() {
			doneAt = time.Now()
		}
		if !doneAt.IsZero() && time.Since(doneAt) >= settle {
			return t.err()
		}
		if ctx.Err() != nil {
			if err := t.err(); err != nil {
				return fmt.Errorf("timed out: %w", err)
			}
			return ctx.Err()
		}
		out, err := a.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			return fmt.Errorf("receive findings: %w", err)
		}
		for _, m := range out.Messages {
			var ev struct {
				Source string  `json:"source"`
				Detail finding `json:"detail"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil || ev.Source != findingSource {
				say("  ? not a finding: %s", aws.ToString(m.Body))
			} else {
				f := ev.Detail
				note, _ := t.observe(f)
				say("  finding %-8s %s %-20s %-16s via %-8s queue  %s", f.Severity, f.Account, f.EventName, f.Resource, f.Queue, note)
			}
			if _, err := a.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil && ctx.Err() == nil {
				return fmt.Errorf("delete finding: %w", err)
			}
		}
	}
}
