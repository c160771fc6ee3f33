package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// checkpointGap is the least time between two WAL checkpoints.
const checkpointGap = 20 * time.Millisecond

// checkpointer copies SQLite's write-ahead log into the database file
// (PRAGMA wal_checkpoint(PASSIVE)) on a connection of its own, at most
// every checkpointGap after a commit. The writer connection has automatic
// checkpoints turned off: SQLite would otherwise run one inside the commit
// that fills the log past 1,000 pages, and every operation of that batch
// waited for it (about one commit in ten under a steady flood took 5 ms
// or more instead of well under one). A passive checkpoint runs beside the
// writer and the readers and never blocks them; the log restarts from its
// beginning once a checkpoint has caught up with it.
type checkpointer struct {
	db   *sql.DB
	log  *slog.Logger
	kick chan struct{} // buffered(1): something was committed
	quit chan struct{}
	done chan struct{}
}

func newCheckpointer(db *sql.DB, log *slog.Logger) *checkpointer {
	c := &checkpointer{db: db, log: log, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// committed tells the checkpointer the log grew.
func (c *checkpointer) committed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.kick:
		case <-c.quit:
			return
		}
		if _, err := c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			c.log.Warn("sqlstore: WAL checkpoint", "err", err)
		}
		select {
		case <-time.After(checkpointGap):
		case <-c.quit:
			return
		}
	}
}

// close stops the checkpointer and closes its connection (the last
// connection to close checkpoints the whole log, as SQLite always does).
func (c *checkpointer) close() error {
	close(c.quit)
	<-c.done
	return c.db.Close()
}
