package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/pattern"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
)

// PutEvents limits.
const (
	maxEntries   = 10
	maxEntrySize = 256 * 1024
)

// envelope is the event as EventBridge delivers it, members in AWS's order.
type envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	ReplayName string          `json:"replay-name,omitempty"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// eventTime formats an event time as AWS does (UTC, seconds).
func eventTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func (e *envelope) marshal() []byte {
	if e.Resources == nil {
		e.Resources = []string{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(e) // plain strings and validated raw JSON: cannot fail
	return bytes.TrimRight(b.Bytes(), "\n")
}

type putEventsEntry struct {
	Time         *protocol.EpochSeconds
	Source       *string
	Resources    []string
	DetailType   *string
	Detail       *string
	EventBusName *string
	TraceHeader  *string
}

type putEventsInput struct {
	Entries    []putEventsEntry
	EndpointId string
}

type putEventsResultEntry struct {
	EventId      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// entrySize is AWS's PutEvents entry size: time (14 bytes when set),
// source, detail-type, detail and resources.
func entrySize(e *putEventsEntry) int {
	n := 0
	if e.Time != nil {
		n += 14
	}
	for _, p := range []*string{e.Source, e.DetailType, e.Detail} {
		if p != nil {
			n += len(*p)
		}
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

func javaString(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

// entriesString renders entries as AWS's Java validation message does.
func entriesString(entries []putEventsEntry) string {
	parts := make([]string, len(entries))
	for i, e := range entries {
		res := "null"
		if e.Resources != nil {
			res = "[" + strings.Join(e.Resources, ", ") + "]"
		}
		tm := "null"
		if e.Time != nil {
			tm = time.Time(*e.Time).UTC().Format("Mon Jan 02 15:04:05 UTC 2006")
		}
		parts[i] = fmt.Sprintf("PutEventsRequestEntry(time=%s, source=%s, resources=%s, detailType=%s, detail=%s, eventBusName=%s, traceHeader=%s, kmsKeyIdentifier=null, internalMetadata=null)",
			tm, javaString(e.Source), res, javaString(e.DetailType), javaString(e.Detail), javaString(e.EventBusName), javaString(e.TraceHeader))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// detailOK reports whether detail is a JSON object.
func detailOK(d string) bool {
	t := strings.TrimSpace(d)
	return strings.HasPrefix(t, "{") && json.Valid([]byte(t))
}

func (s *Service) putEvents(ctx context.Context, call *service.Call, body []byte) (any, error) {
	// PutEvents is a CloudTrail data event, not a management event: it
	// does not appear in the account's trail (nor, therefore, on its
	// default bus), as on AWS.
	call.NoTrail = true
	var in putEventsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Entries) == 0 {
		return nil, errValidation("1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if len(in.Entries) > maxEntries {
		return nil, errValidation("1 validation error detected: Value '%s' at 'entries' failed to satisfy constraint: Member must have length less than or equal to %d", entriesString(in.Entries), maxEntries)
	}
	total := 0
	for i := range in.Entries {
		total += entrySize(&in.Entries[i])
	}
	if total > maxEntrySize {
		return nil, errValidation("Total size of the entries in the request is over the limit.")
	}
	now := s.now()
	results := make([]putEventsResultEntry, len(in.Entries))
	type pending struct {
		idx int
		ev  inEvent
	}
	groups := map[busRef][]pending{}
	buses := map[busRef]*Bus{}
	var order []busRef
	for i, e := range in.Entries {
		ref, err := resolveBus(javaOrEmpty(e.EventBusName), call.Account, call.Region)
		if err != nil {
			return nil, err
		}
		bus, ok := buses[ref] // entries mostly name one bus: read it once
		if !ok {
			if bus, _, err = s.getBus(ctx, ref); err != nil {
				return nil, err
			}
			buses[ref] = bus
		}
		switch {
		case e.Source == nil || *e.Source == "":
			results[i] = putEventsResultEntry{ErrorCode: "InvalidArgument", ErrorMessage: "Parameter Source is not valid. Reason: Source is a required argument."}
			continue
		case e.DetailType == nil || *e.DetailType == "":
			results[i] = putEventsResultEntry{ErrorCode: "InvalidArgument", ErrorMessage: "Parameter DetailType is not valid. Reason: DetailType is a required argument."}
			continue
		case e.Detail == nil || *e.Detail == "":
			results[i] = putEventsResultEntry{ErrorCode: "InvalidArgument", ErrorMessage: "Parameter Detail is not valid. Reason: Detail is a required argument."}
			continue
		case !detailOK(*e.Detail):
			results[i] = putEventsResultEntry{ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed."}
			continue
		case strings.HasPrefix(*e.Source, "aws."):
			results[i] = putEventsResultEntry{ErrorCode: "NotAuthorizedForSourceException", ErrorMessage: "Not authorized for the source."}
			continue
		case ref.Region != call.Region:
			results[i] = putEventsResultEntry{ErrorCode: "InvalidArgument", ErrorMessage: "Parameter EventBusName is not valid. Reason: Cross-region PutEvents is not supported."}
			continue
		case !allowsPutEvents(bus, call.Account):
			results[i] = putEventsResultEntry{ErrorCode: "AccessDeniedException", ErrorMessage: fmt.Sprintf("User: %s is not authorized to perform: events:PutEvents on resource: %s", call.Identity.ARN, bus.ARN())}
			continue
		}
		var detail bytes.Buffer
		json.Compact(&detail, []byte(*e.Detail))
		env := envelope{Version: "0", ID: s.deps.IDs.UUID(), DetailType: *e.DetailType, Source: *e.Source, Account: call.Account, Time: eventTime(now), Region: call.Region, Resources: e.Resources, Detail: detail.Bytes()}
		if e.Time != nil {
			env.Time = eventTime(time.Time(*e.Time))
		}
		if _, ok := groups[ref]; !ok {
			order = append(order, ref)
		}
		ev := inEvent{raw: env.marshal(), id: env.ID, ingested: now}
		if ref.Account != call.Account {
			ev.hops = 1
		}
		groups[ref] = append(groups[ref], pending{i, ev})
		results[i] = putEventsResultEntry{EventId: env.ID}
	}
	for _, ref := range order {
		evs := make([]inEvent, len(groups[ref]))
		for j, p := range groups[ref] {
			evs[j] = p.ev
		}
		if err := s.ingest(ctx, ref, evs); err != nil {
			s.log.Error("events: ingest", "bus", ref.Name, "err", err)
			for _, p := range groups[ref] {
				results[p.idx] = putEventsResultEntry{ErrorCode: "InternalFailure", ErrorMessage: "Internal service error."}
			}
		}
	}
	failed := 0
	for _, r := range results {
		if r.ErrorCode != "" {
			failed++
		}
	}
	return struct {
		FailedEntryCount int                    `json:"FailedEntryCount"`
		Entries          []putEventsResultEntry `json:"Entries"`
	}{failed, results}, nil
}

func javaOrEmpty(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

type testPatternInput struct {
	EventPattern string
	Event        string
}

var requiredEventFields = []string{"id", "account", "source", "time", "region", "detail-type"}

func (s *Service) testEventPattern(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in testPatternInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var ev map[string]json.RawMessage
	if err := json.Unmarshal([]byte(in.Event), &ev); err != nil {
		return nil, errValidation("Parameter Event is not valid.")
	}
	for _, f := range requiredEventFields {
		if _, ok := ev[f]; !ok {
			return nil, errValidation("Parameter Event is not valid.")
		}
	}
	ok, err := pattern.Test([]byte(in.EventPattern), []byte(in.Event))
	if err != nil {
		var ipe *pattern.InvalidPatternError
		if errors.As(err, &ipe) {
			return nil, errInvalidPattern(ipe.RawMessage())
		}
		return nil, errValidation("Parameter Event is not valid.")
	}
	return map[string]bool{"Result": ok}, nil
}
