package sqs

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/storage"
)

// storedAttrs is what Fogbank keeps in storage.Message.Attributes: the
// user attributes and the system values SQS reports on receive.
type storedAttrs struct {
	User   map[string]MessageAttributeValue `json:"u,omitempty"`
	Trace  string                           `json:"t,omitempty"`
	Sender string                           `json:"s,omitempty"`
	// Source is the ARN of the queue the message was sent to; a message
	// that a redrive moved elsewhere reports it as DeadLetterQueueSourceArn.
	Source string `json:"q,omitempty"`
	// Dedup is the MessageDeduplicationId as the client gave it (the
	// storage dedup key may be scoped to the message group).
	Dedup string `json:"d,omitempty"`
}

// prepared is a validated message ready for storage.
type prepared struct {
	req     storage.SendRequest
	md5Body string
	md5Attr string
	md5Sys  string
	size    int
}

// prepare validates one message for queue q. A returned error applies to
// the whole request; entryErr (batches only) fails just this entry.
func (s *Service) prepare(sender string, q *queueRecord, e *sendEntry, batch bool) (p prepared, entryErr *protocol.Error, err error) {
	fail := func(pe *protocol.Error) (prepared, *protocol.Error, error) {
		if batch {
			return prepared{}, pe, nil
		}
		return prepared{}, nil, pe
	}
	if e.MessageBody == nil || *e.MessageBody == "" {
		return fail(errMissingParameter("MessageBody"))
	}
	body := *e.MessageBody
	delay := q.seconds(attrDelay)
	if e.DelaySeconds.Set {
		d := e.DelaySeconds
		if d.Bad || d.V < 0 || d.V > maxDelay {
			return fail(errInvalidValue(d.Raw, "DelaySeconds", "DelaySeconds must be >= 0 and <= 900."))
		}
		if q.FIFO && d.V != 0 {
			return prepared{}, nil, errInvalidValue(d.Raw, "DelaySeconds", "The request include parameter that is not valid for this queue type.")
		}
		if !q.FIFO {
			delay = time.Duration(d.V) * time.Second
		}
	}
	st := storedAttrs{Sender: sender, Source: q.arn()}
	if q.FIFO {
		if e.MessageGroupId == nil {
			if batch {
				return prepared{}, nil, errInvalidParameter("The request must contain the parameter MessageGroupId.")
			}
			return prepared{}, nil, errMissingParameter("MessageGroupId")
		}
	}
	if e.MessageGroupId != nil && !validIdentifier(*e.MessageGroupId) {
		return prepared{}, nil, errInvalidValue(*e.MessageGroupId, "MessageGroupId", "MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
	}
	if e.MessageDeduplicationId != nil {
		if !validIdentifier(*e.MessageDeduplicationId) {
			return prepared{}, nil, errInvalidValue(*e.MessageDeduplicationId, "MessageDeduplicationId", "MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
		}
		if !q.FIFO {
			return prepared{}, nil, errInvalidValue(*e.MessageDeduplicationId, "MessageDeduplicationId", "The request include parameter that is not valid for this queue type.")
		}
	}
	if q.FIFO {
		dedup := deref(e.MessageDeduplicationId)
		if dedup == "" {
			if q.Attrs[attrContentDedup] != "true" {
				return prepared{}, nil, errInvalidParameter("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
			}
			sum := sha256.Sum256([]byte(body))
			dedup = hex.EncodeToString(sum[:])
		}
		st.Dedup = dedup
		p.req.DedupID = dedup
		if q.Attrs[attrDedupScope] == dedupScopeMessageGroup {
			p.req.DedupID = *e.MessageGroupId + " " + dedup // ids never contain spaces
		}
		p.req.DedupWindow = dedupWindow
	}
	p.req.GroupID = deref(e.MessageGroupId)
	if err := validateMessageAttributes(e.MessageAttributes); err != nil {
		return fail(err)
	}
	if err := validateSystemAttributes(e.MessageSystemAttributes); err != nil {
		return fail(err)
	}
	if !validBodyChars(body) {
		return fail(errInvalidMessageContents())
	}
	p.size = len(body) + attributesSize(e.MessageAttributes)
	if limit := q.intAttr(attrMaxSize); int64(p.size) > limit {
		if batch {
			return fail(errInvalidParameter("One or more parameters cannot be validated. Reason: Message must be shorter than %d bytes.", limit))
		}
		return fail(errInvalidParameter("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", limit))
	}
	if len(e.MessageAttributes) > 0 {
		st.User = e.MessageAttributes
	}
	if t, ok := e.MessageSystemAttributes["AWSTraceHeader"]; ok {
		st.Trace = t.StringValue
	}
	blob, jerr := json.Marshal(st)
	if jerr != nil {
		return prepared{}, nil, fmt.Errorf("sqs: encode attributes: %w", jerr)
	}
	p.req.Body = []byte(body)
	p.req.Attributes = blob
	p.req.Delay = delay
	p.md5Body = md5Hex(p.req.Body)
	p.md5Attr = md5OfAttributes(e.MessageAttributes)
	p.md5Sys = md5OfAttributes(e.MessageSystemAttributes)
	return p, nil, nil
}

// senderID is the SenderId SQS reports for the caller.
func senderID(rc *reqCtx) string {
	if id := rc.call.Identity.PrincipalID; id != "" {
		return id
	}
	return rc.call.Account
}

// sequenceNumber renders a storage sequence as SQS's 20-digit string.
func sequenceNumber(seq int64) string { return fmt.Sprintf("1%019d", seq) }

func (s *Service) sendMessage(ctx context.Context, rc *reqCtx) (any, error) {
	var in sendMessageInput
	q, err := s.decodeQueue(ctx, rc, &in)
	if err != nil {
		return nil, err
	}
	p, _, err := s.prepare(senderID(rc), q, &in.sendEntry, false)
	if err != nil {
		return nil, err
	}
	res, err := s.deps.Queues.Send(ctx, q.storageName(), s.now(), []storage.SendRequest{p.req})
	if err != nil {
		return nil, fmt.Errorf("sqs: send message: %w", err)
	}
	s.metrics.sent(q, 1, p.size)
	out := sendMessageOutput{MD5OfMessageBody: p.md5Body, MD5OfMessageAttributes: p.md5Attr,
		MD5OfMessageSystemAttributes: p.md5Sys, MessageID: res[0].ID}
	if q.FIFO {
		out.SequenceNumber = sequenceNumber(res[0].Seq)
	}
	rc.call.ResponseElements = map[string]any{"mD5OfMessageBody": out.MD5OfMessageBody, "messageId": out.MessageID}
	return out, nil
}

// checkBatch validates the entry ids of a batch request.
func checkBatch(ids []*string, entryName string) error {
	if len(ids) == 0 {
		return errEmptyBatch(entryName)
	}
	if len(ids) > maxBatchEntries {
		return errTooManyEntries(len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if id == nil {
			return errMissingParameter(entryName + ".Id")
		}
		if !validBatchID(*id) {
			return errInvalidBatchEntryID()
		}
		if seen[*id] {
			return errBatchIDsNotDistinct(*id)
		}
		seen[*id] = true
	}
	return nil
}

func batchError(id string, e *protocol.Error) batchErrorEntry {
	return batchErrorEntry{ID: id, SenderFault: e.FaultType() == "Sender", Code: e.WireQueryCode(), Message: e.Message}
}

func (s *Service) sendMessageBatch(ctx context.Context, rc *reqCtx) (any, error) {
	var in sendMessageBatchInput
	if err := rc.decode(&in); err != nil {
		return nil, err
	}
	ids := make([]*string, len(in.Entries))
	for i := range in.Entries {
		ids[i] = in.Entries[i].Id
	}
	if err := checkBatch(ids, "SendMessageBatchRequestEntry"); err != nil {
		return nil, err
	}
	q, err := s.resolveQueue(ctx, rc, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	var out sendBatchOutput
	var reqs []storage.SendRequest
	var preps []prepared
	var pids []string
	total, size := 0, 0
	sender := senderID(rc)
	for i := range in.Entries {
		e := &in.Entries[i]
		total += len(deref(e.MessageBody)) + attributesSize(e.MessageAttributes)
		p, entryErr, err := s.prepare(sender, q, e, true)
		if err != nil {
			return nil, err
		}
		if entryErr != nil {
			out.Failed = append(out.Failed, batchError(*e.Id, entryErr))
			continue
		}
		reqs = append(reqs, p.req)
		preps = append(preps, p)
		pids = append(pids, *e.Id)
		size += p.size
	}
	if total > maxBatchBytes {
		return nil, errBatchTooLong(total)
	}
	if len(reqs) > 0 {
		res, err := s.deps.Queues.Send(ctx, q.storageName(), s.now(), reqs)
		if err != nil {
			return nil, fmt.Errorf("sqs: send message batch: %w", err)
		}
		s.metrics.sent(q, len(reqs), size)
		for i, r := range res {
			e := sendBatchResultEntry{ID: pids[i], MessageID: r.ID, MD5OfMessageBody: preps[i].md5Body,
				MD5OfMessageAttributes: preps[i].md5Attr, MD5OfMessageSystemAttributes: preps[i].md5Sys}
			if q.FIFO {
				e.SequenceNumber = sequenceNumber(r.Seq)
			}
			out.Successful = append(out.Successful, e)
		}
	}
	return out, nil
}

// receipt is what a receipt handle carries: the storage receipt, the end of
// the visibility timeout the receive set (FIFO queues refuse to delete
// through a handle whose timeout has passed), when the message was received
// (zero for handles issued before it was recorded, format "fb1") and, for a
// receive with a ReceiveRequestAttemptId, the token of that attempt
// (format "fb3"; see attempts.go).
type receipt struct {
	raw      string
	until    time.Time
	received time.Time
	attempt  string
}

// encode renders r as a receipt handle.
func (r receipt) encode() string {
	until, received := strconv.FormatInt(r.until.UnixMilli(), 10), strconv.FormatInt(r.received.UnixMilli(), 10)
	s := "fb2 " + until + " " + received + " " + r.raw
	if r.attempt != "" {
		s = "fb3 " + until + " " + received + " " + r.attempt + " " + r.raw
	}
	return base64.StdEncoding.EncodeToString([]byte(s))
}

// decodeReceipt reads a receipt handle.
func decodeReceipt(h string) (receipt, bool) {
	b, err := base64.StdEncoding.DecodeString(h)
	if err != nil {
		return receipt{}, false
	}
	s := string(b)
	var n int
	switch {
	case strings.HasPrefix(s, "fb1 "):
		n = 3
	case strings.HasPrefix(s, "fb2 "):
		n = 4
	case strings.HasPrefix(s, "fb3 "):
		n = 5
	default:
		return receipt{}, false
	}
	parts := strings.SplitN(s, " ", n)
	if len(parts) != n || parts[n-1] == "" {
		return receipt{}, false
	}
	var r receipt
	ms, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return receipt{}, false
	}
	r.until = timeMs(ms)
	if n >= 4 {
		rms, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil {
			return receipt{}, false
		}
		r.received = timeMs(rms)
	}
	if n == 5 {
		if parts[3] == "" {
			return receipt{}, false
		}
		r.attempt = parts[3]
	}
	r.raw = parts[n-1]
	return r, true
}

func timeMs(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// systemAttrNames are the message system attributes ReceiveMessage reports.
var systemAttrNames = []string{"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp",
	"SequenceNumber", "MessageDeduplicationId", "MessageGroupId", "AWSTraceHeader", "DeadLetterQueueSourceArn"}

// receiveOptions validates the receive parameters against q's defaults.
func receiveOptions(q *queueRecord, in *receiveMessageInput) (max int, vis, wait time.Duration, err error) {
	max = 1
	if p := in.MaxNumberOfMessages; p.Set {
		if p.Bad || p.V < 1 || p.V > maxBatchEntries {
			return 0, 0, 0, errInvalidValue(p.Raw, "MaxNumberOfMessages", "Must be between 1 and 10, if provided.")
		}
		max = int(p.V)
	}
	wait = q.seconds(attrWait)
	if p := in.WaitTimeSeconds; p.Set {
		if p.Bad || p.V < 0 || p.V > maxWait {
			return 0, 0, 0, errInvalidValue(p.Raw, "WaitTimeSeconds", "Must be >= 0 and <= 20, if provided.")
		}
		wait = time.Duration(p.V) * time.Second
	}
	vis = q.seconds(attrVisibility)
	if p := in.VisibilityTimeout; p.Set {
		if p.Bad || p.V < 0 || p.V > maxVisibility {
			return 0, 0, 0, errInvalidValue(p.Raw, "VisibilityTimeout", "Must be >= 0 and <= 43200, if provided.")
		}
		vis = time.Duration(p.V) * time.Second
	}
	for _, n := range append(slices.Clone(in.AttributeNames), in.MessageSystemAttributeNames...) {
		if n != attrAll && !slices.Contains(systemAttrNames, n) && !knownQueueAttr(n) {
			return 0, 0, 0, errUnknownAttribute(n)
		}
	}
	return max, vis, wait, nil
}

func (s *Service) receiveMessage(ctx context.Context, rc *reqCtx) (any, error) {
	var in receiveMessageInput
	q, err := s.decodeQueue(ctx, rc, &in)
	if err != nil {
		return nil, err
	}
	max, vis, wait, err := receiveOptions(q, &in)
	if err != nil {
		return nil, err
	}
	sel := outputSelection{sys: append(slices.Clone(in.AttributeNames), in.MessageSystemAttributeNames...), user: in.MessageAttributeNames}
	// Standard queues ignore ReceiveRequestAttemptId.
	if q.FIFO && in.ReceiveRequestAttemptId != nil {
		return s.receiveAttempt(ctx, q, *in.ReceiveRequestAttemptId, max, vis, wait, sel)
	}
	msgs, err := s.receive(ctx, q, max, vis, wait)
	if err != nil {
		return nil, err
	}
	var out receiveOutput
	for _, m := range msgs {
		out.Messages = append(out.Messages, s.messageOutput(q, m, s.newReceipt(m, vis, ""), sel))
	}
	return out, nil
}

// receive receives up to max messages, long polling for up to wait: it
// returns as soon as a receive finds messages. A long poll registers with
// s.polls before its first receive and is woken directly by the commit of a
// send to the queue (one waiting poll per notification, see pollSet); it
// also re-checks at least every pollInterval of clock time for messages
// whose delay or visibility timeout ended.
func (s *Service) receive(ctx context.Context, q *queueRecord, max int, vis, wait time.Duration) ([]storage.Message, error) {
	opts := storage.ReceiveOptions{Max: max, Visibility: vis, FIFO: q.FIFO}
	if arn, n, ok := q.redrive(); ok {
		if dlq, err := s.loadQueueARN(ctx, arn); err == nil {
			opts.MaxReceives, opts.DeadLetter = n, dlq.storageName()
		}
	}
	name := q.storageName()
	deadline := s.now().Add(wait)
	var w *pollWaiter
	if wait > 0 {
		w = s.polls.join(name)
	}
	received := false
	defer func() {
		if w != nil {
			w.leave(received)
		}
	}()
	// A poll woken by a send receives at once: the retention sweep may then
	// be up to one pollInterval staler than usual rather than add a second
	// write transaction between the send and the response.
	within := expireEvery
	for {
		now := s.now()
		s.maybeExpire(ctx, q, now, within)
		msgs, err := s.deps.Queues.Receive(ctx, name, now, opts)
		if err != nil {
			return nil, fmt.Errorf("sqs: receive message: %w", err)
		}
		if len(msgs) > 0 {
			received = true
			s.metrics.received(q, len(msgs))
			return msgs, nil
		}
		remaining := deadline.Sub(s.now())
		if remaining <= 0 || w == nil {
			s.metrics.emptyReceive(q)
			return nil, nil
		}
		wctx, cancel := context.WithCancel(ctx)
		select {
		case <-w.wake:
			within = expireEvery + pollInterval
		case <-s.deps.Clock.After(wctx, min(remaining, pollInterval)):
			within = expireEvery
		case <-ctx.Done():
			cancel()
			return nil, nil
		}
		cancel()
	}
}

// pollInterval bounds how long a long poll sleeps between receives when no
// send wakes it (messages becoming visible again, other nodes' sends).
const pollInterval = time.Second

// outputSelection is the system (sys) and user (user) message attributes
// a receive asked for.
type outputSelection struct{ sys, user []string }

// newReceipt returns the receipt handle of a message just received with
// visibility timeout vis, by the receive request attempt with the given
// token ("" for none).
func (s *Service) newReceipt(m storage.Message, vis time.Duration, attempt string) string {
	now := s.now()
	until := m.VisibleAt
	if until.IsZero() {
		until = now.Add(vis)
	}
	return receipt{raw: m.Receipt, until: until, received: now, attempt: attempt}.encode()
}

// messageOutput renders a received message with its receipt handle and
// the selected system and user attributes.
func (s *Service) messageOutput(q *queueRecord, m storage.Message, handle string, sel outputSelection) messageOutput {
	var st storedAttrs
	_ = json.Unmarshal(m.Attributes, &st)
	out := messageOutput{
		MessageID:     m.ID,
		ReceiptHandle: handle,
		MD5OfBody:     md5Hex(m.Body),
		Body:          string(m.Body),
	}
	want := selects(sel.sys)
	attrs := map[string]string{}
	set := func(n, v string) {
		if v != "" && want(n) {
			attrs[n] = v
		}
	}
	set("SenderId", st.Sender)
	set("SentTimestamp", strconv.FormatInt(m.SentAt.UnixMilli(), 10))
	set("ApproximateReceiveCount", strconv.Itoa(m.ReceiveCount))
	if !m.FirstReceivedAt.IsZero() {
		set("ApproximateFirstReceiveTimestamp", strconv.FormatInt(m.FirstReceivedAt.UnixMilli(), 10))
	}
	set("MessageGroupId", m.GroupID)
	movedIn := st.Source != "" && st.Source != q.arn() // dead-lettered here
	if q.FIFO {
		if movedIn {
			// SQS gives a message moved to a FIFO dead-letter queue its
			// message id as deduplication id.
			set("MessageDeduplicationId", m.ID)
		} else {
			set("MessageDeduplicationId", st.Dedup)
		}
		set("SequenceNumber", sequenceNumber(m.Seq))
	}
	set("AWSTraceHeader", st.Trace)
	if movedIn {
		set("DeadLetterQueueSourceArn", st.Source)
	}
	if len(attrs) > 0 {
		out.Attributes = attrs
	}
	if len(st.User) > 0 && len(sel.user) > 0 {
		picked := msgAttrMap{}
		for n, a := range st.User {
			if attrNameMatches(n, sel.user) {
				picked[n] = a
			}
		}
		if len(picked) > 0 {
			out.MessageAttributes = picked
			out.MD5OfMessageAttributes = md5OfAttributes(picked)
		}
	}
	return out
}

// receiptOf decodes a ReceiptHandle member.
func receiptOf(h *string) (receipt, error) {
	if h == nil || *h == "" {
		return receipt{}, errMissingParameter("ReceiptHandle")
	}
	r, ok := decodeReceipt(*h)
	if !ok {
		return receipt{}, errReceiptHandleInvalid(*h)
	}
	return r, nil
}

// deleteReceipt deletes the message a receipt handle names. As in SQS, a
// handle of a message already deleted (or received again since) is
// accepted and does nothing; on FIFO queues a handle whose visibility
// timeout has ended (and was not extended) has expired.
func (s *Service) deleteReceipt(ctx context.Context, q *queueRecord, handle string, r receipt) error {
	name := q.storageName()
	if q.FIFO && s.now().After(r.until) {
		// Still in flight only if the timeout was extended; keep it
		// invisible while we delete it.
		err := s.deps.Queues.ChangeVisibility(ctx, name, r.raw, s.now(), 30*time.Second)
		switch {
		case errors.Is(err, storage.ErrNotInFlight):
			return errInvalidValue(handle, "ReceiptHandle", "The receipt handle has expired.")
		case errors.Is(err, storage.ErrInvalidReceipt):
			return nil
		case err != nil:
			return fmt.Errorf("sqs: delete message: %w", err)
		}
	}
	err := s.deps.Queues.Delete(ctx, name, r.raw)
	if errors.Is(err, storage.ErrInvalidReceipt) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqs: delete message: %w", err)
	}
	s.metrics.deleted(q, 1)
	return nil
}

func (s *Service) deleteMessage(ctx context.Context, rc *reqCtx) (any, error) {
	var in deleteMessageInput
	q, err := s.decodeQueue(ctx, rc, &in)
	if err != nil {
		return nil, err
	}
	r, err := receiptOf(in.ReceiptHandle)
	if err != nil {
		return nil, err
	}
	return nil, s.deleteReceipt(ctx, q, *in.ReceiptHandle, r)
}

func receiptIDs(entries []receiptEntry) []*string {
	ids := make([]*string, len(entries))
	for i := range entries {
		ids[i] = entries[i].Id
	}
	return ids
}

func (s *Service) deleteMessageBatch(ctx context.Context, rc *reqCtx) (any, error) {
	var in batchReceiptInput
	if err := rc.decode(&in); err != nil {
		return nil, err
	}
	if err := checkBatch(receiptIDs(in.Entries), "DeleteMessageBatchRequestEntry"); err != nil {
		return nil, err
	}
	q, err := s.resolveQueue(ctx, rc, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	var out deleteBatchOutput
	for _, e := range in.Entries {
		r, err := receiptOf(e.ReceiptHandle)
		if err == nil {
			err = s.deleteReceipt(ctx, q, *e.ReceiptHandle, r)
		}
		if pe, ok := errors.AsType[*protocol.Error](err); ok {
			out.Failed = append(out.Failed, batchError(*e.Id, pe))
			continue
		}
		if err != nil {
			return nil, err
		}
		out.Successful = append(out.Successful, idEntry{*e.Id})
	}
	return out, nil
}

// changeVisibility sets a received message's visibility timeout.
func (s *Service) changeVisibility(ctx context.Context, q *queueRecord, handle *string, v intParam) error {
	r, err := receiptOf(handle)
	if err != nil {
		return err
	}
	if !v.Set {
		return errMissingParameter("VisibilityTimeout")
	}
	if v.Bad || v.V < 0 || v.V > maxVisibility {
		return errInvalidValue(v.Raw, "VisibilityTimeout", "Must be >= 0 and <= 43200, if provided.")
	}
	// A message stays invisible at most 12 hours after it was received,
	// however often its timeout is extended.
	now := s.now()
	newTimeout := time.Duration(v.V) * time.Second
	if !r.received.IsZero() && now.Sub(r.received)+newTimeout > maxVisibility*time.Second {
		return errInvalidValue(v.Raw, "VisibilityTimeout", fmt.Sprintf("Total VisibilityTimeout for the message is beyond the limit [%d seconds]", maxVisibility))
	}
	err = s.deps.Queues.ChangeVisibility(ctx, q.storageName(), r.raw, now, newTimeout)
	switch {
	case errors.Is(err, storage.ErrInvalidReceipt):
		return errInvalidValue(*handle, "ReceiptHandle", "Message does not exist or is not available for visibility timeout change.")
	case errors.Is(err, storage.ErrNotInFlight):
		// SQS answers 200 for a message whose timeout has just ended and
		// that nobody received since; the message stays visible.
		return nil
	case err != nil:
		return fmt.Errorf("sqs: change message visibility: %w", err)
	}
	if r.attempt != "" {
		// The receive that handed out this message can no longer be retried.
		return s.markAttemptChanged(ctx, q, r.attempt)
	}
	return nil
}

func (s *Service) changeMessageVisibility(ctx context.Context, rc *reqCtx) (any, error) {
	var in changeVisibilityInput
	q, err := s.decodeQueue(ctx, rc, &in)
	if err != nil {
		return nil, err
	}
	return nil, s.changeVisibility(ctx, q, in.ReceiptHandle, in.VisibilityTimeout)
}

func (s *Service) changeMessageVisibilityBatch(ctx context.Context, rc *reqCtx) (any, error) {
	var in batchReceiptInput
	if err := rc.decode(&in); err != nil {
		return nil, err
	}
	if err := checkBatch(receiptIDs(in.Entries), "ChangeMessageVisibilityBatchRequestEntry"); err != nil {
		return nil, err
	}
	q, err := s.resolveQueue(ctx, rc, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	var out changeBatchOutput
	for _, e := range in.Entries {
		err := s.changeVisibility(ctx, q, e.ReceiptHandle, e.VisibilityTimeout)
		if pe, ok := errors.AsType[*protocol.Error](err); ok {
			out.Failed = append(out.Failed, batchError(*e.Id, pe))
			continue
		}
		if err != nil {
			return nil, err
		}
		out.Successful = append(out.Successful, idEntry{*e.Id})
	}
	return out, nil
}
