package natsstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fogbank/fogbank/internal/storage"
)

// hdrTime carries a log record's Time (Unix nanoseconds). The stream's own
// timestamp is the server's clock, not the caller's, so it is not used.
const hdrTime = "Fog-Time"

// logStore implements storage.Logs on the <prefix>_LOGS stream, one subject
// per log stream; a record's Seq is its stream sequence.
type logStore struct{ s *Store }

func (l logStore) subject(stream string) string { return l.s.prefix + ".l." + enc(stream) }

// Append publishes the entries in order and waits for every
// acknowledgement. It is not atomic: on error a prefix may be stored.
func (l logStore) Append(ctx context.Context, stream string, entries []storage.LogEntry) ([]int64, error) {
	subj := l.subject(stream)
	futures := make([]jetstream.PubAckFuture, 0, len(entries))
	for _, e := range entries {
		m := nats.NewMsg(subj)
		m.Header.Set(hdrTime, strconv.FormatInt(e.Time.UnixNano(), 10))
		m.Data = e.Data
		f, err := l.s.js.PublishMsgAsync(m)
		if err != nil {
			return nil, fmt.Errorf("natsstore: append to %s: %w", stream, err)
		}
		futures = append(futures, f)
	}
	seqs := make([]int64, len(futures))
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			seqs[i] = int64(ack.Sequence)
		case err := <-f.Err():
			return nil, fmt.Errorf("natsstore: append to %s: %w", stream, err)
		case <-ctx.Done():
			return nil, fmt.Errorf("natsstore: append to %s: %w", stream, ctx.Err())
		}
	}
	return seqs, nil
}

func recordTime(h nats.Header) time.Time {
	n, _ := strconv.ParseInt(h.Get(hdrTime), 10, 64)
	return time.Unix(0, n).UTC()
}

// Read scans the stream from q.After and filters by time in memory (record
// times are the caller's, so the server cannot seek by them).
func (l logStore) Read(ctx context.Context, stream string, q storage.LogQuery) ([]storage.LogRecord, error) {
	var out []storage.LogRecord
	start := uint64(0)
	if q.After > 0 {
		start = uint64(q.After) + 1
	}
	err := scan(ctx, l.s.logStream, l.subject(stream), start, false, func(m jetstream.Msg) (bool, error) {
		md, err := m.Metadata()
		if err != nil {
			return false, err
		}
		seq := int64(md.Sequence.Stream)
		if q.Before > 0 && seq >= q.Before {
			return false, nil
		}
		t := recordTime(m.Headers())
		if (!q.From.IsZero() && t.Before(q.From)) || (!q.To.IsZero() && t.After(q.To)) {
			return true, nil
		}
		out = append(out, storage.LogRecord{Seq: seq, Time: t, Data: m.Data()})
		return q.Desc || q.Limit <= 0 || len(out) < q.Limit, nil
	})
	if err != nil {
		return nil, fmt.Errorf("natsstore: read %s: %w", stream, err)
	}
	if q.Desc {
		slices.Reverse(out)
		if q.Limit > 0 && len(out) > q.Limit {
			out = out[:q.Limit]
		}
	}
	return out, nil
}

// Trim deletes records older than before: with one purge when they are the
// oldest records of the stream (the usual case), else one by one.
func (l logStore) Trim(ctx context.Context, stream string, before time.Time) (int64, error) {
	subj := l.subject(stream)
	var (
		old       []uint64
		prefix    = true // every old record precedes every kept one
		firstKept uint64
		last      uint64
	)
	err := scan(ctx, l.s.logStream, subj, 0, true, func(m jetstream.Msg) (bool, error) {
		md, err := m.Metadata()
		if err != nil {
			return false, err
		}
		last = md.Sequence.Stream
		if recordTime(m.Headers()).Before(before) {
			old = append(old, last)
			if firstKept != 0 {
				prefix = false
			}
		} else if firstKept == 0 {
			firstKept = last
		}
		return true, nil
	})
	if err != nil {
		return 0, fmt.Errorf("natsstore: trim %s: %w", stream, err)
	}
	if len(old) == 0 {
		return 0, nil
	}
	if prefix {
		upTo := firstKept
		if upTo == 0 {
			upTo = last + 1
		}
		if err := l.s.logStream.Purge(ctx, jetstream.WithPurgeSubject(subj), jetstream.WithPurgeSequence(upTo)); err != nil {
			return 0, fmt.Errorf("natsstore: trim %s: %w", stream, err)
		}
		return int64(len(old)), nil
	}
	for i, seq := range old {
		if err := l.s.logStream.DeleteMsg(ctx, seq); err != nil {
			return int64(i), fmt.Errorf("natsstore: trim %s: %w", stream, err)
		}
	}
	return int64(len(old)), nil
}

// Streams lists the names of non-empty log streams with the prefix.
func (l logStore) Streams(ctx context.Context, prefix string) ([]string, error) {
	names, err := l.s.logNames(ctx)
	if err != nil {
		return nil, fmt.Errorf("natsstore: list streams: %w", err)
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (s *Store) logNames(ctx context.Context) ([]string, error) {
	subjs, err := subjects(ctx, s.logStream, s.prefix+".l.>")
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(subjs))
	for _, subj := range subjs {
		name, err := dec(strings.TrimPrefix(subj, s.prefix+".l."))
		if err != nil {
			continue
		}
		out = append(out, name)
	}
	return out, nil
}

func (s *Store) resetLogs(ctx context.Context, match func(string) bool, all bool) error {
	if all {
		return s.logStream.Purge(ctx)
	}
	names, err := s.logNames(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		if match(n) {
			if err := s.logStream.Purge(ctx, jetstream.WithPurgeSubject(s.prefix+".l."+enc(n))); err != nil {
				return err
			}
		}
	}
	return nil
}
