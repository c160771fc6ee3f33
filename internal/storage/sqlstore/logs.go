package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

// logStore implements storage.Logs on the log_stream and log_rec tables.
// Sequence numbers are per stream (1, 2, ...) and assigned under the
// stream row's lock, so they follow commit order and never repeat, even
// after Trim.
type logStore struct{ s *Store }

// appendChunk bounds the rows of one INSERT (4 parameters each).
const appendChunk = 500

func (l logStore) Append(ctx context.Context, stream string, entries []storage.LogEntry) ([]int64, error) {
	if len(entries) == 0 {
		return []int64{}, nil
	}
	s := l.s
	seqs := make([]int64, len(entries))
	err := s.tx(ctx, func(ctx context.Context, tx execer) error {
		var last int64
		err := tx.QueryRowContext(ctx, s.d.q(`INSERT INTO log_stream (stream, last_seq) VALUES (?, ?)
			ON CONFLICT (stream) DO UPDATE SET last_seq = log_stream.last_seq + ? RETURNING last_seq`),
			stream, int64(len(entries)), int64(len(entries))).Scan(&last)
		if err != nil {
			return fmt.Errorf("assign seqs: %w", err)
		}
		first := last - int64(len(entries)) + 1
		for start := 0; start < len(entries); start += appendChunk {
			end := min(start+appendChunk, len(entries))
			var b strings.Builder
			b.WriteString("INSERT INTO log_rec (stream, seq, time, data) VALUES ")
			args := make([]any, 0, 4*(end-start))
			for i := start; i < end; i++ {
				if i > start {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, ?, ?)")
				seqs[i] = first + int64(i)
				args = append(args, stream, seqs[i], nanos(entries[i].Time), nonNil(entries[i].Data))
			}
			if _, err := tx.ExecContext(ctx, s.d.q(b.String()), args...); err != nil {
				return fmt.Errorf("insert: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: append to %s: %w", stream, err)
	}
	return seqs, nil
}

func (l logStore) Read(ctx context.Context, stream string, q storage.LogQuery) ([]storage.LogRecord, error) {
	s := l.s
	query := "SELECT seq, time, data FROM log_rec WHERE stream = ?"
	args := []any{stream}
	if !q.From.IsZero() {
		query += " AND time >= ?"
		args = append(args, nanos(q.From))
	}
	if !q.To.IsZero() {
		query += " AND time <= ?"
		args = append(args, nanos(q.To))
	}
	if q.After > 0 {
		query += " AND seq > ?"
		args = append(args, q.After)
	}
	if q.Before > 0 {
		query += " AND seq < ?"
		args = append(args, q.Before)
	}
	if q.Desc {
		query += " ORDER BY seq DESC"
	} else {
		query += " ORDER BY seq"
	}
	if q.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, q.Limit)
	}
	rows, err := s.r.QueryContext(ctx, s.d.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read %s: %w", stream, err)
	}
	defer rows.Close()
	var out []storage.LogRecord
	for rows.Next() {
		var r storage.LogRecord
		var t int64
		if err := rows.Scan(&r.Seq, &t, &r.Data); err != nil {
			return nil, fmt.Errorf("sqlstore: read %s: %w", stream, err)
		}
		r.Time = fromNanos(t)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: read %s: %w", stream, err)
	}
	return out, nil
}

func (l logStore) Trim(ctx context.Context, stream string, before time.Time) (int64, error) {
	s := l.s
	var n int64
	err := s.write(ctx, func(ctx context.Context, ex execer) error {
		res, err := ex.ExecContext(ctx, s.d.q("DELETE FROM log_rec WHERE stream = ? AND time < ?"), stream, nanos(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: trim %s: %w", stream, err)
	}
	return n, nil
}

func (l logStore) Streams(ctx context.Context, prefix string) ([]string, error) {
	s := l.s
	cond, args := prefixCond("stream", prefix)
	rows, err := s.r.QueryContext(ctx, s.d.q("SELECT stream FROM log_stream WHERE "+cond+" ORDER BY stream"), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list streams %q: %w", prefix, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("sqlstore: list streams %q: %w", prefix, err)
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list streams %q: %w", prefix, err)
	}
	return out, nil
}
