package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// Replay states.
const (
	replayStarting   = "STARTING"
	replayRunning    = "RUNNING"
	replayCancelling = "CANCELLING"
	replayCompleted  = "COMPLETED"
	replayCancelled  = "CANCELLED"
	replayFailed     = "FAILED"
)

// maxActiveReplays is AWS's limit of concurrent replays per account and region.
const maxActiveReplays = 10

// Replay is a stored replay.
type Replay struct {
	Name         string            `json:"name"`
	Account      string            `json:"account"`
	Region       string            `json:"region"`
	Description  string            `json:"description,omitempty"`
	Archive      string            `json:"archive"`
	Destination  replayDestination `json:"destination"`
	EventStart   time.Time         `json:"eventStart"`
	EventEnd     time.Time         `json:"eventEnd"`
	State        string            `json:"state"`
	StateReason  string            `json:"stateReason,omitempty"`
	Started      time.Time         `json:"started"`
	Ended        time.Time         `json:"ended,omitempty"`
	LastReplayed time.Time         `json:"lastReplayed,omitempty"`
	// Progress is the archive log sequence replayed so far (resume point).
	Progress int64 `json:"progress,omitempty"`
}

type replayDestination struct {
	Arn        string   `json:"Arn"`
	FilterArns []string `json:"FilterArns,omitempty"`
}

func (r *Replay) ARN() string { return replayARN(r.Account, r.Region, r.Name) }

type replayInput struct {
	ReplayName     string
	Description    string
	EventSourceArn string
	EventStartTime *protocol.EpochSeconds
	EventEndTime   *protocol.EpochSeconds
	Destination    *replayDestination
	NamePrefix     string
	State          string
	NextToken      string
	Limit          *int
}

func (s *Service) getReplay(ctx context.Context, account, region, name string) (*Replay, int64, error) {
	return getRecord[Replay](ctx, s, nsReplays, regionKey(account, region, name), func() error {
		return errNotFound("Replay %s does not exist.", name)
	})
}

func (s *Service) startReplay(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in replayInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v validationErrors
	v.pattern(in.ReplayName, "replayName", nameRE, nameOK(in.ReplayName))
	v.maxLen(in.ReplayName, "replayName", 64)
	if err := v.err(); err != nil {
		return nil, err
	}
	if in.EventStartTime == nil || in.EventEndTime == nil || in.Destination == nil {
		return nil, errValidation("Parameter(s) EventStartTime, EventEndTime and Destination must be specified.")
	}
	a, ok := parseARN(in.EventSourceArn)
	if !ok || !strings.HasPrefix(a.Resource, "archive/") {
		return nil, errValidation("Parameter EventSourceArn is not valid. Reason: Provided Arn is not in correct format.")
	}
	archiveName := strings.TrimPrefix(a.Resource, "archive/")
	ar, _, err := s.getArchive(ctx, call.Account, call.Region, archiveName)
	if err != nil || a.Account != call.Account || a.Region != call.Region {
		return nil, errValidation("Parameter EventSourceArn is not valid. Reason: Archive %s does not exist.", archiveName)
	}
	start, end := time.Time(*in.EventStartTime), time.Time(*in.EventEndTime)
	if !start.Before(end) {
		return nil, errValidation("Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.")
	}
	if end.After(s.now()) {
		return nil, errValidation("Parameter EventEndTime is not valid. Reason: EventEndTime must be in the past.")
	}
	if in.Destination.Arn != busARN(ar.Account, ar.Region, ar.SourceBus) {
		return nil, errValidation("Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.")
	}
	recs, err := s.deps.Meta.List(ctx, nsReplays, call.Account+"/"+call.Region+"/", "", 0)
	if err != nil {
		return nil, fmt.Errorf("events: list replays: %w", err)
	}
	active := 0
	for _, rec := range recs {
		var r Replay
		if json.Unmarshal(rec.Value, &r) == nil && (r.State == replayStarting || r.State == replayRunning || r.State == replayCancelling) {
			active++
		}
	}
	if active >= maxActiveReplays {
		return nil, errLimit("The requested resource exceeds the maximum number allowed.")
	}
	r := &Replay{Name: in.ReplayName, Account: call.Account, Region: call.Region, Description: in.Description, Archive: archiveName, Destination: *in.Destination, EventStart: start, EventEnd: end, State: replayStarting, Started: s.now()}
	if _, err := s.deps.Meta.Put(ctx, nsReplays, regionKey(r.Account, r.Region, r.Name), mustJSON(r), storage.MustNotExist); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, errExists("Replay %s already exists.", r.Name)
		}
		return nil, fmt.Errorf("events: put replay: %w", err)
	}
	s.wg.Add(1)
	go s.runReplay(s.ctx, r.Account, r.Region, r.Name)
	return map[string]any{"ReplayArn": r.ARN(), "State": r.State, "ReplayStartTime": epoch(r.Started)}, nil
}

