package events

import (
	"context"
	"strings"

	"github.com/fogbank/fogbank/internal/trail"
)

// trailItem is one trail record waiting to be put on a default bus.
type trailItem struct {
	rec trail.Record
	raw []byte
}

// onTrailRecord is the trail subscriber. It never blocks the trail writer:
// when the bridge is hopelessly behind, the record is dropped and logged.
//
// Loops cannot form: EventBridge's PutEvents is a CloudTrail data event, so
// it is never in the trail (putEvents sets NoTrail), and deliveries to
// targets are internal calls that make no trail records.
func (s *Service) onTrailRecord(_ context.Context, rec trail.Record, raw []byte) {
	if rec.RecipientAccountID == "" || rec.AWSRegion == "" {
		return
	}
	select {
	case s.trailCh <- trailItem{rec, raw}:
	default:
		s.log.Warn("events: trail bridge full, record not put on the default bus", "event", rec.EventName, "account", rec.RecipientAccountID)
	}
}

// trailSource is the event source of a CloudTrail record ("aws.sqs" for
// "sqs.amazonaws.com").
func trailSource(eventSource string) string {
	return "aws." + strings.TrimSuffix(eventSource, ".amazonaws.com")
}

// trailEvent wraps a trail record as the "AWS API Call via CloudTrail"
// event AWS puts on the default bus.
func (s *Service) trailEvent(it trailItem) inEvent {
	env := envelope{
		Version: "0", ID: s.deps.IDs.UUID(), DetailType: "AWS API Call via CloudTrail",
		Source: trailSource(it.rec.EventSource), Account: it.rec.RecipientAccountID,
		Time: it.rec.EventTime, Region: it.rec.AWSRegion, Resources: []string{}, Detail: it.raw,
	}
	return inEvent{raw: env.marshal(), id: env.ID, ingested: s.now(), readOnly: it.rec.ReadOnly}
}

func (s *Service) trailLoop(ctx context.Context) {
	defer s.wg.Done()
	for {
		var first trailItem
		select {
		case <-ctx.Done():
			return
		case first = <-s.trailCh:
		}
		batch := map[busRef][]inEvent{}
		add := func(it trailItem) {
			ref := busRef{it.rec.RecipientAccountID, it.rec.AWSRegion, defaultBus}
			batch[ref] = append(batch[ref], s.trailEvent(it))
		}
		add(first)
	drain:
		for n := 1; n < 256; n++ {
			select {
			case it := <-s.trailCh:
				add(it)
			default:
				break drain
			}
		}
		for ref, evs := range batch {
			if err := s.ingest(ctx, ref, evs); err != nil && ctx.Err() == nil {
				s.log.Error("events: put trail events on default bus", "account", ref.Account, "region", ref.Region, "err", err)
			}
		}
	}
}
