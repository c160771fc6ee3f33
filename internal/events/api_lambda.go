package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ServiceEvent is an event an AWS service puts on a bus on its own behalf
// (Lambda's destination records), named by the bus's ARN.
type ServiceEvent struct {
	// BusARN is the receiving bus (arn:aws:events:<region>:<account>:event-bus/<name>).
	BusARN string
	// Account and Region are the sender's (the function's): the event's
	// "account" and "region" fields. A bus in another account must allow
	// Account to put events in its resource policy.
	Account, Region string
	// Source and DetailType are the event's "source" and "detail-type".
	Source, DetailType string
	// Detail is the event's "detail", a JSON object.
	Detail []byte
	// Resources is the event's "resources".
	Resources []string
}

// ErrServiceEventDenied is what PutServiceEvent's error wraps when the
// bus's policy does not let the sending account put events on it.
var ErrServiceEventDenied = errors.New("events: not authorized to put events on the bus")

// PutServiceEvent puts one service event on a bus: it is matched against
// the bus's rules and delivered to their targets like an event from
// PutEvents (an event that crossed into another account may not cross
// again). It returns the event id once the deliveries are durably queued.
// Errors: the bus does not exist (a *protocol.Error
// ResourceNotFoundException), ErrServiceEventDenied, or a storage failure.
func (s *Service) PutServiceEvent(ctx context.Context, ev ServiceEvent) (string, error) {
	a, ok := parseARN(ev.BusARN)
	if !ok || a.Service != "events" || !strings.HasPrefix(a.Resource, "event-bus/") {
		return "", fmt.Errorf("events: %q is not an event bus ARN", ev.BusARN)
	}
	ref := busRef{a.Account, a.Region, strings.TrimPrefix(a.Resource, "event-bus/")}
	bus, _, err := s.getBus(ctx, ref)
	if err != nil {
		return "", err
	}
	if !allowsPutEvents(bus, ev.Account) {
		return "", fmt.Errorf("%w: account %s, bus %s", ErrServiceEventDenied, ev.Account, bus.ARN())
	}
	var detail bytes.Buffer
	if err := json.Compact(&detail, ev.Detail); err != nil || !detailOK(detail.String()) {
		return "", fmt.Errorf("events: service event detail is not a JSON object")
	}
	now := s.now()
	env := envelope{Version: "0", ID: s.deps.IDs.UUID(), DetailType: ev.DetailType, Source: ev.Source,
		Account: ev.Account, Time: eventTime(now), Region: ev.Region, Resources: ev.Resources, Detail: detail.Bytes()}
	in := inEvent{raw: env.marshal(), id: env.ID, ingested: now}
	if ref.Account != ev.Account {
		in.hops = 1
	}
	if err := s.ingest(ctx, ref, []inEvent{in}); err != nil {
		return "", fmt.Errorf("events: put service event on %s: %w", bus.ARN(), err)
	}
	return env.ID, nil
}
