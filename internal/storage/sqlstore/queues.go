package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

// queueStore implements storage.Queues on the q_msg and q_dedup tables.
//
// A receipt handle is "<seq>.<nonce>": seq names the row, nonce must equal
// the row's receipt column for the handle to be current. Every Receive
// writes a fresh nonce, superseding older handles.
type queueStore struct{ s *Store }

// msgCols are the q_msg columns scanMsg reads, in order.
const msgCols = "seq, id, body, attrs, group_id, dedup_id, sent_at, visible_at, receive_count, first_received_at, receipt"

// maxRedriveRounds bounds how many candidate batches one Receive examines
// when messages keep being dead-lettered, keeping the transaction short.
const maxRedriveRounds = 8

// deleteBatchChunk bounds the rows one statement of DeleteBatch names,
// keeping it under the engines' limits on bound parameters.
const deleteBatchChunk = 500

// dedupPruneEvery is how often (in caller time) expired dedup ids are
// deleted; expired entries are ignored anyway, pruning only frees space.
const dedupPruneEvery = time.Minute

func (q queueStore) Send(ctx context.Context, queue string, now time.Time, reqs []storage.SendRequest) ([]storage.SendResult, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	s := q.s
	out := make([]storage.SendResult, len(reqs))
	hasDedup := false
	wake := false // held messages are nobody else's to receive
	for _, r := range reqs {
		if r.DedupID != "" && r.DedupWindow > 0 {
			hasDedup = true
		}
		wake = wake || r.Hold <= 0
	}
	stored := false
	err := s.tx(ctx, func(ctx context.Context, tx execer) error {
		stored = false
		if hasDedup {
			if err := s.maybePruneDedup(ctx, tx, now); err != nil {
				return err
			}
			for i, r := range reqs {
				res, err := q.sendOne(ctx, tx, queue, now, r)
				if err != nil {
					return err
				}
				out[i] = res
				stored = stored || !res.Duplicate
			}
		} else {
			if err := q.insertBatch(ctx, tx, queue, now, reqs, out); err != nil {
				return err
			}
			stored = true
		}
		if stored && wake {
			return s.pgNotify(ctx, tx, queue)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: send to %s: %w", queue, err)
	}
	if stored && wake {
		s.notify.fire(queue)
	}
	return out, nil
}

// insertBatch stores requests without dedup ids in one statement.
func (q queueStore) insertBatch(ctx context.Context, tx execer, queue string, now time.Time, reqs []storage.SendRequest, out []storage.SendResult) error {
	s := q.s
	var b strings.Builder
	b.WriteString("INSERT INTO q_msg (queue, id, body, attrs, group_id, dedup_id, sent_at, visible_at, receive_count, first_received_at, receipt) VALUES ")
	held := false
	for _, r := range reqs {
		held = held || r.Hold > 0
	}
	var nonce string
	if held {
		nonce = newNonce()
	}
	args := make([]any, 0, len(reqs)*11)
	index := make(map[string]int, len(reqs))
	for i, r := range reqs {
		if i > 0 {
			b.WriteString(", ")
		}
		id := newUUID()
		index[id] = i
		out[i] = storage.SendResult{ID: id}
		args = append(args, queue, id, nonNil(r.Body), nonNil(r.Attributes), r.GroupID, r.DedupID, nanos(now))
		if !held {
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, 0, 0, '')")
			args = append(args, nanos(now.Add(max(r.Delay, 0))))
			continue
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		vis, count, first, rcpt := sendState(r, now, nonce)
		args = append(args, vis, count, first, rcpt)
	}
	b.WriteString(" RETURNING id, seq")
	rows, err := tx.QueryContext(ctx, s.d.q(b.String()), args...)
	if err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		o := &out[index[id]]
		o.Seq = seq
		if held && reqs[index[id]].Hold > 0 {
			o.Receipt = strconv.FormatInt(seq, 10) + "." + nonce
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	if n != len(reqs) {
		return fmt.Errorf("insert: %d rows returned for %d messages", n, len(reqs))
	}
	return nil
}

// sendOne stores one request, honouring its dedup id: the message row is
// inserted, then the dedup id claimed; if a live claim exists the row is
// removed again and the earlier message reported.
func (q queueStore) sendOne(ctx context.Context, tx execer, queue string, now time.Time, r storage.SendRequest) (storage.SendResult, error) {
	s := q.s
	id := newUUID()
	var seq int64
	nonce := ""
	if r.Hold > 0 {
		nonce = newNonce()
	}
	vis, count, first, rcpt := sendState(r, now, nonce)
	err := tx.QueryRowContext(ctx, s.d.q(`INSERT INTO q_msg (queue, id, body, attrs, group_id, dedup_id, sent_at, visible_at, receive_count, first_received_at, receipt)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`),
		queue, id, nonNil(r.Body), nonNil(r.Attributes), r.GroupID, r.DedupID, nanos(now), vis, count, first, rcpt).Scan(&seq)
	if err != nil {
		return storage.SendResult{}, fmt.Errorf("insert: %w", err)
	}
	own := storage.SendResult{ID: id, Seq: seq}
	if nonce != "" {
		own.Receipt = strconv.FormatInt(seq, 10) + "." + nonce
	}
	if r.DedupID == "" || r.DedupWindow <= 0 {
		return own, nil
	}
	var claimed int64
	err = tx.QueryRowContext(ctx, s.d.q(`INSERT INTO q_dedup (queue, dedup_id, expires_at, msg_id, seq) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (queue, dedup_id) DO UPDATE SET expires_at = excluded.expires_at, msg_id = excluded.msg_id, seq = excluded.seq
		WHERE q_dedup.expires_at <= ? RETURNING seq`),
		queue, r.DedupID, nanos(now.Add(r.DedupWindow)), id, seq, nanos(now)).Scan(&claimed)
	if err == nil {
		return own, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return storage.SendResult{}, fmt.Errorf("claim dedup id: %w", err)
	}
	// Duplicate: undo the insert and report the first message.
	if _, err := tx.ExecContext(ctx, s.d.q("DELETE FROM q_msg WHERE seq = ?"), seq); err != nil {
		return storage.SendResult{}, fmt.Errorf("drop duplicate: %w", err)
	}
	res := storage.SendResult{Duplicate: true}
	err = tx.QueryRowContext(ctx, s.d.q("SELECT msg_id, seq FROM q_dedup WHERE queue = ? AND dedup_id = ?"), queue, r.DedupID).
		Scan(&res.ID, &res.Seq)
	if err != nil {
		return storage.SendResult{}, fmt.Errorf("read dedup id: %w", err)
	}
	return res, nil
}

// sendState returns the stored visible_at, receive_count,
// first_received_at and receipt nonce of a new message: received already
// (with nonce) when the request holds it.
func sendState(r storage.SendRequest, now time.Time, nonce string) (vis int64, count int, first int64, rcpt string) {
	if r.Hold > 0 {
		return nanos(now.Add(r.Hold)), 1, nanos(now), nonce
	}
	return nanos(now.Add(max(r.Delay, 0))), 0, 0, ""
}

// maybePruneDedup deletes expired dedup ids of all queues, at most once per
// dedupPruneEvery of caller time.
func (s *Store) maybePruneDedup(ctx context.Context, tx execer, now time.Time) error {
	s.pruneMu.Lock()
	due := s.lastPrune.IsZero() || now.Sub(s.lastPrune) >= dedupPruneEvery || now.Before(s.lastPrune)
	if due {
		s.lastPrune = now
	}
	s.pruneMu.Unlock()
	if !due {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.d.q("DELETE FROM q_dedup WHERE expires_at <= ?"), nanos(now)); err != nil {
		return fmt.Errorf("prune dedup ids: %w", err)
	}
	return nil
}

// candidate is a message selected for receipt.
type candidate struct {
	seq   int64
	count int
	group string
}

func (q queueStore) Receive(ctx context.Context, queue string, now time.Time, opts storage.ReceiveOptions) ([]storage.Message, error) {
	s := q.s
	if opts.Max < 1 {
		return nil, fmt.Errorf("sqlstore: receive from %s: max %d, want at least 1", queue, opts.Max)
	}
	redrive := opts.MaxReceives > 0 && opts.DeadLetter != ""
	nonce := newNonce()
	visibleAt := nanos(now.Add(max(opts.Visibility, 0)))
	var out []storage.Message
	deadLettered := false
	err := s.tx(ctx, func(ctx context.Context, tx execer) error {
		out = out[:0]
		deadLettered = false
		if opts.FIFO {
			if s.d.pg {
				// FIFO receives of one queue run one at a time, so two nodes
				// never hand out the same group.
				if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "fogbank.fifo/"+queue); err != nil {
					return fmt.Errorf("lock fifo queue: %w", err)
				}
			}
			take, dead, err := q.pickFIFO(ctx, tx, queue, now, opts)
			if err != nil {
				return err
			}
			if len(dead) > 0 {
				if err := q.moveRows(ctx, tx, dead, opts.DeadLetter, now, true); err != nil {
					return fmt.Errorf("dead-letter to %s: %w", opts.DeadLetter, err)
				}
				deadLettered = true
			}
			if len(take) > 0 {
				if out, err = q.markReceived(ctx, tx, take, now, visibleAt, nonce); err != nil {
					return err
				}
			}
		} else {
			var taken []int64
			for round := 0; round < maxRedriveRounds && len(out) < opts.Max; round++ {
				cands, err := q.candidates(ctx, tx, queue, now, opts.Max-len(out), taken)
				if err != nil {
					return err
				}
				if len(cands) == 0 {
					break
				}
				var take, dead []int64
				for _, c := range cands {
					if redrive && c.count >= opts.MaxReceives {
						dead = append(dead, c.seq)
					} else {
						take = append(take, c.seq)
					}
				}
				if len(dead) > 0 {
					if err := q.moveRows(ctx, tx, dead, opts.DeadLetter, now, true); err != nil {
						return fmt.Errorf("dead-letter to %s: %w", opts.DeadLetter, err)
					}
					deadLettered = true
				}
				if len(take) > 0 {
					msgs, err := q.markReceived(ctx, tx, take, now, visibleAt, nonce)
					if err != nil {
						return err
					}
					out = append(out, msgs...)
					taken = append(taken, take...)
				}
				if len(dead) == 0 {
					break
				}
			}
		}
		if deadLettered {
			return s.pgNotify(ctx, tx, opts.DeadLetter)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: receive from %s: %w", queue, err)
	}
	if deadLettered {
		s.notify.fire(opts.DeadLetter)
	}
	if opts.FIFO {
		groupFirst(out)
	}
	return out, nil
}

// candidates selects up to n visible messages of a standard queue not in
// exclude, the longest-visible first (the ready index order).
func (q queueStore) candidates(ctx context.Context, tx execer, queue string, now time.Time, n int, exclude []int64) ([]candidate, error) {
	s := q.s
	query := `SELECT m.seq, m.receive_count, m.group_id FROM q_msg m WHERE m.queue = ? AND m.visible_at <= ?`
	args := []any{queue, nanos(now)}
	if len(exclude) > 0 {
		query += " AND m.seq NOT IN (" + placeholders(len(exclude)) + ")"
		for _, e := range exclude {
			args = append(args, e)
		}
	}
	query += " ORDER BY m.visible_at, m.seq LIMIT ?" + s.d.skipLocked()
	args = append(args, n)
	rows, err := tx.QueryContext(ctx, s.d.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("select messages: %w", err)
	}
	defer rows.Close()
	var out []candidate
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.seq, &c.count, &c.group); err != nil {
			return nil, fmt.Errorf("select messages: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select messages: %w", err)
	}
	return out, nil
}

// pickFIFO chooses what a FIFO receive hands out, as SQS does: as many
// messages of one group as it can, in Seq order, and the next group's only
// when that group has fewer than wanted. Groups come in the order of their
// oldest message; a group with a message in flight is skipped, and a group
// stops at its first message not yet visible (delayed). take are the rows
// to receive; dead are rows past opts.MaxReceives (with a dead-letter
// queue) to move there, skipped over as if absent.
//
// Each group costs two index look-ups: its head, the next receivable
// message in Seq order (q_msg_order, checking in-flight and delayed
// messages of its group on q_msg_group), and then its messages from the
// head on (q_msg_group_seq, LIMIT what is still wanted). Nothing is written
// here, so later look-ups still see the rows picked before; they go past
// them by starting after the last head and naming the groups already seen.
func (q queueStore) pickFIFO(ctx context.Context, tx execer, queue string, now time.Time, opts storage.ReceiveOptions) (take, dead []int64, err error) {
	redrive := opts.MaxReceives > 0 && opts.DeadLetter != ""
	nowN := nanos(now)
	var seen []string
	after := int64(0)
	deadRuns := 0
	for len(take) < opts.Max && deadRuns < maxRedriveRounds {
		head, ok, err := q.fifoHead(ctx, tx, queue, nowN, after, seen)
		if err != nil || !ok {
			return take, dead, err
		}
		seen = append(seen, head.group)
		after = head.seq
		from := head.seq
		for len(take) < opts.Max {
			want := opts.Max - len(take)
			run, err := q.groupRun(ctx, tx, queue, head.group, from, want)
			if err != nil {
				return nil, nil, err
			}
			stopped, found := false, false
			for _, r := range run {
				if r.vis > nowN {
					stopped = true // delayed: the rest of the group waits
					break
				}
				from = r.seq + 1
				if redrive && r.count >= opts.MaxReceives {
					dead = append(dead, r.seq)
					found = true
				} else {
					take = append(take, r.seq)
				}
			}
			if !found {
				break // the run was taken whole, or the group ended or stopped
			}
			deadRuns++
			if stopped || len(run) < want || deadRuns >= maxRedriveRounds {
				break
			}
		}
	}
	return take, dead, nil
}

// fifoHead returns the oldest receivable message with Seq above after
// whose group is not in exclude: visible, with no message of its group in
// flight and none before it still delayed. Such a message is its group's
// oldest. ok is false when there is none.
func (q queueStore) fifoHead(ctx context.Context, tx execer, queue string, nowN, after int64, exclude []string) (c candidate, ok bool, err error) {
	s := q.s
	args := []any{queue, after, nowN, nowN}
	for _, g := range exclude {
		args = append(args, g)
	}
	err = tx.QueryRowContext(ctx, s.d.q(fifoHeadQuery(len(exclude))), args...).Scan(&c.seq, &c.group)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("select group head: %w", err)
	}
	return c, true, nil
}

// fifoHeadQuery is fifoHead's query for n excluded groups. Arguments:
// queue, after, now, now, the excluded groups.
func fifoHeadQuery(n int) string {
	// "+m.visible_at" keeps SQLite from choosing the ready index: the scan
	// must walk (queue, seq) in order so that LIMIT stops it at the first
	// match instead of sorting every visible message.
	query := `SELECT m.seq, m.group_id FROM q_msg m
		WHERE m.queue = ? AND m.seq > ? AND +m.visible_at <= ?
		AND NOT EXISTS (SELECT 1 FROM q_msg b WHERE b.queue = m.queue AND b.group_id = m.group_id
			AND b.visible_at > ? AND (b.receive_count > 0 OR b.seq < m.seq))`
	if n > 0 {
		query += " AND m.group_id NOT IN (" + placeholders(n) + ")"
	}
	return query + " ORDER BY m.seq LIMIT 1"
}

// groupRunQuery is groupRun's query. Arguments: queue, group, from, limit.
func (d dialect) groupRunQuery(group string) string {
	query := "SELECT seq, visible_at, receive_count FROM q_msg WHERE queue = ? AND group_id = ?"
	if group != "" {
		query += " AND group_id <> ''" // lets the partial index q_msg_group_seq serve
	}
	query += " AND seq >= ? ORDER BY seq LIMIT ?"
	if d.pg {
		query += " FOR UPDATE"
	}
	return d.q(query)
}

// runRow is one message of a group run.
type runRow struct {
	seq, vis int64
	count    int
}

// groupRun returns up to n messages of a group from Seq from on, in Seq
// order. On PostgreSQL the rows are locked (waiting, not skipping: a
// skipped message would let the one behind it out of order).
func (q queueStore) groupRun(ctx context.Context, tx execer, queue, group string, from int64, n int) ([]runRow, error) {
	rows, err := tx.QueryContext(ctx, q.s.d.groupRunQuery(group), queue, group, from, n)
	if err != nil {
		return nil, fmt.Errorf("select group messages: %w", err)
	}
	defer rows.Close()
	out := make([]runRow, 0, n)
	for rows.Next() {
		var r runRow
		if err := rows.Scan(&r.seq, &r.vis, &r.count); err != nil {
			return nil, fmt.Errorf("select group messages: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select group messages: %w", err)
	}
	return out, nil
}

// markReceived makes the rows invisible until visibleAt with a new receipt
// nonce and returns them in seq order.
func (q queueStore) markReceived(ctx context.Context, tx execer, seqs []int64, now time.Time, visibleAt int64, nonce string) ([]storage.Message, error) {
	s := q.s
	args := []any{visibleAt, nonce, nanos(now)}
	for _, seq := range seqs {
		args = append(args, seq)
	}
	rows, err := tx.QueryContext(ctx, s.d.q(`UPDATE q_msg SET visible_at = ?, receive_count = receive_count + 1, receipt = ?,
		first_received_at = CASE WHEN first_received_at = 0 THEN ? ELSE first_received_at END
		WHERE seq IN (`+placeholders(len(seqs))+`) RETURNING `+msgCols), args...)
	if err != nil {
		return nil, fmt.Errorf("mark received: %w", err)
	}
	defer rows.Close()
	out := make([]storage.Message, 0, len(seqs))
	for rows.Next() {
		m, err := scanMsg(rows)
		if err != nil {
			return nil, fmt.Errorf("mark received: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mark received: %w", err)
	}
	slices.SortFunc(out, func(a, b storage.Message) int { return compareInt(a.Seq, b.Seq) })
	return out, nil
}

// groupFirst orders a FIFO batch group by group (groups in order of their
// oldest message), each group's messages in Seq order.
func groupFirst(msgs []storage.Message) {
	first := map[string]int64{}
	for _, m := range msgs {
		if f, ok := first[m.GroupID]; !ok || m.Seq < f {
			first[m.GroupID] = m.Seq
		}
	}
	slices.SortStableFunc(msgs, func(a, b storage.Message) int {
		if c := compareInt(first[a.GroupID], first[b.GroupID]); c != 0 {
			return c
		}
		return compareInt(a.Seq, b.Seq)
	})
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// moveRows re-inserts the rows into queue `to` (visible now, new seq in
// their old order, same ID, body, attributes, group and SentAt) and deletes
// the originals. A redrive (dead-lettering) keeps ReceiveCount and
// FirstReceivedAt, as SQS counts receives across queues; other moves start
// the messages afresh.
func (q queueStore) moveRows(ctx context.Context, tx execer, seqs []int64, to string, now time.Time, redrive bool) error {
	s := q.s
	in := placeholders(len(seqs))
	args := []any{to, nanos(now)}
	for _, seq := range seqs {
		args = append(args, seq)
	}
	counts := "0, 0"
	if redrive {
		counts = "receive_count, first_received_at"
	}
	_, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO q_msg (queue, id, body, attrs, group_id, dedup_id, sent_at, visible_at, receive_count, first_received_at, receipt)
		SELECT ?, id, body, attrs, group_id, dedup_id, sent_at, ?, `+counts+`, '' FROM q_msg WHERE seq IN (`+in+`) ORDER BY seq`), args...)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.d.q("DELETE FROM q_msg WHERE seq IN ("+in+")"), args[2:]...); err != nil {
		return fmt.Errorf("delete originals: %w", err)
	}
	return nil
}

func scanMsg(rows *sql.Rows) (storage.Message, error) {
	var m storage.Message
	var sent, vis, first int64
	var receipt string
	if err := rows.Scan(&m.Seq, &m.ID, &m.Body, &m.Attributes, &m.GroupID, &m.DedupID, &sent, &vis, &m.ReceiveCount, &first, &receipt); err != nil {
		return m, err
	}
	m.SentAt, m.VisibleAt, m.FirstReceivedAt = fromNanos(sent), fromNanos(vis), fromNanos(first)
	if receipt != "" {
		m.Receipt = strconv.FormatInt(m.Seq, 10) + "." + receipt
	}
	return m, nil
}

// parseReceipt splits a receipt handle into seq and nonce.
func parseReceipt(r string) (int64, string, bool) {
	a, nonce, ok := strings.Cut(r, ".")
	if !ok || nonce == "" {
		return 0, "", false
	}
	seq, err := strconv.ParseInt(a, 10, 64)
	if err != nil || seq <= 0 {
		return 0, "", false
	}
	return seq, nonce, true
}

func (q queueStore) ChangeVisibility(ctx context.Context, queue, receipt string, now time.Time, v time.Duration) error {
	s := q.s
	seq, nonce, ok := parseReceipt(receipt)
	if !ok {
		return fmt.Errorf("sqlstore: change visibility in %s: %w", queue, storage.ErrInvalidReceipt)
	}
	var outcome error // a refusal: nothing was written
	err := s.write(ctx, func(ctx context.Context, ex execer) error {
		outcome = nil
		res, err := ex.ExecContext(ctx, s.d.q("UPDATE q_msg SET visible_at = ? WHERE seq = ? AND queue = ? AND receipt = ? AND visible_at > ?"),
			nanos(now.Add(max(v, 0))), seq, queue, nonce, nanos(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			return nil
		}
		var cur string
		err = ex.QueryRowContext(ctx, s.d.q("SELECT receipt FROM q_msg WHERE seq = ? AND queue = ?"), seq, queue).Scan(&cur)
		switch {
		case errors.Is(err, sql.ErrNoRows) || (err == nil && cur != nonce):
			outcome = storage.ErrInvalidReceipt
		case err != nil:
			return err
		default:
			outcome = storage.ErrNotInFlight
		}
		return nil
	})
	if err == nil {
		err = outcome
	}
	if err != nil {
		return fmt.Errorf("sqlstore: change visibility in %s: %w", queue, err)
	}
	if v <= 0 {
		s.notify.fire(queue)
	}
	return nil
}

func (q queueStore) Delete(ctx context.Context, queue, receipt string) error {
	s := q.s
	seq, nonce, ok := parseReceipt(receipt)
	if !ok {
		return fmt.Errorf("sqlstore: delete from %s: %w", queue, storage.ErrInvalidReceipt)
	}
	var outcome error // a refusal: nothing was written
	err := s.write(ctx, func(ctx context.Context, ex execer) error {
		outcome = nil
		res, err := ex.ExecContext(ctx, s.d.q("DELETE FROM q_msg WHERE seq = ? AND queue = ? AND receipt = ?"), seq, queue, nonce)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			return nil
		}
		// A superseded receipt of a message still present is accepted.
		var one int
		err = ex.QueryRowContext(ctx, s.d.q("SELECT 1 FROM q_msg WHERE seq = ? AND queue = ? AND receipt <> ''"), seq, queue).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			outcome = storage.ErrInvalidReceipt
		case err != nil:
			return err
		}
		return nil
	})
	if err == nil {
		err = outcome
	}
	if err != nil {
		return fmt.Errorf("sqlstore: delete from %s: %w", queue, err)
	}
	return nil
}

// DeleteBatch deletes in one transaction (on SQLite, one operation of a
// group-commit batch): one read of the named rows (locked on PostgreSQL),
// then one DELETE of those whose receipt is current.
func (q queueStore) DeleteBatch(ctx context.Context, queue string, receipts []string) ([]error, error) {
	s := q.s
	out := make([]error, len(receipts))
	type ref struct {
		seq   int64
		nonce string
	}
	refs := make([]ref, len(receipts))
	var seqs []any
	seen := make(map[int64]bool, len(receipts))
	for i, r := range receipts {
		seq, nonce, ok := parseReceipt(r)
		if !ok {
			out[i] = storage.ErrInvalidReceipt
			continue
		}
		refs[i] = ref{seq, nonce}
		if !seen[seq] {
			seen[seq] = true
			seqs = append(seqs, seq)
		}
	}
	if len(seqs) == 0 {
		return out, nil
	}
	forUpdate := ""
	if s.d.pg {
		forUpdate = " ORDER BY seq FOR UPDATE"
	}
	err := s.tx(ctx, func(ctx context.Context, tx execer) error {
		// Replay the receipts in order against the rows as they are.
		cur := make(map[int64]string, len(seqs)) // seq → current nonce ("" never received)
		for chunk := range slices.Chunk(seqs, deleteBatchChunk) {
			rows, err := tx.QueryContext(ctx, s.d.q("SELECT seq, receipt FROM q_msg WHERE queue = ? AND seq IN ("+placeholders(len(chunk))+")"+forUpdate),
				append([]any{queue}, chunk...)...)
			if err != nil {
				return fmt.Errorf("select: %w", err)
			}
			for rows.Next() {
				var seq int64
				var nonce string
				if err := rows.Scan(&seq, &nonce); err != nil {
					rows.Close()
					return fmt.Errorf("select: %w", err)
				}
				cur[seq] = nonce
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("select: %w", err)
			}
		}
		var del []any
		for i, r := range refs {
			if r.seq == 0 {
				continue // unparsable: already refused
			}
			nonce, ok := cur[r.seq]
			switch {
			case ok && nonce == r.nonce:
				delete(cur, r.seq)
				del = append(del, r.seq)
				out[i] = nil
			case ok && nonce != "":
				out[i] = nil // superseded receipt of a message still present
			default:
				out[i] = storage.ErrInvalidReceipt
			}
		}
		for chunk := range slices.Chunk(del, deleteBatchChunk) {
			if _, err := tx.ExecContext(ctx, s.d.q("DELETE FROM q_msg WHERE seq IN ("+placeholders(len(chunk))+")"), chunk...); err != nil {
				return fmt.Errorf("delete: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: delete batch from %s: %w", queue, err)
	}
	return out, nil
}

func (q queueStore) Purge(ctx context.Context, queue string) error {
	s := q.s
	err := s.write(ctx, func(ctx context.Context, ex execer) error {
		_, err := ex.ExecContext(ctx, s.d.q("DELETE FROM q_msg WHERE queue = ?"), queue)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: purge %s: %w", queue, err)
	}
	return nil
}

func (q queueStore) Drop(ctx context.Context, queue string) error {
	s := q.s
	err := s.tx(ctx, func(ctx context.Context, tx execer) error {
		if _, err := tx.ExecContext(ctx, s.d.q("DELETE FROM q_msg WHERE queue = ?"), queue); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.d.q("DELETE FROM q_dedup WHERE queue = ?"), queue)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: drop %s: %w", queue, err)
	}
	return nil
}

func (q queueStore) Expire(ctx context.Context, queue string, sentBefore time.Time) (int64, error) {
	s := q.s
	var n int64
	err := s.write(ctx, func(ctx context.Context, ex execer) error {
		res, err := ex.ExecContext(ctx, s.d.q("DELETE FROM q_msg WHERE queue = ? AND sent_at < ?"), queue, nanos(sentBefore))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: expire %s: %w", queue, err)
	}
	return n, nil
}

func (q queueStore) Stats(ctx context.Context, queue string, now time.Time) (storage.QueueStats, error) {
	s := q.s
	n := nanos(now)
	var st storage.QueueStats
	var oldest int64
	err := s.r.QueryRowContext(ctx, s.d.q(`SELECT
		COALESCE(SUM(CASE WHEN visible_at <= ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN visible_at > ? AND receive_count > 0 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN visible_at > ? AND receive_count = 0 THEN 1 ELSE 0 END), 0),
		COALESCE(MIN(sent_at), 0)
		FROM q_msg WHERE queue = ?`), n, n, n, queue).Scan(&st.Visible, &st.InFlight, &st.Delayed, &oldest)
	if err != nil {
		return storage.QueueStats{}, fmt.Errorf("sqlstore: stats of %s: %w", queue, err)
	}
	st.OldestSentAt = fromNanos(oldest)
	return st, nil
}

// Move moves up to maxN visible messages (none when maxN <= 0), oldest
// Seq first. Moved messages get a new Seq in the destination, are visible
// at once and start again at ReceiveCount 0; ID, body, attributes, group
// and SentAt are kept.
func (q queueStore) Move(ctx context.Context, from, to string, now time.Time, maxN int) (int64, error) {
	s := q.s
	if maxN <= 0 {
		return 0, nil
	}
	var moved int64
	err := s.tx(ctx, func(ctx context.Context, tx execer) error {
		moved = 0
		rows, err := tx.QueryContext(ctx, s.d.q("SELECT seq FROM q_msg WHERE queue = ? AND visible_at <= ? ORDER BY seq LIMIT ?"+s.d.skipLocked()),
			from, nanos(now), maxN)
		if err != nil {
			return fmt.Errorf("select: %w", err)
		}
		var seqs []int64
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return fmt.Errorf("select: %w", err)
			}
			seqs = append(seqs, seq)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("select: %w", err)
		}
		if len(seqs) == 0 {
			return nil
		}
		if err := q.moveRows(ctx, tx, seqs, to, now, false); err != nil {
			return err
		}
		moved = int64(len(seqs))
		return s.pgNotify(ctx, tx, to)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: move %s to %s: %w", from, to, err)
	}
	if moved > 0 {
		s.notify.fire(to)
	}
	return moved, nil
}

// Notify returns a channel closed on the next send to the queue, on this
// node or (PostgreSQL) any node.
func (q queueStore) Notify(queue string) <-chan struct{} { return q.s.notify.wait(queue) }

// newUUID returns a random (version 4) UUID string.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// newNonce returns a fresh random receipt nonce.
func newNonce() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
