package natsstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/fogbank/fogbank/internal/storage"
)

// queueStore implements storage.Queues; see the package documentation for
// the record layout and the concurrency argument.
type queueStore struct{ s *Store }

func (s *Store) msgSubject(qt, token string) string { return s.prefix + ".q.m." + qt + "." + token }
func (s *Store) msgFilter(qt string) string         { return s.prefix + ".q.m." + qt + ".>" }
func (s *Store) dedupFilter(qt string) string       { return s.prefix + ".q.d." + qt + ".>" }

func (s *Store) dedupSubject(qt, dedupID string) string {
	h := sha256.Sum256([]byte(dedupID))
	return s.prefix + ".q.d." + qt + "." + hex.EncodeToString(h[:20])
}

// scanQueue returns the current state of every message of a queue, in Seq
// order, reading headers only.
func (s *Store) scanQueue(ctx context.Context, qt string) ([]qrec, error) {
	bySubj := map[string]qrec{}
	err := scan(ctx, s.queueStream, s.msgFilter(qt), 0, true, func(m jetstream.Msg) (bool, error) {
		md, err := m.Metadata()
		if err != nil {
			return false, err
		}
		r, err := decodeRec(m.Subject(), md.Sequence.Stream, m.Headers(), s.messageID)
		if err != nil {
			return false, err
		}
		// Later in stream order is newer: a scan racing with an update may
		// see both versions.
		bySubj[r.subj] = r
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	recs := make([]qrec, 0, len(bySubj))
	for _, r := range bySubj {
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b qrec) int {
		if a.orig < b.orig {
			return -1
		}
		if a.orig > b.orig {
			return 1
		}
		return strings.Compare(a.subj, b.subj)
	})
	return recs, nil
}

// current reads the newest version of a record; ok is false when the
// message no longer exists.
func (s *Store) current(ctx context.Context, subj string) (*jetstream.RawStreamMsg, qrec, bool, error) {
	raw, err := lastMsg(ctx, s.queueStream, subj)
	if err != nil || raw == nil {
		return nil, qrec{}, false, err
	}
	r, err := decodeRec(raw.Subject, raw.Sequence, raw.Header, s.messageID)
	if err != nil {
		return nil, qrec{}, false, err
	}
	return raw, r, true, nil
}

// replace publishes a new version of a record, conditional on raw still
// being the subject's newest message. ok is false when it is not.
func (s *Store) replace(ctx context.Context, raw *jetstream.RawStreamMsg, r qrec) (ok bool, err error) {
	msg := &nats.Msg{Subject: raw.Subject, Header: r.header(), Data: raw.Data}
	_, err = s.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(raw.Sequence))
	if isWrongSeq(err) {
		return false, nil
	}
	return err == nil, err
}

// remove deletes exactly the version seq of subj. ok is false when that
// version is no longer the newest (replaced or deleted concurrently).
func (s *Store) remove(ctx context.Context, subj string, seq uint64) (ok bool, err error) {
	return s.purgeVersion(ctx, s.queueStream, subj, seq)
}

type dedupEntry struct {
	seq     uint64 // stream sequence of the dedup record, 0 if none
	id      string
	msgSeq  int64
	expires int64
}

func (s *Store) readDedup(ctx context.Context, subj string) (dedupEntry, error) {
	raw, err := lastMsg(ctx, s.queueStream, subj)
	if err != nil || raw == nil {
		return dedupEntry{}, err
	}
	d := dedupEntry{seq: raw.Sequence, id: raw.Header.Get(hdrID)}
	d.msgSeq, _ = strconv.ParseInt(raw.Header.Get(hdrSeq), 10, 64)
	d.expires, _ = strconv.ParseInt(raw.Header.Get(hdrExpires), 10, 64)
	return d, nil
}

func (d dedupEntry) live(now int64) bool { return d.seq != 0 && d.id != "" && d.expires > now }