// updateReplay applies f to the stored replay with compare-and-set.
func (s *Service) updateReplay(ctx context.Context, account, region, name string, f func(r *Replay) error) (*Replay, error) {
	for {
		r, ver, err := s.getReplay(ctx, account, region, name)
		if err != nil {
			return nil, err
		}
		if err := f(r); err != nil {
			return nil, err
		}
		_, err = s.deps.Meta.Put(ctx, nsReplays, regionKey(account, region, name), mustJSON(r), ver)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("events: put replay: %w", err)
		}
		return r, nil
	}
}

// runReplay replays archived events in batches, recording progress, until
// done or cancelled. It resumes from Progress after a restart.
func (s *Service) runReplay(ctx context.Context, account, region, name string) {
	defer s.wg.Done()
	fail := func(err error) {
		if ctx.Err() != nil {
			return
		}
		s.log.Error("events: replay", "replay", name, "err", err)
		s.updateReplay(ctx, account, region, name, func(r *Replay) error {
			r.State, r.StateReason, r.Ended = replayFailed, err.Error(), s.now()
			return nil
		})
	}
	r, err := s.updateReplay(ctx, account, region, name, func(r *Replay) error {
		if r.State == replayStarting {
			r.State = replayRunning
		}
		return nil
	})
	if err != nil {
		fail(err)
		return
	}
	scope := &replayScope{name: name, rules: map[string]bool{}}
	for _, a := range r.Destination.FilterArns {
		scope.rules[a] = true
	}
	ref := busRef{account, region, strings.TrimPrefix(mustParseResource(r.Destination.Arn), "event-bus/")}
	stream := archiveStream(account, region, r.Archive)
	after := r.Progress
	for ctx.Err() == nil {
		cur, _, err := s.getReplay(ctx, account, region, name)
		if err != nil {
			fail(err)
			return
		}
		if cur.State == replayCancelling {
			s.updateReplay(ctx, account, region, name, func(r *Replay) error {
				r.State, r.Ended = replayCancelled, s.now()
				return nil
			})
			return
		}
		recs, err := s.deps.Logs.Read(ctx, stream, storage.LogQuery{From: r.EventStart, To: r.EventEnd, After: after, Limit: 100})
		if err != nil {
			fail(err)
			return
		}
		if len(recs) == 0 {
			s.updateReplay(ctx, account, region, name, func(r *Replay) error {
				if r.State == replayRunning {
					r.State, r.Ended = replayCompleted, s.now()
				}
				return nil
			})
			return
		}
		evs := make([]inEvent, 0, len(recs))
		var last time.Time
		for _, lr := range recs {
			env, err := decodeEnvelope(lr.Data)
			if err != nil {
				continue
			}
			env.ReplayName = name
			evs = append(evs, inEvent{raw: env.marshal(), id: env.ID, ingested: s.now(), replay: scope})
			last = lr.Time
		}
		if err := s.ingest(ctx, ref, evs); err != nil {
			fail(err)
			return
		}
		after = recs[len(recs)-1].Seq
		s.updateReplay(ctx, account, region, name, func(r *Replay) error {
			r.Progress, r.LastReplayed = after, last
			return nil
		})
	}
}

