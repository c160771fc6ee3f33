package logs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

var streamNameBad = strings.NewReplacer(":", "", "*", "")

func (s *Service) createLogStream(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		LogGroupName  string `json:"logGroupName"`
		LogStreamName string `json:"logStreamName"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.LogStreamName) > 512 {
		return nil, errInvalidParam("Invalid LogGroup or LogStream, both must have length less than or equal to 512.")
	}
	if in.LogStreamName == "" || streamNameBad.Replace(in.LogStreamName) != in.LogStreamName {
		return nil, errValidation("logStreamName", in.LogStreamName, "Member must satisfy regular expression pattern: [^:*]*")
	}
	if _, _, err := s.getGroup(ctx, call.Account, call.Region, in.LogGroupName); err != nil {
		return nil, err
	}
	st := streamRecord{Name: in.LogStreamName, Created: s.deps.Clock.Now()}
	if err := put(ctx, s.deps.Meta, nsStreams, streamKey(call.Account, call.Region, in.LogGroupName, in.LogStreamName), st, storage.MustNotExist); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, errAlreadyExists("log stream")
		}
		return nil, err
	}
	return struct{}{}, nil
}

func (s *Service) deleteLogStream(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		LogGroupName  string `json:"logGroupName"`
		LogStreamName string `json:"logStreamName"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if _, _, err := s.getGroup(ctx, call.Account, call.Region, in.LogGroupName); err != nil {
		return nil, err
	}
	key := streamKey(call.Account, call.Region, in.LogGroupName, in.LogStreamName)
	if err := s.deps.Meta.Delete(ctx, nsStreams, key, storage.AnyVersion); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, errStreamNotFound()
		}
		return nil, err
	}
	_, _ = s.deps.Logs.Trim(ctx, "logs/"+key, s.deps.Clock.Now().Add(1<<40))
	return struct{}{}, nil
}

func (s *Service) streams(ctx context.Context, call *service.Call, group string) ([]streamRecord, error) {
	if _, _, err := s.getGroup(ctx, call.Account, call.Region, group); err != nil {
		return nil, err
	}
	recs, err := s.deps.Meta.List(ctx, nsStreams, groupKey(call.Account, call.Region, group)+"/", "", 0)
	if err != nil {
		return nil, err
	}
	out := make([]streamRecord, 0, len(recs))
	for _, r := range recs {
		var st streamRecord
		if json.Unmarshal(r.Value, &st) == nil {
			out = append(out, st)
		}
	}
	return out, nil
}

func (s *Service) describeLogStreams(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		LogGroupName        string `json:"logGroupName"`
		LogGroupIdentifier  string `json:"logGroupIdentifier"`
		LogStreamNamePrefix string `json:"logStreamNamePrefix"`
		OrderBy             string `json:"orderBy"`
		Descending          bool   `json:"descending"`
		Limit               *int   `json:"limit"`
		NextToken           string `json:"nextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	group, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if in.OrderBy == "LastEventTime" && in.LogStreamNamePrefix != "" {
		return nil, errInvalidParam("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	limit := 50
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 50 {
			return nil, errInvalidParam("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50", *in.Limit)
		}
		limit = *in.Limit
	}
	all, err := s.streams(ctx, call, group)
	if err != nil {
		return nil, err
	}
	var sts []streamRecord
	for _, st := range all {
		if strings.HasPrefix(st.Name, in.LogStreamNamePrefix) {
			sts = append(sts, st)
		}
	}
	less := func(i, j int) bool { return sts[i].Name < sts[j].Name }
	if in.OrderBy == "LastEventTime" {
		less = func(i, j int) bool {
			if !sts[i].LastEvent.Equal(sts[j].LastEvent) {
				return sts[i].LastEvent.Before(sts[j].LastEvent)
			}
			return sts[i].Name < sts[j].Name
		}
	}
	sort.Slice(sts, less)
	if in.Descending {
		for i, j := 0, len(sts)-1; i < j; i, j = i+1, j-1 {
			sts[i], sts[j] = sts[j], sts[i]
		}
	}
	start := 0
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 || n > len(sts) {
			return nil, errInvalidParam("The specified nextToken is invalid.")
		}
		start = n
	}
	end := min(len(sts), start+limit)
	out := []map[string]any{}
	for _, st := range sts[start:end] {
		m := map[string]any{"logStreamName": st.Name, "creationTime": st.Created.UnixMilli(), "storedBytes": 0,
			"arn": groupARN(call, group) + ":log-stream:" + st.Name}
		if !st.LastIngestion.IsZero() {
			m["firstEventTimestamp"] = st.FirstEvent.UnixMilli()
			m["lastEventTimestamp"] = st.LastEvent.UnixMilli()
			m["lastIngestionTime"] = st.LastIngestion.UnixMilli()
			m["uploadSequenceToken"] = seqToken(st.Token)
		}
		out = append(out, m)
	}
	resp := map[string]any{"logStreams": out}
	if end < len(sts) {
		resp["nextToken"] = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return resp, nil
}

func seqToken(n int64) string {
	s := strconv.FormatInt(n, 10)
	return "49" + strings.Repeat("0", 54-len(s)) + s
}
