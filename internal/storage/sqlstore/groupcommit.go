package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
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
// write operations; one goroutine runs waiting operations (up to maxOps,
// or maxWork of work) inside one transaction, each under its own
// SAVEPOINT, commits once (one fsync with synchronous=FULL) and only then
// acknowledges each caller with its own result. An operation that fails
// is rolled back to its savepoint and does not affect the others.
//
// Fairness: operations are queued per fairness key (storage.FairnessKey
// of the caller's context, usually an account; none is the shared key "")
// and a batch takes them round-robin across keys, a key that had nothing
// queued going first. So a backlog under one key never delays another
// key's write by more than the batch running when it arrived, plus its
// own (while at most maxOps keys are busy). Moreover a batch that takes an op of a key kept waiting (it
// arrived while this batch or the one before was running and had no op in
// either) takes only the other kept-waiting keys' ops after it and
// commits: such a write costs about one operation plus one commit,
// however deep the other keys' backlogs. Keys written in batch after
// batch (a busy caller, or several under one key) never shorten batches,
// so they cannot multiply the commits.
type groupCommitter struct {
	db      *sql.DB
	maxOps  int           // maxBatchOps (tests may change it before first use)
	maxWork time.Duration // maxBatchWork (idem)

	mu     sync.Mutex
	keys   map[string]*keyQueue // fairness keys with queued operations
	ring   []*keyQueue          // the same keys, in round-robin order
	next   int                  // index in ring of the key served next
	seq    uint64               // number of the latest batch begun
	served map[string]bool      // keys the latest batch took ops of
	before map[string]bool      // keys the batch before it took ops of
	busy   bool                 // a batch is running or committing
	closed bool                 // set by close: nothing is queued any more
	wake   chan struct{}        // buffered(1): an operation was queued

	quit chan struct{}
	done chan struct{}

	stmts *stmtCache    // used by the writer goroutine only
	ckpt  *checkpointer // told of every commit (nil: SQLite checkpoints in commits)

	waiting atomic.Int64 // operations queued and not yet taken by the writer
	commits atomic.Int64 // batches committed
	ran     atomic.Int64 // operations acknowledged by a commit
}

// keyQueue is one fairness key's queued operations, oldest first.
type keyQueue struct {
	key string
	ops []*writeOp
	// since is the number of the batch in progress (or last begun) when
	// the queue became non-empty, and busy whether that batch was still
	// running then (the key had to wait for it).
	since uint64
	busy  bool
}

// writeOp is one queued operation and its result.
type writeOp struct {
	ctx    context.Context
	fn     txFunc
	key    string     // storage.FairnessKey(ctx)
	result chan error // buffered(1): receives exactly one value
	taken  bool       // the writer has it (guarded by groupCommitter.mu)
}

func newGroupCommitter(db *sql.DB, ckpt *checkpointer) *groupCommitter {
	g := &groupCommitter{
		db:      db,
		ckpt:    ckpt,
		maxOps:  maxBatchOps,
		maxWork: maxBatchWork,
		keys:    map[string]*keyQueue{},
		served:  map[string]bool{},
		before:  map[string]bool{},
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		stmts:   newStmtCache(db),
	}
	go g.run()
	return g
}

// do runs fn in a coming batch and returns once the batch holding it is
// committed (durable as the sync mode makes commits) or fn failed and was
// rolled back. An operation whose ctx ends while it is queued is dropped
// with ctx's error; once the writer has taken it, it runs to completion
// even if ctx ends, so a nil error always means committed.
func (g *groupCommitter) do(ctx context.Context, fn txFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	op := &writeOp{ctx: ctx, fn: fn, key: storage.FairnessKey(ctx), result: make(chan error, 1)}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errClosed
	}
	g.push(op)
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
	var err error
	select {
	case err = <-op.result:
	case <-ctx.Done():
		g.mu.Lock()
		if !op.taken {
			g.remove(op)
			g.mu.Unlock()
			return ctx.Err()
		}
		g.mu.Unlock()
		err = <-op.result
	}
	var p *opPanic
	if errors.As(err, &p) {
		panic(fmt.Sprintf("%v\n\n(in a batched write; its goroutine's stack:)\n%s", p.val, p.stack))
	}
	return err
}

// push queues op under its key; a key that had nothing queued joins the
// ring as the key served next (keys with a backlog stay in the ring, so a
// newcomer is a key that had been quiet: serving it first costs the
// others about one op). The caller holds g.mu.
func (g *groupCommitter) push(op *writeOp) {
	kq := g.keys[op.key]
	if kq == nil {
		kq = &keyQueue{key: op.key, since: g.seq, busy: g.busy}
		g.keys[op.key] = kq
		g.ring = slices.Insert(g.ring, g.next, kq)
	}
	kq.ops = append(kq.ops, op)
	g.waiting.Add(1)
}

