package lambda

import (
	"context"
	"errors"
)

// BusEvent is one event Lambda puts on an EventBridge bus: a destination's
// invocation record, sent on behalf of the function's account and region.
type BusEvent struct {
	// Account and Region are the function's (the event's "account" and "region").
	Account, Region string
	// Source is "lambda"; DetailType names the outcome.
	Source, DetailType string
	// Detail is the invocation record (a JSON object).
	Detail []byte
	// Resources are the bus ARN and the qualified function ARN, as Lambda
	// lists them.
	Resources []string
}

// EventBus is what Lambda needs from EventBridge: putting one event on a
// bus named by ARN (matched against its rules and delivered to their
// targets). A bus in another account must allow the function's account in
// its resource policy; the error says when it does not.
type EventBus interface {
	PutEvent(ctx context.Context, busARN string, ev BusEvent) error
}

// Destination event detail types, as Lambda sends them.
const (
	detailTypeSuccess = "Lambda Function Invocation Result - Success"
	detailTypeFailure = "Lambda Function Invocation Result - Failure"
)

// errNoEventBus is the delivery error when no EventBus is wired.
var errNoEventBus = errors.New("lambda: EventBridge is not available")

// putDestinationEvent sends an invocation record to an EventBridge bus
// destination. fnARN is the qualified function ARN of the record.
func (e *asyncEngine) putDestinationEvent(ctx context.Context, res resolved, busARN, fnARN string, rec []byte, success bool) error {
	if e.s.deps.EventBus == nil {
		return errNoEventBus
	}
	dt := detailTypeFailure
	if success {
		dt = detailTypeSuccess
	}
	return e.s.deps.EventBus.PutEvent(ctx, busARN, BusEvent{Account: res.ref.Account, Region: res.ref.Region,
		Source: "lambda", DetailType: dt, Detail: rec, Resources: []string{busARN, fnARN}})
}
