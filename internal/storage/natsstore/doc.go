// Package natsstore is the storage.Backend on NATS JetStream, so that
// several Fogbank nodes can share one NATS cluster (Open), or one process
// can run JetStream embedded, with no TCP listener (OpenEmbedded).
//
// # Names
//
// Everything lives under Options.Prefix (P): streams P_META, P_QUEUES,
// P_LOGS, object store bucket P_BLOBS, subjects P.k.>, P.q.>, P.l.> and the
// core-NATS notification subjects P.n.>. Names taken from callers (Meta
// namespaces and key segments, queue and log stream names) become subject
// tokens through unpadded base64url ("=" for the empty string), so any
// string works. Store.Destroy deletes all of it.
//
// # Compare-and-set
//
// All mutable records live in streams that keep one message per subject
// (MaxMsgsPerSubject 1), and every change is a publish with
// Nats-Expected-Last-Subject-Sequence set to the sequence of the version the
// writer read. Deleting a version is a purge filtered on its subject up to
// and including its sequence: it removes nothing if a newer version exists.
// Reads use the stream leader (no direct get), so they are not stale on a
// clustered stream.
//
// # Meta
//
// One subject per record: P.k.<ns>.<seg>.<seg>... with the key split at "/".
// The storage Version (1, 2, 3, ... per key, restarting at 1 when a key is
// re-created, as the contract requires) is kept in a header; the stream
// sequence is only the CAS token. So Put costs a read plus a conditional
// publish. List scans every record under the prefix's complete path
// segments and sorts in memory: cost grows with the records under that
// path, not the page size.
//
// # Queues
//
// The consumer-based SQS mapping (WorkQueue stream, AckWait, NakWithDelay)
// is not used: its timers run on the server's clock, while the storage
// contract passes the caller's (injectable) clock to every call, and it
// cannot keep strict receipts, first-receive times or FIFO group locks.
// Instead each message is one record, subject P.q.m.<queue>.<token>: body
// and attributes in the payload, state in headers (ID, Seq, SentAt,
// VisibleAt, ReceiveCount, FirstReceivedAt, receipt nonce, group).
//
//   - Send publishes one record per message. Seq is the stream sequence of
//     the first version; the message ID is a UUID derived from it (and the
//     stream's creation time). Sends are not atomic on the server: when one
//     publish of a batch fails, the records already stored by the call are
//     deleted again; a crash in that window leaves part of the batch.
//   - Receive reads the queue's records (headers only, through a
//     short-lived ephemeral consumer) and claims visible ones. A claim
//     re-reads the record and publishes the received version (new nonce,
//     count+1, VisibleAt) conditionally on the version read: of two
//     receivers on any nodes, only one can win a given version, so nobody
//     else holds a message inside its visibility timeout. Standard queues
//     claim while scanning, in stream order, and stop at Max.
//   - FIFO reads all records first. A group is skipped when any of its
//     records is in flight; else its leading visible records are claimed in
//     Seq order, stopping at the first one that is delayed or lost to another
//     receiver. Known gap (no group lock): when an earlier message of a group
//     becomes visible while a later one stays in flight (ChangeVisibility 0,
//     or a timeout extended on the later one only), and that later message's
//     receipt happened during a concurrent receiver's scan, that receiver can
//     take the earlier message while the later one is held. A per-group lock
//     record would close this at the cost of one more write per receive.
//   - Receipts are "<queue hash>.<token>.<nonce>". ChangeVisibility and Delete
//     re-read the record: no record means ErrInvalidReceipt; another nonce
//     means superseded (Delete accepts and does nothing).
//   - Redrive (MaxReceives/DeadLetter) and Move copy the record to the other
//     queue (same token, ID, body, attributes, SentAt, group; a redrive also
//     keeps the receive count and first-receive time; CAS "must not
//     exist"), then delete exactly the source version copied. If the source
//     changed meanwhile the copy is withdrawn. A crash between the two steps
//     leaves the message in both queues until the source is received again,
//     when the move completes; if the copy was consumed meanwhile, the
//     message is delivered twice.
//   - Dedup entries are records P.q.d.<queue>.<sha256(DedupID)> holding ID,
//     Seq and the window's end on the caller's clock. Concurrent senders of
//     one DedupID that read the same entry publish with the same
//     Nats-Msg-Id (derived from the entry's sequence), so the server keeps
//     one message and tells the others its sequence, hence its ID. Because
//     of that, Drop and Reset overwrite recent entries with expired ones
//     instead of purging them, and entries are purged (by Expire, Drop and
//     Reset) only once they are quiet for 5 minutes of wall time, longer than
//     the stream's 2-minute Duplicates window.
//   - Notify closes local channels and publishes on P.n.<queue>, which every
//     node subscribes to.
//
// Costs: every FIFO Receive, Stats, Expire and Move reads the headers of
// every record of the queue (O(queue depth), plus a consumer create and
// delete; a standard Receive stops once it has Max messages),
// and every received message costs a read and a publish of the whole
// record, body included. This is meant for modest queue depths; the SQL
// back ends remain the choice for deep queues.
//
// # Logs and blobs
//
// A log stream is one subject P.l.<name>; a record's Seq is its stream
// sequence and its Time a header (the caller's clock). Read and Trim scan
// the subject from Seq After (time bounds are filtered in memory); Trim of
// the oldest records is one purge. Blobs are objects in the P_BLOBS object
// store, which replaces an object only once the new content is fully
// stored; List reads all object metadata.
//
// # Server requirements
//
// JetStream on NATS 2.9 or later (tested with the embedded 2.15.2 and an
// external 2.9.10). max_payload must exceed the largest queue message: body
// plus attributes plus about 300 bytes of headers; the NATS default of
// 1 MiB is too small for a 1 MiB SQS body. The embedded server uses 4 MiB
// and SyncAlways, so an acknowledged write is on disk; an external server's
// durability is its own configuration (sync interval, replicas).
package natsstore
