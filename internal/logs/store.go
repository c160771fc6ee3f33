package logs

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

const (
	nsGroups  = "logs.groups"
	nsStreams = "logs.streams"
)

type groupRecord struct {
	Name      string            `json:"name"`
	Created   time.Time         `json:"created"`
	Retention int               `json:"retention,omitempty"`
	KMSKeyID  string            `json:"kmsKeyId,omitempty"`
	Class     string            `json:"class,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
}

type streamRecord struct {
	Name          string    `json:"name"`
	Created       time.Time `json:"created"`
	FirstEvent    time.Time `json:"firstEvent,omitzero"`
	LastEvent     time.Time `json:"lastEvent,omitzero"`
	LastIngestion time.Time `json:"lastIngestion,omitzero"`
	Token         int64     `json:"token"`
}

func groupKey(account, region, group string) string {
	return account + "/" + region + "/" + url.PathEscape(group)
}

func streamKey(account, region, group, stream string) string {
	return groupKey(account, region, group) + "/" + url.PathEscape(stream)
}

func eventStream(account, region, group, stream string) string {
	return "logs/" + streamKey(account, region, group, stream)
}

func (s *Service) getGroup(ctx context.Context, account, region, name string) (groupRecord, int64, error) {
	rec, err := s.deps.Meta.Get(ctx, nsGroups, groupKey(account, region, name))
	if errors.Is(err, storage.ErrNotFound) {
		return groupRecord{}, 0, errGroupNotFound()
	}
	if err != nil {
		return groupRecord{}, 0, err
	}
	var g groupRecord
	if err := json.Unmarshal(rec.Value, &g); err != nil {
		return g, 0, fmt.Errorf("logs: decode group: %w", err)
	}
	return g, rec.Version, nil
}

func (s *Service) getStream(ctx context.Context, account, region, group, name string) (streamRecord, int64, error) {
	rec, err := s.deps.Meta.Get(ctx, nsStreams, streamKey(account, region, group, name))
	if errors.Is(err, storage.ErrNotFound) {
		return streamRecord{}, 0, errStreamNotFound()
	}
	if err != nil {
		return streamRecord{}, 0, err
	}
	var st streamRecord
	if err := json.Unmarshal(rec.Value, &st); err != nil {
		return st, 0, fmt.Errorf("logs: decode stream: %w", err)
	}
	return st, rec.Version, nil
}

func put(ctx context.Context, m storage.Meta, ns, key string, v any, expect int64) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("logs: encode: %w", err)
	}
	_, err = m.Put(ctx, ns, key, b, expect)
	return err
}

// encodeEvent stores the ingestion time (ms) before the message.
func encodeEvent(ingest time.Time, msg string) []byte {
	b := make([]byte, 8+len(msg))
	binary.BigEndian.PutUint64(b, uint64(ingest.UnixMilli()))
	copy(b[8:], msg)
	return b
}

func decodeEvent(b []byte) (ingestMs int64, msg string) {
	if len(b) < 8 {
		return 0, string(b)
	}
	return int64(binary.BigEndian.Uint64(b)), string(b[8:])
}

// appendEvents stores events in a stream that exists and updates its record.
func (s *Service) appendEvents(ctx context.Context, account, region, group, stream string, events []Event) (int64, error) {
	now := s.deps.Clock.Now()
	entries := make([]storage.LogEntry, len(events))
	for i, e := range events {
		entries[i] = storage.LogEntry{Time: e.Time, Data: encodeEvent(now, e.Message)}
	}
	if _, err := s.deps.Logs.Append(ctx, eventStream(account, region, group, stream), entries); err != nil {
		return 0, fmt.Errorf("logs: append: %w", err)
	}
	for attempt := 0; ; attempt++ {
		st, ver, err := s.getStream(ctx, account, region, group, stream)
		if err != nil {
			return 0, err
		}
		for _, e := range events {
			if st.FirstEvent.IsZero() || e.Time.Before(st.FirstEvent) {
				st.FirstEvent = e.Time
			}
			if e.Time.After(st.LastEvent) {
				st.LastEvent = e.Time
			}
		}
		st.LastIngestion = now
		st.Token++
		err = put(ctx, s.deps.Meta, nsStreams, streamKey(account, region, group, stream), st, ver)
		if errors.Is(err, storage.ErrConflict) && attempt < 20 {
			continue
		}
		return st.Token, err
	}
}

// WriteEvents appends events to a stream, creating the group and stream
// when they do not exist (as Lambda's log delivery does). Events need not
// be in order. It is the internal API other services write logs through.
func (s *Service) WriteEvents(ctx context.Context, account, region, group, stream string, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	now := s.deps.Clock.Now()
	if _, _, err := s.getGroup(ctx, account, region, group); err != nil {
		g := groupRecord{Name: group, Created: now, Class: "STANDARD"}
		if err := put(ctx, s.deps.Meta, nsGroups, groupKey(account, region, group), g, storage.MustNotExist); err != nil && !errors.Is(err, storage.ErrConflict) {
			return err
		}
	}
	if _, _, err := s.getStream(ctx, account, region, group, stream); err != nil {
		st := streamRecord{Name: stream, Created: now}
		if err := put(ctx, s.deps.Meta, nsStreams, streamKey(account, region, group, stream), st, storage.MustNotExist); err != nil && !errors.Is(err, storage.ErrConflict) {
			return err
		}
	}
	_, err := s.appendEvents(ctx, account, region, group, stream, events)
	return err
}
