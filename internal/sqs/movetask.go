package sqs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

// Message move tasks (StartMessageMoveTask) move messages from a
// dead-letter queue to a destination queue or, without one, back to the
// queues they came from. A task is a record in Meta (sqs.movetasks, key
// account/region/source/started-id) run by the node that holds its lease;
// a task whose lease lapses (its node stopped) is resumed by another node
// or after a restart.

// Move task statuses.
const (
	taskRunning    = "RUNNING"
	taskCompleted  = "COMPLETED"
	taskCancelling = "CANCELLING"
	taskCancelled  = "CANCELLED"
	taskFailed     = "FAILED"
)

const (
	taskLease     = 30 * time.Second
	taskBatch     = 10
	taskRetry     = time.Second
	taskInFlight  = 5 * time.Minute // visibility of messages being moved back to their sources
	maxMoveRate   = 500
	maxTaskListed = 10
)

type moveTask struct {
	ID             string `json:"id"`
	Account        string `json:"account"`
	Region         string `json:"region"`
	SourceArn      string `json:"sourceArn"`
	DestinationArn string `json:"destinationArn,omitempty"`
	MaxPerSecond   int64  `json:"maxPerSecond,omitempty"`
	Status         string `json:"status"`
	Moved          int64  `json:"moved"`
	ToMove         int64  `json:"toMove"`
	Started        int64  `json:"started"` // unix ms
	FailureReason  string `json:"failureReason,omitempty"`
	Owner          string `json:"owner"`
	Lease          int64  `json:"lease"` // unix ms

	key     string
	version int64
}

func taskPrefix(account, region, sourceName string) string {
	return storage.Key(account, region, sourceName) + "/"
}

func (t *moveTask) handle() string {
	b, _ := json.Marshal(map[string]string{"taskId": t.ID, "sourceArn": t.SourceArn})
	return base64.StdEncoding.EncodeToString(b)
}

func (s *Service) saveTask(ctx context.Context, t *moveTask) error {
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("sqs: encode move task: %w", err)
	}
	v, err := s.deps.Meta.Put(ctx, nsMoveTasks, t.key, b, t.version)
	if err != nil {
		return fmt.Errorf("sqs: save move task %s: %w", t.ID, err)
	}
	t.version = v
	return nil
}

func decodeTask(r storage.Record) (*moveTask, error) {
	var t moveTask
	if err := json.Unmarshal(r.Value, &t); err != nil {
		return nil, fmt.Errorf("sqs: decode move task %s: %w", r.Key, err)
	}
	t.key, t.version = r.Key, r.Version
	return &t, nil
}

func (s *Service) loadTask(ctx context.Context, key string) (*moveTask, error) {
	r, err := s.deps.Meta.Get(ctx, nsMoveTasks, key)
	if err != nil {
		return nil, fmt.Errorf("sqs: load move task: %w", err)
	}
	return decodeTask(r)
}

// tasksOf lists the move tasks of a source queue, newest first.
func (s *Service) tasksOf(ctx context.Context, src *queueRecord) ([]*moveTask, error) {
	recs, err := s.deps.Meta.List(ctx, nsMoveTasks, taskPrefix(src.Account, src.Region, src.Name), "", 0)
	if err != nil {
		return nil, fmt.Errorf("sqs: list move tasks: %w", err)
	}
	out := make([]*moveTask, 0, len(recs))
	for _, r := range recs {
		t, err := decodeTask(r)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *moveTask) int { return strings.Compare(b.key, a.key) })
	return out, nil
}

func errSourceNotFound() error {
	return errResourceNotFound("The resource that you specified for the SourceArn parameter doesn't exist.")
}