// writeDedup records a dedup entry conditionally on the entry read before
// (expectSeq, 0 for none).
func (s *Store) writeDedup(ctx context.Context, subj string, expectSeq uint64, id string, msgSeq, expires int64) error {
	h := nats.Header{}
	h.Set(hdrID, id)
	h.Set(hdrSeq, strconv.FormatInt(msgSeq, 10))
	h.Set(hdrExpires, strconv.FormatInt(expires, 10))
	_, err := s.js.PublishMsg(ctx, &nats.Msg{Subject: subj, Header: h}, jetstream.WithExpectLastSequencePerSubject(expectSeq))
	return err
}

// forgetDedup overwrites a dedup entry with an expired one. Entries are
// overwritten rather than purged so that the next send's Nats-Msg-Id
// (which includes the entry's sequence) is new; see the package doc.
func (s *Store) forgetDedup(ctx context.Context, subj string) error {
	h := nats.Header{}
	h.Set(hdrExpires, "0")
	_, err := s.js.PublishMsg(ctx, &nats.Msg{Subject: subj, Header: h})
	return err
}

// Send stores each message as its own record. Messages with a DedupID are
// checked against the queue's dedup entries first; see the package doc for
// how concurrent senders of one DedupID agree on a single message.
func (q queueStore) Send(ctx context.Context, queue string, now time.Time, reqs []storage.SendRequest) ([]storage.SendResult, error) {
	s := q.s
	qt := enc(queue)
	results := make([]storage.SendResult, len(reqs))
	type dedupWrite struct {
		idx      int
		subj     string
		expect   uint64
		expires  int64
		ownMsg   string // subject of the record this call stored, "" if deduplicated by the server
		ownSeq   uint64
		resolved bool
	}
	var (
		written []*jetstream.PubAck
		subjs   []string
		dws     []dedupWrite
		dwDone  []string // dedup entries this call wrote
		inBatch = map[string]int{}
		wake    bool // held messages are nobody else's to receive
	)
	rollback := func(cause error) ([]storage.SendResult, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		for i, ack := range written {
			if _, err := s.remove(rctx, subjs[i], ack.Sequence); err != nil {
				s.log.Warn("natsstore: send rollback failed", "queue", queue, "subject", subjs[i], "err", err)
			}
		}
		for _, subj := range dwDone {
			if err := s.forgetDedup(rctx, subj); err != nil {
				s.log.Warn("natsstore: send rollback failed", "queue", queue, "subject", subj, "err", err)
			}
		}
		return nil, fmt.Errorf("natsstore: send to %s: %w", queue, cause)
	}
	for i, r := range reqs {
		var msgID string
		var dw dedupWrite
		if r.DedupID != "" {
			if j, ok := inBatch[r.DedupID]; ok {
				results[i] = storage.SendResult{ID: results[j].ID, Seq: results[j].Seq, Duplicate: true}
				continue
			}
			inBatch[r.DedupID] = i
			dsubj := s.dedupSubject(qt, r.DedupID)
			d, err := s.readDedup(ctx, dsubj)
			if err != nil {
				return rollback(err)
			}
			if d.live(nanos(now)) {
				results[i] = storage.SendResult{ID: d.id, Seq: d.msgSeq, Duplicate: true}
				continue
			}
			// Concurrent senders that saw the same dedup state publish the
			// same Nats-Msg-Id, so the server stores only one message.
			h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d", qt, r.DedupID, d.seq))
			msgID = hex.EncodeToString(h[:])
			dw = dedupWrite{idx: i, subj: dsubj, expect: d.seq, expires: nanos(now.Add(r.DedupWindow))}
		}
		rec := qrec{sent: nanos(now), vis: nanos(now.Add(max(r.Delay, 0))), group: r.GroupID, hasGrp: r.GroupID != ""}
		if r.Hold > 0 {
			// Stored as received by the sender.
			rec.vis, rec.count, rec.first, rec.nonce = nanos(now.Add(r.Hold)), 1, nanos(now), nuid.Next()
		} else {
			wake = true
		}
		h := nats.Header{}
		rec.stateInto(h)
		if msgID != "" {
			h.Set(jetstream.MsgIDHeader, msgID)
		}
		token := nuid.Next()
		subj := s.msgSubject(qt, token)
		ack, err := s.js.PublishMsg(ctx, &nats.Msg{Subject: subj, Header: h, Data: encodePayload(r.Attributes, r.Body)})
		if err != nil {
			return rollback(err)
		}
		results[i] = storage.SendResult{ID: s.messageID(ack.Sequence), Seq: int64(ack.Sequence), Duplicate: ack.Duplicate}
		if !ack.Duplicate {
			written = append(written, ack)
			subjs = append(subjs, subj)
			dw.ownMsg, dw.ownSeq = subj, ack.Sequence
			if rec.nonce != "" {
				results[i].Receipt = receipt{qhash: queueHash(queue), token: token, nonce: rec.nonce}.String()
			}
		}
		if msgID != "" {
			dws = append(dws, dw)
		}
	}
	for _, dw := range dws {
		res := &results[dw.idx]
		expect := dw.expect
		for !dw.resolved {
			err := s.writeDedup(ctx, dw.subj, expect, res.ID, res.Seq, dw.expires)
			if err == nil {
				dwDone = append(dwDone, dw.subj)
				break
			}
			if !isWrongSeq(err) {
				return rollback(err)
			}
			d, err := s.readDedup(ctx, dw.subj)
			if err != nil {
				return rollback(err)
			}
			switch {
			case d.live(nanos(now)) && d.id == res.ID:
				dw.resolved = true // a concurrent sender of this very message wrote it
			case d.live(nanos(now)):
				// Another sender won with a different message: ours is the
				// duplicate and must go.
				if dw.ownMsg != "" {
					if _, err := s.remove(ctx, dw.ownMsg, dw.ownSeq); err != nil {
						return rollback(err)
					}
				}
				*res = storage.SendResult{ID: d.id, Seq: d.msgSeq, Duplicate: true}
				dw.resolved = true
			default:
				expect = d.seq // replaced by an expired entry: try again
			}
		}
	}
	if len(written) > 0 && wake {
		s.wake(queue, true)
	}
	return results, nil
}

