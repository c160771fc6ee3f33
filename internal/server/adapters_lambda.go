package server

import (
	"context"
	"errors"

	"github.com/fogbank/fogbank/internal/events"
	"github.com/fogbank/fogbank/internal/lambda"
)

// lambdaEventBus lets Lambda put destination records on EventBridge buses
// (lambda.EventBus) through the events service's Go API. Lambda is built
// before EventBridge (which invokes it), so ev is set once both exist,
// before the server starts.
type lambdaEventBus struct {
	ev *events.Service
}

var errEventsNotMounted = errors.New("server: the events service is not mounted")

// PutEvent implements lambda.EventBus.
func (b *lambdaEventBus) PutEvent(ctx context.Context, busARN string, ev lambda.BusEvent) error {
	if b.ev == nil {
		return errEventsNotMounted
	}
	_, err := b.ev.PutServiceEvent(ctx, events.ServiceEvent{BusARN: busARN, Account: ev.Account, Region: ev.Region,
		Source: ev.Source, DetailType: ev.DetailType, Detail: ev.Detail, Resources: ev.Resources})
	return err
}
