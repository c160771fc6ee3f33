package sqs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

// Receive request attempts (FIFO queues only; standard queues ignore
// ReceiveRequestAttemptId, as SQS does). A ReceiveMessage call that carries
// an attempt id and receives messages records them, with the receipt
// handles it returned, under that id for five minutes. A retry with the
// same id within that window receives nothing new: it returns the same
// messages with the same receipt handles and restarts their visibility
// timeout, provided none of them was deleted, received again or had its
// visibility changed since; otherwise the retry fails with SQS's
// "not retryable" error. After the window the id is forgotten and a call
// with it receives anew.
//
// Records live in Meta (namespace sqs.attempts, key
// account/region/queue/token, where token hashes the attempt id), so a
// retry that reaches another node finds them too. Receipt handles of a
// recorded receive carry the token, so that ChangeMessageVisibility through
// one of them marks the record changed.

const (
	nsAttempts    = "sqs.attempts"
	attemptWindow = 5 * time.Minute
	// maxAttemptRecord bounds a stored record; a receive whose messages
	// would not fit is not recorded, and a retry of it receives anew.
	maxAttemptRecord = 1 << 20
)

// attemptRecord is what a receive request attempt received.
type attemptRecord struct {
	At       int64            `json:"at"` // unix ms on the clock
	Messages []attemptMessage `json:"msgs"`
	// Changed: the visibility of one of the messages was changed through
	// a receipt handle of this attempt.
	Changed bool `json:"changed,omitempty"`
}

// attemptMessage is one received message as the attempt returned it.
type attemptMessage struct {
	Handle       string          `json:"h"`
	ID           string          `json:"id"`
	Seq          int64           `json:"seq"`
	Body         string          `json:"b"`
	Attributes   json.RawMessage `json:"a,omitempty"`
	GroupID      string          `json:"g,omitempty"`
	SentAt       int64           `json:"sent"`
	ReceiveCount int             `json:"n"`
	FirstReceive int64           `json:"first,omitempty"`
}

func newAttemptMessage(m storage.Message, handle string) attemptMessage {
	a := attemptMessage{Handle: handle, ID: m.ID, Seq: m.Seq, Body: string(m.Body), GroupID: m.GroupID,
		SentAt: m.SentAt.UnixMilli(), ReceiveCount: m.ReceiveCount}
	if json.Valid(m.Attributes) {
		a.Attributes = m.Attributes
	}
	if !m.FirstReceivedAt.IsZero() {
		a.FirstReceive = m.FirstReceivedAt.UnixMilli()
	}
	return a
}

// message returns the stored message as messageOutput renders it.
func (a attemptMessage) message() storage.Message {
	m := storage.Message{ID: a.ID, Seq: a.Seq, Body: []byte(a.Body), Attributes: a.Attributes, GroupID: a.GroupID,
		SentAt: timeMs(a.SentAt), ReceiveCount: a.ReceiveCount}
	if a.FirstReceive != 0 {
		m.FirstReceivedAt = timeMs(a.FirstReceive)
	}
	return m
}

// attemptToken is the key part (and receipt handle part) of an attempt id.
func attemptToken(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}

func attemptKey(q *queueRecord, token string) string {
	return storage.Key(q.Account, q.Region, q.Name, token)
}

func errAttemptIDInvalid(id string) error {
	return errInvalidValue(id, "ReceiveRequestAttemptId", "ReceiveRequestAttemptId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
}

func errAttemptNotRetryable(id string) error {
	return errInvalidValue(id, "ReceiveRequestAttemptId", "The receiveRequestAttemptId is not valid anymore since the receive call is not retryable.")
}

// receiveAttempt serves a FIFO ReceiveMessage that carries the attempt id
// id: a retry of a recorded attempt replays it, any other call receives and
// records what it received.
func (s *Service) receiveAttempt(ctx context.Context, q *queueRecord, id string, max int, vis, wait time.Duration, sel outputSelection) (any, error) {
	if !validIdentifier(id) {
		return nil, errAttemptIDInvalid(id)
	}
	token := attemptToken(id)
	rec, version, err := s.loadAttempt(ctx, q, token)
	if err != nil {
		return nil, err
	}
	if rec != nil {
		return s.replayAttempt(ctx, q, id, rec, vis, sel)
	}
	msgs, err := s.receive(ctx, q, max, vis, wait)
	if err != nil {
		return nil, err
	}
	var out receiveOutput
	rec = &attemptRecord{At: s.now().UnixMilli()}
	for _, m := range msgs {
		h := s.newReceipt(m, vis, token)
		out.Messages = append(out.Messages, s.messageOutput(q, m, h, sel))
		rec.Messages = append(rec.Messages, newAttemptMessage(m, h))
	}
	if len(msgs) == 0 {
		return out, nil
	}
	saved, err := s.saveAttempt(ctx, q, token, rec, version)
	if err != nil || saved {
		return out, err
	}
	// A concurrent call with the same id recorded its receive first: hand
	// back what this one took and answer as that one did.
	other, _, err := s.loadAttempt(ctx, q, token)
	if err != nil || other == nil {
		return out, err
	}
	for _, m := range msgs {
		err := s.deps.Queues.ChangeVisibility(ctx, q.storageName(), m.Receipt, s.now(), 0)
		if err != nil && !errors.Is(err, storage.ErrInvalidReceipt) && !errors.Is(err, storage.ErrNotInFlight) {
			return nil, fmt.Errorf("sqs: receive message: %w", err)
		}
	}
	return s.replayAttempt(ctx, q, id, other, vis, sel)
}

// loadAttempt returns the live record of an attempt, or nil and the
// version a new record must be written with (storage.MustNotExist, or the
// version of a record whose window has passed).
func (s *Service) loadAttempt(ctx context.Context, q *queueRecord, token string) (*attemptRecord, int64, error) {
	r, err := s.deps.Meta.Get(ctx, nsAttempts, attemptKey(q, token))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, storage.MustNotExist, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("sqs: load receive attempt: %w", err)
	}
	var rec attemptRecord
	if json.Unmarshal(r.Value, &rec) != nil || s.now().Sub(timeMs(rec.At)) >= attemptWindow {
		return nil, r.Version, nil
	}
	return &rec, r.Version, nil
}