// claimResult tells what claim did with a candidate message.
type claimResult int

const (
	claimSkipped  claimResult = iota // not available (any more); nothing changed
	claimReceived                    // received: msg is valid
	claimRedriven                    // moved to the dead-letter queue
)

// claim receives one candidate: it re-reads the record and, if still
// visible, publishes the received version conditionally on the version it
// read. Two receivers can therefore never both succeed for one version.
func (s *Store) claim(ctx context.Context, queue, subj string, now time.Time, opts storage.ReceiveOptions) (storage.Message, claimResult, error) {
	raw, r, ok, err := s.current(ctx, subj)
	if err != nil || !ok || r.vis > nanos(now) {
		return storage.Message{}, claimSkipped, err
	}
	if opts.DeadLetter != "" && opts.MaxReceives > 0 && r.count >= opts.MaxReceives {
		moved, err := s.moveRecord(ctx, raw, r, opts.DeadLetter, now, true)
		if err != nil || !moved {
			return storage.Message{}, claimSkipped, err
		}
		return storage.Message{}, claimRedriven, nil
	}
	attrs, body, err := decodePayload(raw.Data)
	if err != nil {
		return storage.Message{}, claimSkipped, fmt.Errorf("%w (%s)", err, subj)
	}
	r.count++
	if r.first == 0 {
		r.first = nanos(now)
	}
	r.vis = nanos(now.Add(max(opts.Visibility, 0)))
	r.nonce = nuid.Next()
	ok, err = s.replace(ctx, raw, r)
	if err != nil || !ok {
		return storage.Message{}, claimSkipped, err
	}
	return storage.Message{
		ID:              r.id,
		Seq:             int64(r.orig),
		Body:            body,
		Attributes:      attrs,
		GroupID:         r.group,
		SentAt:          fromNanos(r.sent),
		VisibleAt:       fromNanos(r.vis),
		ReceiveCount:    r.count,
		FirstReceivedAt: fromNanos(r.first),
		Receipt:         receipt{qhash: queueHash(queue), token: r.token, nonce: r.nonce}.String(),
	}, claimReceived, nil
}

