package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/fogbank/fogbank/internal/events"
	"github.com/fogbank/fogbank/internal/pattern"
	"github.com/fogbank/fogbank/internal/testenv"
)

// TestSDKPatternCorpus sends every case of the recorded pattern corpus
// through TestEventPattern with the SDK: matches, non-matches and AWS's
// exact InvalidEventPatternException messages; invalid patterns are also
// refused by PutRule with the same message.
func TestSDKPatternCorpus(t *testing.T) {
	cases := events.LoadPatternCorpus(t)
	env := testenv.Start(t)
	ctx := context.Background()
	eb := eventbridge.NewFromConfig(env.Config)
	counts := map[string]int{}
	for _, c := range cases {
		out, err := eb.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{Event: aws.String(string(c.Event)), EventPattern: aws.String(string(c.Pattern))})
		switch c.Want {
		case "invalid":
			apiErr(t, err, "InvalidEventPatternException", c.Error)
			_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("bad"), EventPattern: aws.String(string(c.Pattern))})
			apiErr(t, err, "InvalidEventPatternException", c.Error)
		default:
			if err != nil {
				t.Errorf("%s: %v", c.Name, err)
				continue
			}
			if out.Result != (c.Want == "match") {
				t.Errorf("%s: Result = %v, recorded %s", c.Name, out.Result, c.Want)
			}
		}
		counts[c.Want]++
	}
	if counts["match"] != 66 || counts["nomatch"] != 51 || counts["invalid"] != 38 {
		t.Errorf("case counts %v, want 66 match / 51 nomatch / 38 invalid", counts)
	}
}

// TestSDKPatternCorpusPutEvents runs the corpus cases whose event PutEvents
// can produce (string source and detail-type, object detail, string
// resources; the pattern tests nothing PutEvents sets itself) through real
// rules: every usable event is put on one bus, and each selective pattern
// (matching at most 10 of those events, to keep the run short) is a rule
// whose queue must receive exactly the events pattern.Test matches.
func TestSDKPatternCorpusPutEvents(t *testing.T) {
	cases := events.LoadPatternCorpus(t)
	env := testenv.Start(t)
	a := defaultAcct(env)
	check(a.eb.CreateEventBus(context.Background(), &eventbridge.CreateEventBusInput{Name: aws.String("corpus")}))(t)
	type sample struct {
		name       string
		entry      types.PutEventsRequestEntry
		event, pat []byte
	}
	var samples []sample
	for _, c := range cases {
		if c.Want == "invalid" {
			continue
		}
		var ev struct {
			Source     *string         `json:"source"`
			DetailType *string         `json:"detail-type"`
			Detail     json.RawMessage `json:"detail"`
			Resources  []string        `json:"resources"`
		}
		var pat map[string]json.RawMessage
		if json.Unmarshal(c.Event, &ev) != nil || ev.Source == nil || ev.DetailType == nil || len(ev.Detail) == 0 || ev.Detail[0] != '{' || json.Unmarshal(c.Pattern, &pat) != nil {
			continue
		}
		usable := *ev.Source != "" && !strings.HasPrefix(*ev.Source, "aws.")
		for k := range pat {
			if k != "source" && k != "detail-type" && k != "detail" && k != "resources" {
				usable = false // account, region, id, time, $or, ... come from PutEvents
			}
		}
		if !usable {
			continue
		}
		e := entry("corpus", *ev.Source, *ev.DetailType, string(ev.Detail))
		e.Resources = ev.Resources
		samples = append(samples, sample{c.Name, e, c.Event, c.Pattern})
	}
	type ruleCase struct {
		name, url string
		want      int
	}
	var rules []ruleCase
	for _, s := range samples {
		want := 0
		for _, o := range samples {
			ok, err := pattern.Test(s.pat, o.event)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if ok {
				want++
			}
		}
		if want > 10 {
			continue
		}
		name := fmt.Sprintf("c%03d", len(rules))
		url, arn := a.queue(t, name, nil)
		a.rule(t, "corpus", name, string(s.pat), target("q", arn))
		rules = append(rules, ruleCase{s.name, url, want})
	}
	if len(samples) < 60 || len(rules) < 35 {
		t.Fatalf("only %d events and %d rules usable through PutEvents", len(samples), len(rules))
	}
	for _, s := range samples {
		a.put(t, s.entry)
	}
	for _, r := range rules {
		if r.want > 0 {
			a.receive(t, r.url, r.want, 10*time.Second)
		}
		out := check(a.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(r.url), MaxNumberOfMessages: 10}))(t)
		if len(out.Messages) > 0 {
			t.Errorf("%s: rule received more than the %d events it matches: %s", r.name, r.want, aws.ToString(out.Messages[0].Body))
		}
	}
	t.Logf("%d corpus events through PutEvents, %d corpus patterns as real rules", len(samples), len(rules))
}
