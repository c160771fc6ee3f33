// Package sqlstore implements storage.Backend on SQL, in two dialects that
// share one code path:
//
//   - embedded SQLite (modernc.org/sqlite, pure Go) for the default
//     single-node mode: one database file in the data directory, WAL
//     journal, one writer connection plus a read pool; blobs are files
//     under dir/blobs, written to a temporary file, fsynced and renamed;
//   - PostgreSQL (pgx/v5) for scale-out: any number of nodes share one
//     database schema; queue receives use FOR UPDATE SKIP LOCKED and
//     Notify crosses nodes through LISTEN/NOTIFY; blobs live in a bytea
//     table.
//
// On SQLite every write goes through one writer goroutine that does group
// commit: the write operations waiting when it is free (at most 64, or
// about 4 ms of work) run in one transaction, each under its own
// SAVEPOINT so that a failing operation is rolled back alone and gets its
// own error, and the transaction is committed once (one fsync with
// synchronous=FULL) before any of them is acknowledged. An operation that
// reads what it writes (a receive selects, updates and returns rows) runs
// whole inside its savepoint, so it stays atomic. Long-poll wake-ups fire
// only after the commit. Writes wait in one queue per fairness key
// (storage.WithFairnessKey, usually the account) and batches take them
// round-robin, so one account's backlog cannot hold another's write back
// by more than about one commit. WAL checkpoints run on a connection of
// their own, never inside a commit. The writer also keeps the SQL of
// frequent writes prepared. PostgreSQL groups concurrent commits itself,
// so there each operation keeps its own transaction (or autocommit
// statement) and fairness keys are ignored.
//
// Queues follow the pgmq model: one row per message with its visible-at
// time, receive count, current receipt, group and dedup ids, plus a dedup
// table with expiry times. A FIFO receive fills its batch group by group
// (as SQS does): it finds the next group's oldest receivable message by
// walking the queue in Seq order, then reads that group's messages through
// an index on (queue, group, Seq), never sorting the whole queue; on
// PostgreSQL FIFO receives of one queue take an advisory lock, so one group
// is never handed to two receivers. Every time is supplied by the caller
// and stored as Unix nanoseconds. The schema is created and upgraded by
// migrations embedded in the binary (schema/<dialect>/*.sql).
package sqlstore