// moveRecord copies a record to another queue (same ID, body, attributes,
// SentAt and group; visible now) and then deletes exactly the source
// version it copied. A redrive (dead-lettering) keeps the receive count and
// first-receive time, as SQS counts receives across queues; other moves
// start the message as never received. If the source changed meanwhile the
// copy is withdrawn and moved is false.
func (s *Store) moveRecord(ctx context.Context, raw *jetstream.RawStreamMsg, r qrec, to string, now time.Time, redrive bool) (moved bool, err error) {
	dst := qrec{id: r.id, sent: r.sent, vis: nanos(now), group: r.group, hasGrp: r.hasGrp}
	if redrive {
		dst.count, dst.first = r.count, r.first
	}
	h := nats.Header{}
	h.Set(hdrID, dst.id)
	dst.stateInto(h)
	dsubj := s.msgSubject(enc(to), r.token)
	ack, err := s.js.PublishMsg(ctx, &nats.Msg{Subject: dsubj, Header: h, Data: raw.Data}, jetstream.WithExpectLastSequencePerSubject(0))
	if err != nil && !isWrongSeq(err) {
		return false, err
	}
	// A wrong-sequence answer means an earlier, interrupted move of this
	// very message already stored the copy: finish that move.
	ok, err := s.remove(ctx, raw.Subject, raw.Sequence)
	if err != nil {
		return false, err
	}
	if !ok {
		if ack != nil {
			if _, err := s.remove(ctx, dsubj, ack.Sequence); err != nil {
				return false, err
			}
		}
		return false, nil
	}
	s.wake(to, true)
	return true, nil
}

// Receive claims visible records. Standard queues claim while scanning, in
// stream order (untouched messages first, oldest first), and stop at
// opts.Max; FIFO reads every record first to see which groups are in flight
// and then claims per group in Seq order, skipping those groups.
func (q queueStore) Receive(ctx context.Context, queue string, now time.Time, opts storage.ReceiveOptions) ([]storage.Message, error) {
	s := q.s
	if opts.Max <= 0 {
		return nil, nil
	}
	nowN := nanos(now)
	var out []storage.Message
	if !opts.FIFO {
		tried := map[string]bool{}
		err := scan(ctx, s.queueStream, s.msgFilter(enc(queue)), 0, true, func(m jetstream.Msg) (bool, error) {
			md, err := m.Metadata()
			if err != nil {
				return false, err
			}
			r, err := decodeRec(m.Subject(), md.Sequence.Stream, m.Headers(), s.messageID)
			if err != nil {
				return false, err
			}
			if r.vis > nowN || tried[r.subj] {
				return true, nil
			}
			tried[r.subj] = true
			msg, res, err := s.claim(ctx, queue, r.subj, now, opts)
			if err != nil {
				return false, err
			}
			if res == claimReceived {
				out = append(out, msg)
			}
			return len(out) < opts.Max, nil
		})
		if err != nil {
			return out, fmt.Errorf("natsstore: receive from %s: %w", queue, err)
		}
		return out, nil
	}
	recs, err := s.scanQueue(ctx, enc(queue))
	if err != nil {
		return nil, fmt.Errorf("natsstore: receive from %s: %w", queue, err)
	}
	groups := map[string][]qrec{}
	var order []string
	for _, r := range recs {
		if _, ok := groups[r.group]; !ok {
			order = append(order, r.group)
		}
		groups[r.group] = append(groups[r.group], r)
	}
	for _, g := range order {
		if len(out) >= opts.Max {
			break
		}
		msgs := groups[g]
		if slices.ContainsFunc(msgs, func(r qrec) bool { return r.inFlight(nowN) }) {
			continue
		}
	group:
		for _, r := range msgs {
			if len(out) >= opts.Max || r.vis > nowN {
				break
			}
			m, res, err := s.claim(ctx, queue, r.subj, now, opts)
			if err != nil {
				return out, fmt.Errorf("natsstore: receive from %s: %w", queue, err)
			}
			switch res {
			case claimReceived:
				out = append(out, m)
			case claimRedriven:
			default:
				// Someone else changed this group meanwhile: leave it.
				break group
			}
		}
	}
	return out, nil
}

