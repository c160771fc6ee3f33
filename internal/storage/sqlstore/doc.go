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
// Queues follow the pgmq model: one row per message with its visible-at
// time, receive count, current receipt, group and dedup ids, plus a dedup
// table with expiry times. Every time is supplied by the caller and stored
// as Unix nanoseconds. The schema is created and upgraded by migrations
// embedded in the binary (schema/<dialect>/*.sql).
package sqlstore
