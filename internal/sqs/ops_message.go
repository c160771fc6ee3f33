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
	if err := rc.decode(&in); err != nil {
		return nil, err
	}
	q, err := s.resolveQueue(ctx, rc, in.QueueUrl)
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

// Receipt handles wrap the storage receipt with the time the message's
// visibility timeout ended when it was received (FIFO queues refuse to
// delete through a handle whose timeout has passed).

func encodeReceipt(raw string, until, received time.Time) string {
	return base64.StdEncoding.EncodeToString([]byte("fb2 " + strconv.FormatInt(until.UnixMilli(), 10) + " " +
		strconv.FormatInt(received.UnixMilli(), 10) + " " + raw))
}

// decodeReceipt reads a receipt handle: the storage receipt, the end of the
// visibility timeout the receive set and when the message was received
// (zero for handles issued before it was recorded, format "fb1").
func decodeReceipt(h string) (raw string, until, received time.Time, ok bool) {
	b, err := base64.StdEncoding.DecodeString(h)
	if err != nil {
		return "", time.Time{}, time.Time{}, false
	}
	s := string(b)
	n := 3
	if strings.HasPrefix(s, "fb2 ") {
		n = 4
	} else if !strings.HasPrefix(s, "fb1 ") {
		return "", time.Time{}, time.Time{}, false
	}
	parts := strings.SplitN(s, " ", n)
	if len(parts) != n || parts[n-1] == "" {
		return "", time.Time{}, time.Time{}, false
	}
	ms, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", time.Time{}, time.Time{}, false
	}
	if n == 4 {
		rms, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil {
			return "", time.Time{}, time.Time{}, false
		}
		received = timeMs(rms)
	}
	return parts[n-1], timeMs(ms), received, true
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
	if err := rc.decode(&in); err != nil {
		return nil, err
	}
	q, err := s.resolveQueue(ctx, rc, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	max, vis, wait, err := receiveOptions(q, &in)
	if err != nil {
		return nil, err
	}
	msgs, err := s.receive(ctx, q, max, vis, wait)
	if err != nil {
		return nil, err
	}
	sysNames := append(slices.Clone(in.AttributeNames), in.MessageSystemAttributeNames...)
	var out receiveOutput
	for _, m := range msgs {
		out.Messages = append(out.Messages, s.messageOutput(q, m, vis, sysNames, in.MessageAttributeNames))
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

// messageOutput renders a received message with the requested system and
// user attributes.
func (s *Service) messageOutput(q *queueRecord, m storage.Message, vis time.Duration, sysNames, userNames []string) messageOutput {
	var st storedAttrs
	_ = json.Unmarshal(m.Attributes, &st)
	until := m.VisibleAt
	if until.IsZero() {
		until = s.now().Add(vis)
	}
	out := messageOutput{
		MessageID:     m.ID,
		ReceiptHandle: encodeReceipt(m.Receipt, until, s.now()),
		MD5OfBody:     md5Hex(m.Body),
		Body:          string(m.Body),
	}
	all := slices.Contains(sysNames, attrAll)
	want := func(n string) bool { return all || slices.Contains(sysNames, n) }
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
	if q.FIFO {
		set("MessageDeduplicationId", st.Dedup)
		set("SequenceNumber", sequenceNumber(m.Seq))
	}
	set("AWSTraceHeader", st.Trace)
	if st.Source != "" && st.Source != q.arn() {
		set("DeadLetterQueueSourceArn", st.Source)
	}
	if len(attrs) > 0 {
		out.Attributes = attrs
	}
	if len(st.User) > 0 && len(userNames) > 0 {
		sel := msgAttrMap{}
		for n, a := range st.User {
			if attrNameMatches(n, userNames) {
				sel[n] = a
			}
		}
		if len(sel) > 0 {
			out.MessageAttributes = sel
			out.MD5OfMessageAttributes = md5OfAttributes(sel)
		}
	}
	return out
}

// receiptOf decodes a ReceiptHandle member.
func receiptOf(h *string) (string, time.Time, error) {
	if h == nil || *h == "" {
		return "", time.Time{}, errMissingParameter("ReceiptHandle")
	}
	raw, until, _, ok := decodeReceipt(*h)
	if !ok {
		return "", time.Time{}, errReceiptHandleInvalid(*h)
	}
	return raw, until, nil
}

// deleteReceipt deletes the message a receipt handle names. As in SQS, a
// handle of a message already deleted (or received again since) is
// accepted and does nothing; on FIFO queues a handle whose visibility
// timeout has ended (and was not extended) has expired.
func (s *Service) deleteReceipt(ctx context.Context, q *queueRecord, handle, raw string, until time.Time) error {
	name := q.storageName()
	if q.FIFO && s.now().After(until) {
		// Still in flight only if the timeout was extended; keep it
		// invisible while we delete it.
		err := s.deps.Queues.ChangeVisibility(ctx, name, raw, s.now(), 30*time.Second)
		switch {
		case errors.Is(err, storage.ErrNotInFlight):
			return errInvalidValue(handle, "ReceiptHandle", "The receipt handle has expired.")
		case errors.Is(err, storage.ErrInvalidReceipt):
			return nil
		case err != nil:
			return fmt.Errorf("sqs: delete message: %w", err)
		}
	}
	err := s.deps.Queues.Delete(ctx, name, raw)
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
	if err := rc.decode(&in); err != nil {
		return nil, err
	}
	q, err := s.resolveQueue(ctx, rc, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	raw, until, err := receiptOf(in.ReceiptHandle)
	if err != nil {
		return nil, err
	}
	return nil, s.deleteReceipt(ctx, q, *in.ReceiptHandle, raw, until)
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
		raw, until, err := receiptOf(e.ReceiptHandle)
		if err == nil {
			err = s.deleteReceipt(ctx, q, *e.ReceiptHandle, raw, until)
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
	raw, _, err := receiptOf(handle)
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
	if _, _, received, _ := decodeReceipt(*handle); !received.IsZero() && now.Sub(received)+newTimeout > maxVisibility*time.Second {
		return errInvalidValue(v.Raw, "VisibilityTimeout", fmt.Sprintf("Total VisibilityTimeout for the message is beyond the limit [%d seconds]", maxVisibility))
	}
	err = s.deps.Queues.ChangeVisibility(ctx, q.storageName(), raw, now, newTimeout)
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
	return nil
}

func (s *Service) changeMessageVisibility(ctx context.Context, rc *reqCtx) (any, error) {
	var in changeVisibilityInput
	if err := rc.decode(&in); err != nil {
		return nil, err
	}
	q, err := s.resolveQueue(ctx, rc, in.QueueUrl)
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