func (s *Service) startMessageMoveTask(ctx context.Context, rc *reqCtx) (any, error) {
	var in startMoveInput
	if err := rc.decode(&in); err != nil {
		return nil, err
	}
	if deref(in.SourceArn) == "" {
		return nil, errMissingParameter("SourceArn")
	}
	src, err := s.loadQueueARN(ctx, *in.SourceArn)
	if isNonExistent(err) {
		return nil, errSourceNotFound()
	}
	if err != nil {
		return nil, err
	}
	if err := s.authorizeCall(rc, src); err != nil {
		return nil, err
	}
	sources, err := s.deadLetterSources(ctx, src)
	if err != nil {
		return nil, err
	}
	if len(sources) == 0 {
		return nil, errInvalidParameter("Source queue must be configured as a Dead Letter Queue.")
	}
	if in.DestinationArn != "" {
		dst, err := s.loadQueueARN(ctx, in.DestinationArn)
		if isNonExistent(err) {
			return nil, errResourceNotFound("The resource that you specified for the DestinationArn parameter doesn't exist.")
		} else if err != nil {
			return nil, err
		}
		// Moving into another account's queue is a send the destination's
		// owner must allow.
		if err := s.authorizeCallOp(rc, dst, "SendMessage"); err != nil {
			return nil, err
		}
	}
	var rate int64
	if p := in.MaxNumberOfMessagesPerSecond; p.Set {
		if p.Bad || p.V < 1 || p.V > maxMoveRate {
			return nil, errInvalidValue(p.Raw, "MaxNumberOfMessagesPerSecond", "Must be between 1 and 500.")
		}
		rate = p.V
	}
	tasks, err := s.tasksOf(ctx, src)
	if err != nil {
		return nil, err
	}
	for _, t := range tasks {
		if t.Status == taskRunning || t.Status == taskCancelling {
			return nil, errInvalidParameter("There is already a task running. Only one active task is allowed for a source queue arn at a given time.")
		}
	}
	now := s.now()
	st, err := s.deps.Queues.Stats(ctx, src.storageName(), now)
	if err != nil {
		return nil, fmt.Errorf("sqs: start move task: %w", err)
	}
	t := &moveTask{ID: s.deps.IDs.UUID(), Account: src.Account, Region: src.Region, SourceArn: src.arn(),
		DestinationArn: in.DestinationArn, MaxPerSecond: rate, Status: taskRunning, ToMove: st.Visible,
		Started: now.UnixMilli(), Owner: s.node, Lease: now.Add(taskLease).UnixMilli()}
	t.key = taskPrefix(src.Account, src.Region, src.Name) + fmt.Sprintf("%016d-%s", t.Started, t.ID)
	if err := s.saveTask(ctx, t); err != nil {
		return nil, err
	}
	s.launch(t)
	out := startMoveOutput{TaskHandle: t.handle()}
	rc.call.ResponseElements = map[string]any{"taskHandle": out.TaskHandle}
	return out, nil
}

func (s *Service) listMessageMoveTasks(ctx context.Context, rc *reqCtx) (any, error) {
	var in listMovesInput
	if err := rc.decode(&in); err != nil {
		return nil, err
	}
	if deref(in.SourceArn) == "" {
		return nil, errMissingParameter("SourceArn")
	}
	src, err := s.loadQueueARN(ctx, *in.SourceArn)
	if isNonExistent(err) {
		return nil, errSourceNotFound()
	}
	if err != nil {
		return nil, err
	}
	if err := s.authorizeCall(rc, src); err != nil {
		return nil, err
	}
	limit := 1
	if p := in.MaxResults; p.Set {
		if p.Bad || p.V < 1 || p.V > maxTaskListed {
			return nil, errInvalidValue(p.Raw, "MaxResults", "Must be between 1 and 10.")
		}
		limit = int(p.V)
	}
	tasks, err := s.tasksOf(ctx, src)
	if err != nil {
		return nil, err
	}
	var out listMovesOutput
	for _, t := range tasks {
		if len(out.Results) == limit {
			break
		}
		e := moveTaskEntry{Status: t.Status, SourceArn: t.SourceArn, DestinationArn: t.DestinationArn,
			ApproximateNumberOfMessagesMoved: t.Moved, FailureReason: t.FailureReason, StartedTimestamp: t.Started}
		toMove := t.ToMove
		e.ApproximateNumberOfMessagesToMove = &toMove
		if t.MaxPerSecond > 0 {
			r := t.MaxPerSecond
			e.MaxNumberOfMessagesPerSecond = &r
		}
		if t.Status == taskRunning {
			e.TaskHandle = t.handle()
		}
		out.Results = append(out.Results, e)
	}
	return out, nil
}

