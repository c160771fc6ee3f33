package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Group-commit bounds: a batch takes at most this many operations, and
// stops taking new ones once it has run for this long.
const (
	maxBatchOps  = 64
	maxBatchWork = 4 * time.Millisecond
)

// errClosed is returned for writes submitted to a closed store.
var errClosed = errors.New("store closed")

// execer is what single-statement writes need: *sql.DB (PostgreSQL,
// autocommit) and *sql.Tx (a SQLite batch) both provide it.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// txFunc is one write operation. It must leave its results in variables
// it owns and reset them on entry: a batch broken by another operation is
// rolled back and its operations run again in a new transaction. The ctx
// it gets does not carry the caller's cancellation (on SQLite an
// interrupted statement may roll back the whole transaction, and with it
// the operation's batch-mates); the caller's context is checked before the
// operation starts.
type txFunc func(ctx context.Context, tx *sql.Tx) error

// groupCommitter owns SQLite's single writer connection. Callers queue
// write operations; one goroutine runs every operation waiting (up to
// maxBatchOps, or maxBatchWork of work) inside one transaction, each under
// its own SAVEPOINT, commits once (one fsync with synchronous=FULL) and only
// then acknowledges each caller with its own result. An operation that
// fails is rolled back to its savepoint and does not affect the others.
type groupCommitter struct {
	db      *sql.DB
	maxOps  int           // maxBatchOps (tests may change it before first use)
	maxWork time.Duration // maxBatchWork (idem)

	ops  chan *writeOp // unbuffered: after quit nothing can be left in it
	quit chan struct{}
	done chan struct{}

	waiting atomic.Int64 // callers blocked handing over an operation
	commits atomic.Int64 // batches committed
	ran     atomic.Int64 // operations acknowledged by a commit
}

// writeOp is one queued operation and its result.
type writeOp struct {
	ctx    context.Context
	fn     txFunc
	result chan error // buffered(1): receives exactly one value
}

func newGroupCommitter(db *sql.DB) *groupCommitter {
	g := &groupCommitter{
		db:      db,
		maxOps:  maxBatchOps,
		maxWork: maxBatchWork,
		ops:     make(chan *writeOp),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go g.run()
	return g
}

// do runs fn in the next batch and returns once the batch holding it is
// committed (durable as the sync mode makes commits) or fn failed and was
// rolled back. Once handed over, an operation runs to completion even if
// ctx ends, so a nil error always means committed.
func (g *groupCommitter) do(ctx context.Context, fn txFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	op := &writeOp{ctx: ctx, fn: fn, result: make(chan error, 1)}
	g.waiting.Add(1)
	select {
	case g.ops <- op:
		g.waiting.Add(-1)
	case <-ctx.Done():
		g.waiting.Add(-1)
		return ctx.Err()
	case <-g.quit:
		g.waiting.Add(-1)
		return errClosed
	}
	return <-op.result
}

// close stops the writer after the batch in progress; operations not yet
// handed over fail with errClosed.
func (g *groupCommitter) close() {
	select {
	case <-g.quit:
	default:
		close(g.quit)
	}
	<-g.done
}

func (g *groupCommitter) run() {
	defer close(g.done)
	var pending []*writeOp
	for {
		if len(pending) == 0 {
			select {
			case op := <-g.ops:
				pending = append(pending, op)
			case <-g.quit:
				return
			}
		}
		pending = g.batch(pending)
	}
}

// batch runs the operations in queue, then any handed over meanwhile, in
// one transaction and commits it. It returns operations that must run
// again because another operation broke the transaction.
func (g *groupCommitter) batch(queue []*writeOp) []*writeOp {
	start := time.Now()
	taken := 0
	next := func() *writeOp {
		if len(queue) > 0 {
			op := queue[0]
			queue = queue[1:]
			taken++
			return op
		}
		if taken >= g.maxOps || time.Since(start) >= g.maxWork {
			return nil
		}
		select {
		case op := <-g.ops:
			taken++
			return op
		default:
			return nil
		}
	}

	var tx *sql.Tx
	var ran []*writeOp // succeeded in tx, waiting for the commit
	rollback := func() {
		if tx != nil {
			_ = tx.Rollback()
			tx = nil
		}
	}
	for op := next(); op != nil; op = next() {
		if err := op.ctx.Err(); err != nil {
			op.result <- err
			continue
		}
		if tx == nil {
			var err error
			if tx, err = g.db.BeginTx(context.Background(), nil); err != nil {
				op.result <- fmt.Errorf("begin: %w", err)
				g.failAll(queue, fmt.Errorf("begin: %w", err))
				return nil
			}
		}
		ctx := context.WithoutCancel(op.ctx)
		if len(ran) == 0 {
			// Nothing to protect yet: the transaction itself is the
			// savepoint, which saves two statements when ops arrive alone.
			if err := op.fn(ctx, tx); err != nil {
				rollback()
				op.result <- err
				continue
			}
			ran = append(ran, op)
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
			// The transaction is unusable: the batch-mates run again in a
			// new one; this op fails, so that every round makes progress.
			rollback()
			op.result <- fmt.Errorf("savepoint: %w", err)
			return append(ran, queue...)
		}
		err := op.fn(ctx, tx)
		if err != nil {
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO op"); rerr != nil {
				// SQLite rolled the whole transaction back (I/O error, full
				// disk, interrupt...): the batch-mates run again.
				rollback()
				op.result <- err
				return append(ran, queue...)
			}
		}
		if _, rerr := tx.ExecContext(ctx, "RELEASE op"); rerr != nil {
			rollback()
			if err == nil {
				err = fmt.Errorf("release savepoint: %w", rerr)
			}
			op.result <- err
			return append(ran, queue...)
		}
		if err != nil {
			op.result <- err
			continue
		}
		ran = append(ran, op)
	}
	if tx == nil {
		return nil
	}
	if err := tx.Commit(); err != nil {
		g.failAll(ran, fmt.Errorf("commit: %w", err))
		return nil
	}
	g.commits.Add(1)
	g.ran.Add(int64(len(ran)))
	for _, op := range ran {
		op.result <- nil
	}
	return nil
}

func (g *groupCommitter) failAll(ops []*writeOp, err error) {
	for _, op := range ops {
		op.result <- err
	}
}