// remove drops a queued op that was not taken. The caller holds g.mu.
func (g *groupCommitter) remove(op *writeOp) {
	kq := g.keys[op.key]
	if kq == nil {
		return
	}
	if i := slices.Index(kq.ops, op); i >= 0 {
		kq.ops = slices.Delete(kq.ops, i, i+1)
		g.waiting.Add(-1)
	}
	if len(kq.ops) == 0 {
		g.drop(slices.Index(g.ring, kq))
	}
}

// drop removes the key at ring index i, whose queue is empty. The caller
// holds g.mu.
func (g *groupCommitter) drop(i int) {
	kq := g.ring[i]
	delete(g.keys, kq.key)
	g.ring = slices.Delete(g.ring, i, i+1)
	if i < g.next {
		g.next--
	}
	if g.next >= len(g.ring) {
		g.next = 0
	}
}

// pop takes the next operation for batch number seq, round-robin across
// keys, or returns nil when the batch must take no more. A key is kept
// waiting when it started waiting while this batch or the one before
// ran, without having had an op in either (it arrived while others' work
// was running or committing); once the batch holds an op of such a key
// (*closing), it takes ops only of other kept-waiting keys, one each, and
// then ends. Keys served batch after batch (one busy caller or many) are
// never kept waiting, so their batches grow as before. The caller holds
// g.mu.
func (g *groupCommitter) pop(seq uint64, closing *bool) *writeOp {
	for n := 0; n < len(g.ring); n++ {
		i := (g.next + n) % len(g.ring)
		kq := g.ring[i]
		kept := kq.busy && kq.since+1 >= seq && !g.served[kq.key] && !g.before[kq.key]
		if *closing && !kept {
			continue
		}
		op := kq.ops[0]
		kq.ops[0] = nil
		kq.ops = kq.ops[1:]
		op.taken = true
		g.waiting.Add(-1)
		g.served[kq.key] = true
		if kept {
			*closing = true
		}
		if len(kq.ops) == 0 {
			g.next = i
			g.drop(i)
		} else {
			g.next = (i + 1) % len(g.ring)
		}
		return op
	}
	return nil
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

// close stops the writer after the batch in progress, then the
// checkpointer; operations still queued fail with errClosed.
func (g *groupCommitter) close() error {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	select {
	case <-g.quit:
	default:
		close(g.quit)
	}
	<-g.done
	g.stmts.close()
	if g.ckpt != nil {
		return g.ckpt.close()
	}
	return nil
}

func (g *groupCommitter) run() {
	defer close(g.done)
	var rerun []*writeOp // taken, to run again after a broken batch
	for {
		if len(rerun) == 0 {
			select {
			case <-g.quit:
				g.shutdown()
				return
			default:
			}
			g.mu.Lock()
			idle := len(g.ring) == 0
			g.mu.Unlock()
			if idle {
				select {
				case <-g.wake:
				case <-g.quit:
					g.shutdown()
					return
				}
				continue
			}
		}
		rerun = g.batch(rerun)
		// The connection is free between batches: prepare what is now
		// worth caching.
		g.stmts.prepareWanted()
	}
}

// shutdown fails every operation still queued with errClosed.
func (g *groupCommitter) shutdown() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for _, kq := range g.ring {
		for _, op := range kq.ops {
			op.taken = true
			op.result <- errClosed
		}
	}
	g.waiting.Store(0)
	g.ring, g.next = nil, 0
	clear(g.keys)
}

// batch runs the operations in queue, then queued ones as pop hands them
// out, in one transaction and commits it. It returns operations that must
// run again because another operation broke the transaction.
func (g *groupCommitter) batch(queue []*writeOp) []*writeOp {
	start := time.Now()
	g.mu.Lock()
	g.seq++
	seq := g.seq
	g.busy = true
	defer func() {
		g.mu.Lock()
		g.busy = false
		g.mu.Unlock()
	}()
	g.before, g.served = g.served, g.before
	clear(g.served)
	for _, op := range queue {
		g.served[op.key] = true
	}
	g.mu.Unlock()
	closing := false
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
		g.mu.Lock()
		op := g.pop(seq, &closing)
		g.mu.Unlock()
		if op != nil {
			taken++
		}
		return op
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
	if g.ckpt != nil {
		g.ckpt.committed()
	}
	for _, op := range ran {
		op.result <- nil
	}
	// The callers just acknowledged were made runnable on this goroutine's
	// P; while writes keep coming the writer would hold that P and leave
	// them waiting for the other P or for preemption (10 ms), which was
	// the tail of every write's latency under load. Let them run now.
	runtime.Gosched()
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