func (s *Service) cancelMessageMoveTask(ctx context.Context, rc *reqCtx) (any, error) {
	var in cancelMoveInput
	if err := rc.decode(&in); err != nil {
		return nil, err
	}
	if deref(in.TaskHandle) == "" {
		return nil, errMissingParameter("TaskHandle")
	}
	invalid := errInvalidParameter("Value for parameter TaskHandle is invalid.")
	b, err := base64.StdEncoding.DecodeString(*in.TaskHandle)
	if err != nil {
		return nil, invalid
	}
	var h struct {
		TaskID    string `json:"taskId"`
		SourceArn string `json:"sourceArn"`
	}
	if json.Unmarshal(b, &h) != nil || h.TaskID == "" || h.SourceArn == "" {
		return nil, invalid
	}
	src, err := s.loadQueueARN(ctx, h.SourceArn)
	if isNonExistent(err) {
		return nil, errSourceNotFound()
	}
	if err != nil {
		return nil, err
	}
	if err := s.authorizeCall(rc, src); err != nil {
		return nil, err
	}
	for range 20 {
		tasks, err := s.tasksOf(ctx, src)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(tasks, func(t *moveTask) bool { return t.ID == h.TaskID })
		if i < 0 {
			return nil, errResourceNotFound("Task does not exist.")
		}
		t := tasks[i]
		if t.Status != taskRunning {
			return nil, errInvalidParameter("Only active tasks can be cancelled.")
		}
		t.Status = taskCancelling
		err = s.saveTask(ctx, t)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return cancelMoveOutput{ApproximateNumberOfMessagesMoved: t.Moved}, nil
	}
	return nil, fmt.Errorf("sqs: cancel move task: too many concurrent changes")
}

// launch runs t in the background on this node.
func (s *Service) launch(t *moveTask) {
	s.tasksMu.Lock()
	if s.tasks[t.ID] || s.ctx == nil {
		s.tasksMu.Unlock()
		return
	}
	s.tasks[t.ID] = true
	s.tasksMu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.tasksMu.Lock()
			delete(s.tasks, t.ID)
			s.tasksMu.Unlock()
		}()
		s.runTask(s.ctx, t.key)
	}()
}

// resumeMoveTasks takes over active tasks whose lease has lapsed.
func (s *Service) resumeMoveTasks(ctx context.Context) {
	recs, err := s.deps.Meta.List(ctx, nsMoveTasks, "", "", 0)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("sqs: resume move tasks", "err", err)
		}
		return
	}
	now := s.now()
	for _, r := range recs {
		t, err := decodeTask(r)
		if err != nil || (t.Status != taskRunning && t.Status != taskCancelling) {
			continue
		}
		s.tasksMu.Lock()
		mine := s.tasks[t.ID]
		s.tasksMu.Unlock()
		if mine || (t.Owner != s.node && timeMs(t.Lease).After(now)) || (t.Owner == s.node && timeMs(t.Lease).After(now)) {
			continue
		}
		t.Owner, t.Lease = s.node, now.Add(taskLease).UnixMilli()
		if s.saveTask(ctx, t) == nil {
			s.launch(t)
		}
	}
}

// runTask moves messages until the task completes, fails, is cancelled or
// another node takes it over.
func (s *Service) runTask(ctx context.Context, key string) {
	for ctx.Err() == nil {
		t, err := s.loadTask(ctx, key)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, storage.ErrNotFound) {
				s.log.Warn("sqs: move task", "err", err)
			}
			return
		}
		if t.Owner != s.node {
			return
		}
		switch {
		case t.Status == taskCancelling:
			t.Status = taskCancelled
			s.finishTask(ctx, t)
			return
		case t.Status != taskRunning:
			return
		case t.Moved >= t.ToMove:
			t.Status = taskCompleted
			s.finishTask(ctx, t)
			return
		}
		n := min(int64(taskBatch), t.ToMove-t.Moved)
		if t.MaxPerSecond > 0 {
			n = min(n, t.MaxPerSecond)
		}
		start := s.now()
		moved, failure, err := s.moveBatch(ctx, t, int(n))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("sqs: move task batch", "task", t.ID, "err", err)
			s.deps.Clock.Sleep(ctx, taskRetry)
			continue
		}
		if !s.recordProgress(ctx, key, moved, failure) {
			return
		}
		if moved == 0 && failure == "" {
			// Nothing visible is left to move.
			t, err := s.loadTask(ctx, key)
			if err == nil && t.Status == taskRunning {
				t.Status = taskCompleted
				s.finishTask(ctx, t)
			}
			return
		}
		if failure != "" {
			return
		}
		if t.MaxPerSecond > 0 {
			// Pace to MaxNumberOfMessagesPerSecond on the clock.
			wait := time.Duration(float64(time.Second)*float64(moved)/float64(t.MaxPerSecond)) - s.now().Sub(start)
			if wait > 0 {
				s.deps.Clock.Sleep(ctx, wait)
			}
		}
	}
}