func mustParseResource(a string) string {
	p, _ := parseARN(a)
	return p.Resource
}

// resumeReplays restarts replays that were running when the service stopped.
func (s *Service) resumeReplays(ctx context.Context) {
	defer s.wg.Done()
	recs, err := s.deps.Meta.List(ctx, nsReplays, "", "", 0)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("events: resume replays", "err", err)
		}
		return
	}
	for _, rec := range recs {
		var r Replay
		if json.Unmarshal(rec.Value, &r) != nil {
			continue
		}
		if r.State == replayStarting || r.State == replayRunning || r.State == replayCancelling {
			s.wg.Add(1)
			go s.runReplay(ctx, r.Account, r.Region, r.Name)
		}
	}
}

type replayOutput struct {
	ReplayName            string                 `json:"ReplayName"`
	ReplayArn             string                 `json:"ReplayArn,omitempty"`
	Description           string                 `json:"Description,omitempty"`
	State                 string                 `json:"State"`
	StateReason           string                 `json:"StateReason,omitempty"`
	EventSourceArn        string                 `json:"EventSourceArn"`
	Destination           *replayDestination     `json:"Destination,omitempty"`
	EventStartTime        *protocol.EpochSeconds `json:"EventStartTime"`
	EventEndTime          *protocol.EpochSeconds `json:"EventEndTime"`
	EventLastReplayedTime *protocol.EpochSeconds `json:"EventLastReplayedTime,omitempty"`
	ReplayStartTime       *protocol.EpochSeconds `json:"ReplayStartTime"`
	ReplayEndTime         *protocol.EpochSeconds `json:"ReplayEndTime,omitempty"`
}

func replayView(r *Replay, full bool) replayOutput {
	out := replayOutput{ReplayName: r.Name, State: r.State, StateReason: r.StateReason, EventSourceArn: archiveARN(r.Account, r.Region, r.Archive),
		EventStartTime: epoch(r.EventStart), EventEndTime: epoch(r.EventEnd), EventLastReplayedTime: epoch(r.LastReplayed), ReplayStartTime: epoch(r.Started), ReplayEndTime: epoch(r.Ended)}
	if full {
		d := r.Destination
		out.ReplayArn, out.Description, out.Destination = r.ARN(), r.Description, &d
	}
	return out
}

func (s *Service) describeReplay(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in replayInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, _, err := s.getReplay(ctx, call.Account, call.Region, in.ReplayName)
	if err != nil {
		return nil, err
	}
	return replayView(r, true), nil
}

func (s *Service) listReplays(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in replayInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := checkLimit(in.Limit)
	if err != nil {
		return nil, err
	}
	recs, next, err := s.listRecords(ctx, nsReplays, call.Account+"/"+call.Region+"/"+in.NamePrefix, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	out := struct {
		Replays   []replayOutput `json:"Replays"`
		NextToken string         `json:"NextToken,omitempty"`
	}{Replays: []replayOutput{}, NextToken: next}
	for _, rec := range recs {
		var r Replay
		if json.Unmarshal(rec.Value, &r) != nil {
			continue
		}
		if (in.State != "" && r.State != in.State) || (in.EventSourceArn != "" && archiveARN(r.Account, r.Region, r.Archive) != in.EventSourceArn) {
			continue
		}
		out.Replays = append(out.Replays, replayView(&r, false))
	}
	return out, nil
}

func (s *Service) cancelReplay(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in replayInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, err := s.updateReplay(ctx, call.Account, call.Region, in.ReplayName, func(r *Replay) error {
		if r.State != replayStarting && r.State != replayRunning {
			return errIllegalStatus("Replay %s is not in a valid state for this operation.", r.Name)
		}
		r.State = replayCancelling
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"ReplayArn": r.ARN(), "State": r.State}, nil
}
