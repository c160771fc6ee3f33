package logs

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// PutLogEvents limits.
const (
	maxEventAge    = 14 * 24 * time.Hour
	maxEventFuture = 2 * time.Hour
	maxBatch       = 10000
)

func (s *Service) putLogEvents(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		LogGroupName  string `json:"logGroupName"`
		LogStreamName string `json:"logStreamName"`
		LogEvents     []struct {
			Timestamp *int64 `json:"timestamp"`
			Message   string `json:"message"`
		} `json:"logEvents"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.LogEvents) == 0 {
		return nil, errValidation("logEvents", "[]", "Member must have length greater than or equal to 1")
	}
	if len(in.LogEvents) > maxBatch {
		return nil, errValidation("logEvents", "...", "Member must have length less than or equal to 10000")
	}
	if _, _, err := s.getGroup(ctx, call.Account, call.Region, in.LogGroupName); err != nil {
		return nil, err
	}
	st, _, err := s.getStream(ctx, call.Account, call.Region, in.LogGroupName, in.LogStreamName)
	if err != nil {
		return nil, err
	}
	now := s.deps.Clock.Now()
	var prev int64
	tooOld, tooNew := -1, -1
	var events []Event
	for i, e := range in.LogEvents {
		if e.Timestamp == nil {
			return nil, errValidation(fmt.Sprintf("logEvents.%d.member.timestamp", i+1), "null", "Member must not be null")
		}
		ts := *e.Timestamp
		if i > 0 && ts < prev {
			return nil, errInvalidParam("Log events in a single PutLogEvents request must be in chronological order.")
		}
		prev = ts
		t := time.UnixMilli(ts)
		switch {
		case now.Sub(t) > maxEventAge:
			tooOld = i
			continue
		case t.Sub(now) > maxEventFuture:
			if tooNew < 0 {
				tooNew = i
			}
			continue
		}
		events = append(events, Event{Time: t, Message: e.Message})
	}
	token := st.Token
	if len(events) > 0 {
		if token, err = s.appendEvents(ctx, call.Account, call.Region, in.LogGroupName, in.LogStreamName, events); err != nil {
			return nil, err
		}
	}
	resp := map[string]any{"nextSequenceToken": seqToken(token)}
	rej := map[string]int{}
	if tooOld >= 0 {
		rej["tooOldLogEventEndIndex"] = tooOld
	}
	if tooNew >= 0 {
		rej["tooNewLogEventStartIndex"] = tooNew
	}
	if len(rej) > 0 {
		resp["rejectedLogEventsInfo"] = rej
	}
	return resp, nil
}

type outEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

// retentionCutoff is the oldest event time a group's retention keeps.
func (s *Service) retentionCutoff(g groupRecord) time.Time {
	if g.Retention <= 0 {
		return time.Time{}
	}
	return s.deps.Clock.Now().AddDate(0, 0, -g.Retention)
}

func (s *Service) getLogEvents(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		LogGroupName       string `json:"logGroupName"`
		LogGroupIdentifier string `json:"logGroupIdentifier"`
		LogStreamName      string `json:"logStreamName"`
		StartTime          *int64 `json:"startTime"`
		EndTime            *int64 `json:"endTime"`
		NextToken          string `json:"nextToken"`
		Limit              *int   `json:"limit"`
		StartFromHead      *bool  `json:"startFromHead"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	group, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	limit := 10000
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 10000 {
			return nil, errInvalidParam("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000", *in.Limit)
		}
		limit = *in.Limit
	}
	g, _, err := s.getGroup(ctx, call.Account, call.Region, group)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.getStream(ctx, call.Account, call.Region, group, in.LogStreamName); err != nil {
		return nil, err
	}
	q := storage.LogQuery{Limit: limit}
	if in.StartTime != nil {
		q.From = time.UnixMilli(*in.StartTime)
	}
	if in.EndTime != nil {
		q.To = time.UnixMilli(*in.EndTime - 1)
	}
	if c := s.retentionCutoff(g); c.After(q.From) {
		q.From = c
	}
	forward := in.StartFromHead != nil && *in.StartFromHead
	if in.NextToken != "" {
		dir, n, ok := strings.Cut(in.NextToken, "/")
		seq, perr := strconv.ParseInt(n, 10, 64)
		if !ok || perr != nil || (dir != "f" && dir != "b") {
			return nil, errInvalidParam("The specified nextToken is invalid.")
		}
		if dir == "f" {
			forward, q.After = true, seq
		} else {
			forward, q.Before = false, seq
		}
	}
	q.Desc = !forward
	recs, err := s.deps.Logs.Read(ctx, eventStream(call.Account, call.Region, group, in.LogStreamName), q)
	if err != nil {
		return nil, fmt.Errorf("logs: read: %w", err)
	}
	if q.Desc {
		for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 {
			recs[i], recs[j] = recs[j], recs[i]
		}
	}
	events := make([]outEvent, 0, len(recs))
	for _, r := range recs {
		ing, msg := decodeEvent(r.Data)
		events = append(events, outEvent{Timestamp: r.Time.UnixMilli(), Message: msg, IngestionTime: ing})
	}
	fwd, bwd := in.NextToken, in.NextToken
	if len(recs) > 0 {
		fwd = fmt.Sprintf("f/%056d", recs[len(recs)-1].Seq)
		bwd = fmt.Sprintf("b/%056d", recs[0].Seq)
	} else if in.NextToken == "" {
		fwd, bwd = fmt.Sprintf("f/%056d", 0), fmt.Sprintf("b/%056d", 0)
		if !forward {
			fwd = fmt.Sprintf("f/%056d", int64(1)<<62)
		}
	}
	return map[string]any{"events": events, "nextForwardToken": fwd, "nextBackwardToken": bwd}, nil
}

type filteredEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

func (s *Service) filterLogEvents(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		LogGroupName        string   `json:"logGroupName"`
		LogGroupIdentifier  string   `json:"logGroupIdentifier"`
		LogStreamNames      []string `json:"logStreamNames"`
		LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
		StartTime           *int64   `json:"startTime"`
		EndTime             *int64   `json:"endTime"`
		FilterPattern       string   `json:"filterPattern"`
		NextToken           string   `json:"nextToken"`
		Limit               *int     `json:"limit"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	group, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, errInvalidParam("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	limit := 10000
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 10000 {
			return nil, errInvalidParam("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000", *in.Limit)
		}
		limit = *in.Limit
	}
	fp, err := ParseFilterPattern(in.FilterPattern)
	if err != nil {
		return nil, errInvalidParam("Invalid filter pattern")
	}
	g, _, err := s.getGroup(ctx, call.Account, call.Region, group)
	if err != nil {
		return nil, err
	}
	sts, err := s.streams(ctx, call, group)
	if err != nil {
		return nil, err
	}
	q := storage.LogQuery{}
	if in.StartTime != nil {
		q.From = time.UnixMilli(*in.StartTime)
	}
	if in.EndTime != nil {
		q.To = time.UnixMilli(*in.EndTime)
	}
	if c := s.retentionCutoff(g); c.After(q.From) {
		q.From = c
	}
	var all []filteredEvent
	for _, st := range sts {
		if len(in.LogStreamNames) > 0 && !contains(in.LogStreamNames, st.Name) || !strings.HasPrefix(st.Name, in.LogStreamNamePrefix) {
			continue
		}
		recs, err := s.deps.Logs.Read(ctx, eventStream(call.Account, call.Region, group, st.Name), q)
		if err != nil {
			return nil, fmt.Errorf("logs: read: %w", err)
		}
		for _, r := range recs {
			ing, msg := decodeEvent(r.Data)
			if !fp.Match(msg) {
				continue
			}
			all = append(all, filteredEvent{LogStreamName: st.Name, Timestamp: r.Time.UnixMilli(), Message: msg,
				IngestionTime: ing, EventID: fmt.Sprintf("%037d%019d", r.Time.UnixMilli(), r.Seq)})
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Timestamp != all[j].Timestamp {
			return all[i].Timestamp < all[j].Timestamp
		}
		return all[i].EventID < all[j].EventID
	})
	start := 0
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 {
			return nil, errInvalidParam("The specified nextToken is invalid.")
		}
		start = min(n, len(all))
	}
	end := min(len(all), start+limit)
	resp := map[string]any{"events": append([]filteredEvent{}, all[start:end]...), "searchedLogStreams": []any{}}
	if end < len(all) {
		resp["nextToken"] = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return resp, nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