// recordProgress adds moved messages to the task (and a failure, which
// ends it), renewing the lease. It reports whether the task goes on.
func (s *Service) recordProgress(ctx context.Context, key string, moved int64, failure string) bool {
	for range 20 {
		t, err := s.loadTask(ctx, key)
		if err != nil {
			return false
		}
		t.Moved += moved
		t.Lease = s.now().Add(taskLease).UnixMilli()
		if failure != "" {
			t.Status, t.FailureReason = taskFailed, failure
		}
		err = s.saveTask(ctx, t)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		return err == nil && t.Status != taskFailed
	}
	return false
}

func (s *Service) finishTask(ctx context.Context, t *moveTask) {
	t.Lease = 0
	if err := s.saveTask(ctx, t); err != nil && ctx.Err() == nil {
		if errors.Is(err, storage.ErrConflict) {
			// Changed meanwhile (cancelled): the next run settles it.
			if nt, err := s.loadTask(ctx, t.key); err == nil && nt.Status == taskCancelling {
				nt.Status, nt.Lease = taskCancelled, 0
				_ = s.saveTask(ctx, nt)
			}
			return
		}
		s.log.Warn("sqs: finish move task", "task", t.ID, "err", err)
	}
}

// moveBatch moves up to n messages of a task. failure is the
// FailureReason that ends the task (a destination that no longer exists).
func (s *Service) moveBatch(ctx context.Context, t *moveTask, n int) (int64, string, error) {
	src, err := s.loadQueueARN(ctx, t.SourceArn)
	if isNonExistent(err) {
		return 0, codeNonExistentQueue, nil
	}
	if err != nil {
		return 0, "", err
	}
	now := s.now()
	if t.DestinationArn != "" {
		dst, err := s.loadQueueARN(ctx, t.DestinationArn)
		if isNonExistent(err) {
			return 0, codeNonExistentQueue, nil
		}
		if err != nil {
			return 0, "", err
		}
		moved, err := s.deps.Queues.Move(ctx, src.storageName(), dst.storageName(), now, n)
		if err != nil {
			return 0, "", fmt.Errorf("sqs: move messages: %w", err)
		}
		return moved, "", nil
	}
	// Back to each message's original source queue.
	msgs, err := s.deps.Queues.Receive(ctx, src.storageName(), now, storage.ReceiveOptions{Max: n, Visibility: taskInFlight, FIFO: src.FIFO})
	if err != nil {
		return 0, "", fmt.Errorf("sqs: move messages: %w", err)
	}
	var moved int64
	for _, m := range msgs {
		var st storedAttrs
		_ = json.Unmarshal(m.Attributes, &st)
		release := func() { _ = s.deps.Queues.ChangeVisibility(ctx, src.storageName(), m.Receipt, s.now(), 0) }
		if st.Source == "" || st.Source == src.arn() {
			// Sent to the dead-letter queue directly: it has no source to
			// go back to.
			release()
			continue
		}
		dst, err := s.loadQueueARN(ctx, st.Source)
		if isNonExistent(err) {
			release()
			return moved, codeNonExistentQueue, nil
		}
		if err != nil {
			release()
			return moved, "", err
		}
		req := storage.SendRequest{Body: m.Body, Attributes: m.Attributes, GroupID: m.GroupID}
		if _, err := s.deps.Queues.Send(ctx, dst.storageName(), s.now(), []storage.SendRequest{req}); err != nil {
			release()
			return moved, "", fmt.Errorf("sqs: move message back to %s: %w", dst.Name, err)
		}
		if err := s.deps.Queues.Delete(ctx, src.storageName(), m.Receipt); err != nil && !errors.Is(err, storage.ErrInvalidReceipt) {
			return moved, "", fmt.Errorf("sqs: move message back to %s: %w", dst.Name, err)
		}
		moved++
	}
	return moved, "", nil
}
