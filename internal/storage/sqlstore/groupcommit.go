package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
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
type txFunc func(ctx context.Context, tx execer) error

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

	stmts *stmtCache // used by the writer goroutine only

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
		stmts:   newStmtCache(db),
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
	err := <-op.result
	var p *opPanic
	if errors.As(err, &p) {
		panic(fmt.Sprintf("%v\n\n(in a batched write; its goroutine's stack:)\n%s", p.val, p.stack))
	}
	return err
}

// opPanic carries a panic raised by an operation on the writer goroutine
// back to its caller, which panics in turn (so that, as before group
// commit, the panic surfaces where the call was made and a recovering
// caller such as net/http survives it).
type opPanic struct {
	val   any
	stack []byte
}

func (p *opPanic) Error() string { return fmt.Sprintf("panic in write operation: %v", p.val) }

// call runs op's function, turning a panic into an *opPanic error.
func call(ctx context.Context, op *writeOp, tx execer) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &opPanic{val: v, stack: debug.Stack()}
		}
	}()
	return op.fn(ctx, tx)
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
	g.stmts.close()
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
		// The connection is free between batches: prepare what is now
		// worth caching.
		g.stmts.prepareWanted()
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
	var btx batchTx
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
			btx = batchTx{tx: tx, c: g.stmts}
		}
		ctx := context.WithoutCancel(op.ctx)
		if len(ran) == 0 {
			// Nothing to protect yet: the transaction itself is the
			// savepoint, which saves two statements when ops arrive alone.
			if err := call(ctx, op, btx); err != nil {
				rollback()
				op.result <- err
				continue
			}
			ran = append(ran, op)
			continue
		}
		if _, err := btx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
			// The transaction is unusable: the batch-mates run again in a
			// new one; this op fails, so that every round makes progress.
			rollback()
			op.result <- fmt.Errorf("savepoint: %w", err)
			return append(ran, queue...)
		}
		err := call(ctx, op, btx)
		if err != nil {
			if _, rerr := btx.ExecContext(ctx, "ROLLBACK TO op"); rerr != nil {
				// SQLite rolled the whole transaction back (I/O error, full
				// disk, interrupt...): the batch-mates run again.
				rollback()
				op.result <- err
				return append(ran, queue...)
			}
		}
		if _, rerr := btx.ExecContext(ctx, "RELEASE op"); rerr != nil {
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

// Statement cache bounds.
const (
	maxCachedStmts = 256  // prepared statements kept
	maxCachedQuery = 4096 // longer queries (big multi-row inserts) are not cached
	maxSeenQueries = 1024 // candidates tracked before the count starts over
)

// stmtCache keeps statements prepared on the writer connection so that the
// SQL of frequent writes is parsed once, not on every call (parsing was
// about 40% of the writer's CPU). A query is prepared the second time it
// is seen, between batches, when the connection is free; until then it
// runs unprepared. Only the writer goroutine uses the cache.
type stmtCache struct {
	db    *sql.DB
	stmts map[string]*sql.Stmt
	seen  map[string]int // uses of queries not (yet) prepared
	want  []string       // to prepare after the current batch
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, seen: map[string]int{}}
}

// lookup returns the prepared statement for query, or nil (and counts the
// use) when there is none yet.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	if st, ok := c.stmts[query]; ok {
		return st
	}
	if len(c.stmts) >= maxCachedStmts || len(query) > maxCachedQuery {
		return nil
	}
	if len(c.seen) >= maxSeenQueries {
		clear(c.seen)
	}
	c.seen[query]++
	if c.seen[query] == 2 {
		c.want = append(c.want, query)
	}
	return nil
}

// prepareWanted prepares the queries lookup asked for. It must run while
// no transaction holds the writer connection.
func (c *stmtCache) prepareWanted() {
	for _, q := range c.want {
		if len(c.stmts) >= maxCachedStmts {
			break
		}
		st, err := c.db.PrepareContext(context.Background(), q)
		if err != nil {
			continue // stays unprepared; seen is past 2, so not asked again
		}
		c.stmts[q] = st
		delete(c.seen, q)
	}
	c.want = c.want[:0]
}

func (c *stmtCache) close() {
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}

// batchTx is the execer operations of a batch get: the batch transaction,
// running cached prepared statements where there are some.
type batchTx struct {
	tx *sql.Tx
	c  *stmtCache
}

func (b batchTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := b.c.lookup(query); st != nil {
		return b.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return b.tx.ExecContext(ctx, query, args...)
}

func (b batchTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := b.c.lookup(query); st != nil {
		return b.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return b.tx.QueryContext(ctx, query, args...)
}

func (b batchTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := b.c.lookup(query); st != nil {
		return b.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return b.tx.QueryRowContext(ctx, query, args...)
}