// lookup resolves a receipt to its record's current version.
func (s *Store) lookup(ctx context.Context, queue, handle string) (*jetstream.RawStreamMsg, qrec, receipt, error) {
	rc, ok := parseReceipt(handle)
	if !ok || rc.qhash != queueHash(queue) {
		return nil, qrec{}, rc, storage.ErrInvalidReceipt
	}
	raw, r, ok, err := s.current(ctx, s.msgSubject(enc(queue), rc.token))
	if err != nil {
		return nil, qrec{}, rc, err
	}
	if !ok {
		return nil, qrec{}, rc, storage.ErrInvalidReceipt
	}
	return raw, r, rc, nil
}

// ChangeVisibility sets the visible time of the message a current receipt
// names.
func (q queueStore) ChangeVisibility(ctx context.Context, queue, handle string, now time.Time, v time.Duration) error {
	s := q.s
	for {
		raw, r, rc, err := s.lookup(ctx, queue, handle)
		if err != nil {
			if errors.Is(err, storage.ErrInvalidReceipt) {
				return err
			}
			return fmt.Errorf("natsstore: change visibility in %s: %w", queue, err)
		}
		if r.nonce != rc.nonce {
			return storage.ErrInvalidReceipt
		}
		if r.vis <= nanos(now) {
			return storage.ErrNotInFlight
		}
		r.vis = nanos(now.Add(max(v, 0)))
		ok, err := s.replace(ctx, raw, r)
		if err != nil {
			return fmt.Errorf("natsstore: change visibility in %s: %w", queue, err)
		}
		if ok {
			if v <= 0 {
				s.wake(queue, true)
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// Delete removes the message a current receipt names; a superseded receipt
// of a message still present does nothing.
func (q queueStore) Delete(ctx context.Context, queue, handle string) error {
	s := q.s
	for {
		raw, r, rc, err := s.lookup(ctx, queue, handle)
		if err != nil {
			if errors.Is(err, storage.ErrInvalidReceipt) {
				return err
			}
			return fmt.Errorf("natsstore: delete from %s: %w", queue, err)
		}
		if r.nonce != rc.nonce {
			return nil
		}
		ok, err := s.remove(ctx, raw.Subject, raw.Sequence)
		if err != nil {
			return fmt.Errorf("natsstore: delete from %s: %w", queue, err)
		}
		if ok {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// deleteBatchWorkers bounds the deletions DeleteBatch runs at once.
const deleteBatchWorkers = 8

// DeleteBatch deletes each message as Delete does (JetStream has no
// multi-subject conditional purge): receipts of different messages
// concurrently, receipts of one message in their order.
func (q queueStore) DeleteBatch(ctx context.Context, queue string, receipts []string) ([]error, error) {
	out := make([]error, len(receipts))
	// Receipts of one message (same record token) form one job.
	var jobs [][]int
	byToken := map[string]int{}
	for i, h := range receipts {
		rc, ok := parseReceipt(h)
		if !ok {
			out[i] = storage.ErrInvalidReceipt
			continue
		}
		j, ok := byToken[rc.token]
		if !ok {
			j = len(jobs)
			byToken[rc.token] = j
			jobs = append(jobs, nil)
		}
		jobs[j] = append(jobs[j], i)
	}
	var (
		mu    sync.Mutex
		first error
		next  atomic.Int64
		wg    sync.WaitGroup
	)
	for range min(deleteBatchWorkers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j := int(next.Add(1)) - 1
				if j >= len(jobs) {
					return
				}
				for _, i := range jobs[j] {
					err := q.Delete(ctx, queue, receipts[i])
					if err != nil && !errors.Is(err, storage.ErrInvalidReceipt) {
						mu.Lock()
						if first == nil {
							first = err
						}
						mu.Unlock()
						return
					}
					out[i] = err
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, fmt.Errorf("natsstore: delete batch from %s: %w", queue, first)
	}
	return out, nil
}

// Purge removes every message of the queue; its dedup entries stay.
func (q queueStore) Purge(ctx context.Context, queue string) error {
	if err := q.s.queueStream.Purge(ctx, jetstream.WithPurgeSubject(q.s.msgFilter(enc(queue)))); err != nil {
		return fmt.Errorf("natsstore: purge %s: %w", queue, err)
	}
	return nil
}

// Drop removes the queue's messages and forgets its dedup entries.
func (q queueStore) Drop(ctx context.Context, queue string) error {
	if err := q.s.dropQueue(ctx, enc(queue)); err != nil {
		return fmt.Errorf("natsstore: drop %s: %w", queue, err)
	}
	return nil
}

func (s *Store) dropQueue(ctx context.Context, qt string) error {
	if err := s.queueStream.Purge(ctx, jetstream.WithPurgeSubject(s.msgFilter(qt))); err != nil {
		return err
	}
	_, err := s.sweepDedup(ctx, qt, 0, true)
	return err
}

// defaultDedupQuiet is how long after its last write a dedup entry may be
// purged outright: by then the server has forgotten every Nats-Msg-Id
// derived from it (the stream's Duplicates window is 2 minutes; the rest
// is margin for clock skew between this node and the server).
const defaultDedupQuiet = 5 * time.Minute

// sweepDedup removes a queue's dedup entries that no send can need:
// entries whose window ended by expiredBefore (caller's clock) and that
// were last written more than s.dedupQuiet ago (server clock). With forget
// set (Drop, Reset) every entry goes: old ones are purged, recent ones
// overwritten with an expired entry (see forgetDedup).
func (s *Store) sweepDedup(ctx context.Context, qt string, expiredBefore int64, forget bool) (int, error) {
	type entry struct {
		subj    string
		seq     uint64
		quiet   bool
		expires int64
	}
	var entries []entry
	err := scan(ctx, s.queueStream, s.dedupFilter(qt), 0, true, func(m jetstream.Msg) (bool, error) {
		md, err := m.Metadata()
		if err != nil {
			return false, err
		}
		exp, _ := strconv.ParseInt(m.Headers().Get(hdrExpires), 10, 64)
		entries = append(entries, entry{m.Subject(), md.Sequence.Stream, time.Since(md.Timestamp) > s.dedupQuiet, exp})
		return true, nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		switch {
		case e.quiet && (forget || e.expires <= expiredBefore):
			ok, err := s.purgeVersion(ctx, s.queueStream, e.subj, e.seq)
			if err != nil {
				return n, err
			}
			if ok {
				n++
			}
		case forget && e.expires != 0:
			if err := s.forgetDedup(ctx, e.subj); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// Expire removes messages sent before sentBefore, in flight or not. It also
// sweeps dedup entries whose window ended before sentBefore (see
// sweepDedup); they are not counted.
func (q queueStore) Expire(ctx context.Context, queue string, sentBefore time.Time) (int64, error) {
	s := q.s
	if _, err := s.sweepDedup(ctx, enc(queue), nanos(sentBefore), false); err != nil {
		return 0, fmt.Errorf("natsstore: expire %s: sweep dedup entries: %w", queue, err)
	}
	recs, err := s.scanQueue(ctx, enc(queue))
	if err != nil {
		return 0, fmt.Errorf("natsstore: expire %s: %w", queue, err)
	}
	var n int64
	for _, r := range recs {
		if r.sent >= nanos(sentBefore) {
			continue
		}
		// SentAt never changes, so any current version may go.
		for seq := r.seq; ; {
			ok, err := s.remove(ctx, r.subj, seq)
			if err != nil {
				return n, fmt.Errorf("natsstore: expire %s: %w", queue, err)
			}
			if ok {
				n++
				break
			}
			raw, err := lastMsg(ctx, s.queueStream, r.subj)
			if err != nil {
				return n, fmt.Errorf("natsstore: expire %s: %w", queue, err)
			}
			if raw == nil {
				break
			}
			seq = raw.Sequence
		}
	}
	return n, nil
}

// Stats counts the queue's records by state as of now.
func (q queueStore) Stats(ctx context.Context, queue string, now time.Time) (storage.QueueStats, error) {
	recs, err := q.s.scanQueue(ctx, enc(queue))
	if err != nil {
		return storage.QueueStats{}, fmt.Errorf("natsstore: stats %s: %w", queue, err)
	}
	var st storage.QueueStats
	nowN := nanos(now)
	var oldest int64
	for _, r := range recs {
		switch {
		case r.vis <= nowN:
			st.Visible++
		case r.count > 0:
			st.InFlight++
		default:
			st.Delayed++
		}
		if oldest == 0 || r.sent < oldest {
			oldest = r.sent
		}
	}
	st.OldestSentAt = fromNanos(oldest)
	return st, nil
}

// Move moves up to max visible messages, oldest first, keeping ID, body,
// attributes, SentAt and group. Each message moves on its own.
func (q queueStore) Move(ctx context.Context, from, to string, now time.Time, maxN int) (int64, error) {
	s := q.s
	if maxN <= 0 {
		return 0, nil
	}
	recs, err := s.scanQueue(ctx, enc(from))
	if err != nil {
		return 0, fmt.Errorf("natsstore: move %s to %s: %w", from, to, err)
	}
	var n int64
	for _, r := range recs {
		if n >= int64(maxN) {
			break
		}
		if r.vis > nanos(now) {
			continue
		}
		raw, cur, ok, err := s.current(ctx, r.subj)
		if err != nil {
			return n, fmt.Errorf("natsstore: move %s to %s: %w", from, to, err)
		}
		if !ok || cur.vis > nanos(now) {
			continue
		}
		moved, err := s.moveRecord(ctx, raw, cur, to, now, false)
		if err != nil {
			return n, fmt.Errorf("natsstore: move %s to %s: %w", from, to, err)
		}
		if moved {
			n++
		}
	}
	return n, nil
}

// Notify returns a channel closed at the next send to (or ChangeVisibility
// to zero in, or move into) the queue, on any node sharing the prefix.
func (q queueStore) Notify(queue string) <-chan struct{} {
	s := q.s
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	ch, ok := s.waiters[queue]
	if !ok {
		ch = make(chan struct{})
		s.waiters[queue] = ch
	}
	return ch
}

// wake closes the queue's Notify channel on this node and, when publish is
// set, tells the other nodes.
func (s *Store) wake(queue string, publish bool) {
	s.notifyMu.Lock()
	if ch, ok := s.waiters[queue]; ok {
		close(ch)
		delete(s.waiters, queue)
	}
	s.notifyMu.Unlock()
	if publish {
		if err := s.nc.Publish(s.prefix+".n."+enc(queue), nil); err != nil {
			s.log.Debug("natsstore: notify publish failed", "queue", queue, "err", err)
		}
	}
}

func (s *Store) onNotify(m *nats.Msg) {
	tok := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
	queue, err := dec(tok)
	if err != nil {
		return
	}
	s.wake(queue, false)
}

// resetQueues drops every queue whose name matches.
func (s *Store) resetQueues(ctx context.Context, match func(string) bool) error {
	subjs, err := subjects(ctx, s.queueStream, s.prefix+".q.>")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, subj := range subjs {
		// <prefix>.q.<m|d>.<queue token>.<rest>
		toks := strings.Split(strings.TrimPrefix(subj, s.prefix+".q."), ".")
		if len(toks) < 3 || seen[toks[1]] {
			continue
		}
		seen[toks[1]] = true
		name, err := dec(toks[1])
		if err != nil || !match(name) {
			continue
		}
		if err := s.dropQueue(ctx, toks[1]); err != nil {
			return err
		}
	}
	return nil
}