// saveAttempt writes rec if the stored version is still version; it
// reports false when another call wrote the attempt first. A record too
// large to store is skipped.
func (s *Service) saveAttempt(ctx context.Context, q *queueRecord, token string, rec *attemptRecord, version int64) (bool, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return false, fmt.Errorf("sqs: encode receive attempt: %w", err)
	}
	if len(b) > maxAttemptRecord {
		s.log.Debug("sqs: receive attempt too large to record", "queue", q.arn(), "bytes", len(b))
		return true, nil
	}
	_, err = s.deps.Meta.Put(ctx, nsAttempts, attemptKey(q, token), b, version)
	if errors.Is(err, storage.ErrConflict) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqs: record receive attempt: %w", err)
	}
	return true, nil
}

// replayAttempt answers a retry of a recorded attempt: the same messages
// and receipt handles, each made invisible for vis from now.
func (s *Service) replayAttempt(ctx context.Context, q *queueRecord, id string, rec *attemptRecord, vis time.Duration, sel outputSelection) (any, error) {
	if rec.Changed {
		return nil, errAttemptNotRetryable(id)
	}
	var out receiveOutput
	for _, a := range rec.Messages {
		r, ok := decodeReceipt(a.Handle)
		if !ok {
			return nil, errAttemptNotRetryable(id)
		}
		err := s.deps.Queues.ChangeVisibility(ctx, q.storageName(), r.raw, s.now(), vis)
		if errors.Is(err, storage.ErrInvalidReceipt) || errors.Is(err, storage.ErrNotInFlight) {
			// Deleted, received again, or visible again since.
			return nil, errAttemptNotRetryable(id)
		}
		if err != nil {
			return nil, fmt.Errorf("sqs: receive message: %w", err)
		}
		out.Messages = append(out.Messages, s.messageOutput(q, a.message(), a.Handle, sel))
	}
	return out, nil
}

// markAttemptChanged records that a message of the attempt with the given
// token had its visibility changed, so that the attempt is no longer
// retryable.
func (s *Service) markAttemptChanged(ctx context.Context, q *queueRecord, token string) error {
	key := attemptKey(q, token)
	for range 10 {
		r, err := s.deps.Meta.Get(ctx, nsAttempts, key)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sqs: change message visibility: %w", err)
		}
		var rec attemptRecord
		if json.Unmarshal(r.Value, &rec) != nil || rec.Changed {
			return nil
		}
		rec.Changed = true
		b, err := json.Marshal(&rec)
		if err != nil {
			return fmt.Errorf("sqs: change message visibility: %w", err)
		}
		_, err = s.deps.Meta.Put(ctx, nsAttempts, key, b, r.Version)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqs: change message visibility: %w", err)
		}
		return nil
	}
	return fmt.Errorf("sqs: change message visibility: receive attempt %s keeps changing", token)
}

// forgetAttempts deletes the attempt records of a queue (prefix is its
// key followed by "/"), or, with prefix "", every record whose window has
// passed.
func (s *Service) forgetAttempts(ctx context.Context, prefix string) error {
	recs, err := s.deps.Meta.List(ctx, nsAttempts, prefix, "", 0)
	if err != nil {
		return fmt.Errorf("sqs: list receive attempts: %w", err)
	}
	now := s.now()
	for _, r := range recs {
		if prefix == "" {
			var rec attemptRecord
			if json.Unmarshal(r.Value, &rec) == nil && now.Sub(timeMs(rec.At)) < attemptWindow {
				continue
			}
		}
		err := s.deps.Meta.Delete(ctx, nsAttempts, r.Key, r.Version)
		if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("sqs: forget receive attempt: %w", err)
		}
	}
	return nil
}
