package storage

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"
)

// Errors returned by every back end. Callers test them with errors.Is.
var (
	// ErrNotFound: the record, message, blob or queue does not exist.
	ErrNotFound = errors.New("storage: not found")
	// ErrConflict: a compare-and-set expectation did not hold.
	ErrConflict = errors.New("storage: version conflict")
	// ErrInvalidReceipt: a receipt handle is unknown or no longer current
	// (the message was deleted, or received again since).
	ErrInvalidReceipt = errors.New("storage: invalid receipt")
	// ErrNotInFlight: the receipt is current but the message is visible
	// again, so its visibility cannot be changed.
	ErrNotInFlight = errors.New("storage: message not in flight")
)

// Version expectations for Meta.Put and Meta.Delete.
const (
	// AnyVersion makes Put/Delete unconditional.
	AnyVersion int64 = -1
	// MustNotExist makes Put succeed only when the key is absent.
	MustNotExist int64 = 0
)

// Key joins parts with "/" into a storage key. By convention the first two
// parts are the account id and the region.
func Key(parts ...string) string { return strings.Join(parts, "/") }

// Record is one metadata record. Version starts at 1 and grows by one on
// every successful Put.
type Record struct {
	Key     string
	Value   []byte
	Version int64
}

// Meta stores small records in namespaces (one per resource kind, e.g.
// "sqs.queues"), with compare-and-set and ordered prefix listing.
// Implementations are safe for concurrent use.
type Meta interface {
	// Get returns the record or ErrNotFound.
	Get(ctx context.Context, ns, key string) (Record, error)
	// Put writes value when the stored version equals expect (AnyVersion:
	// always; MustNotExist: only if absent) and returns the new version, or
	// ErrConflict.
	Put(ctx context.Context, ns, key string, value []byte, expect int64) (int64, error)
	// Delete removes the record when its version equals expect (AnyVersion:
	// always). Deleting an absent key returns ErrNotFound.
	Delete(ctx context.Context, ns, key string, expect int64) error
	// List returns up to limit records (limit <= 0: all) whose key starts
	// with prefix and sorts strictly after `after`, in key order.
	List(ctx context.Context, ns, prefix, after string, limit int) ([]Record, error)
}

// Message is one queued message as stored. Attributes is opaque to storage.
type Message struct {
	// ID is assigned by the store at Send (a UUID string).
	ID string
	// Seq is a store-assigned number that grows with every send to a queue.
	Seq             int64
	Body            []byte
	Attributes      []byte
	GroupID         string
	DedupID         string
	SentAt          time.Time
	VisibleAt       time.Time
	ReceiveCount    int
	FirstReceivedAt time.Time // zero until first received
	// Receipt is set on a received message; it changes on every receive.
	Receipt string
}

// SendRequest is one message to enqueue.
type SendRequest struct {
	Body       []byte
	Attributes []byte
	// Delay keeps the message invisible for this long after SentAt.
	Delay time.Duration
	// GroupID orders messages (FIFO queues): ReceiveOptions.FIFO hands out
	// at most one group's messages while any of that group is in flight.
	GroupID string
	// DedupID, when set, makes a second send with the same DedupID within
	// DedupWindow a duplicate: nothing is stored and the first message's ID
	// and Seq are returned with Duplicate set.
	DedupID     string
	DedupWindow time.Duration
	// Hold > 0 stores the message as already received by its sender: in
	// flight until now+Hold (Delay is then ignored), ReceiveCount 1,
	// FirstReceivedAt now, with SendResult.Receipt its receipt. A sender
	// that processes its own messages can so skip a Receive and still not
	// lose one: if it never deletes the message, the message becomes
	// visible when Hold ends.
	Hold time.Duration
}

// SendResult reports the outcome of one SendRequest.
type SendResult struct {
	ID        string
	Seq       int64
	Duplicate bool
	// Receipt is set for a message stored with Hold (not for a duplicate).
	Receipt string
}

// ReceiveOptions controls Queues.Receive.
type ReceiveOptions struct {
	// Max is the number of messages wanted (>= 1).
	Max int
	// Visibility is how long received messages stay invisible.
	Visibility time.Duration
	// FIFO: deliver in Seq order per GroupID, skipping any group that has a
	// message in flight; messages of one group are returned in order.
	FIFO bool
	// MaxReceives > 0 with DeadLetter set: a message that has already been
	// received MaxReceives times is moved (atomically) to the DeadLetter
	// queue instead of being returned, as SQS redrive does.
	MaxReceives int
	DeadLetter  string
}

// QueueStats are the approximate counters SQS reports.
type QueueStats struct {
	Visible  int64 // receivable now
	InFlight int64 // received, visibility timeout not yet over
	Delayed  int64 // sent with a delay that has not ended
	// OldestSentAt is the SentAt of the oldest message (zero if empty).
	OldestSentAt time.Time
}

// Queues is a durable message queue engine with SQS semantics. A queue is
// named by a string (conventionally Key(account, region, name)); queues
// exist implicitly. Every call takes the current time from the caller (the
// injected clock), never from the wall clock. Implementations are safe for
// concurrent use, also across processes sharing one distributed back end:
// two receivers never hold the same message inside its visibility timeout.
type Queues interface {
	// Send enqueues messages atomically: on error none was stored. A send
	// returns only once the messages are durable.
	Send(ctx context.Context, queue string, now time.Time, reqs []SendRequest) ([]SendResult, error)
	// Receive returns up to opts.Max visible messages, making them
	// invisible until now+opts.Visibility, incrementing ReceiveCount and
	// giving each a new Receipt. It never blocks; use Wait for long polling.
	Receive(ctx context.Context, queue string, now time.Time, opts ReceiveOptions) ([]Message, error)
	// ChangeVisibility sets the message's visible time to now+v. It returns
	// ErrInvalidReceipt for an unknown or superseded receipt and
	// ErrNotInFlight when the message is already visible again.
	ChangeVisibility(ctx context.Context, queue, receipt string, now time.Time, v time.Duration) error
	// Delete removes the message a receipt names. A superseded receipt of a
	// message still present is accepted and does nothing (SQS behaviour);
	// an unknown receipt returns ErrInvalidReceipt.
	Delete(ctx context.Context, queue, receipt string) error
	// DeleteBatch deletes the messages receipts name, with one durable
	// write where the engine allows it (SQL: one transaction). It returns
	// one result per receipt, what Delete would have returned for it had
	// the receipts been deleted one after another in order: nil (deleted,
	// or a superseded receipt of a message still present) or
	// ErrInvalidReceipt. A non-nil error means the call failed as a whole;
	// on the SQL engines nothing was deleted then, on others some messages
	// may have been.
	DeleteBatch(ctx context.Context, queue string, receipts []string) ([]error, error)
	// Purge removes every message of the queue.
	Purge(ctx context.Context, queue string) error
	// Drop removes the queue and all its state (messages and dedup entries).
	Drop(ctx context.Context, queue string) error
	// Expire removes messages sent before the given time (retention).
	Expire(ctx context.Context, queue string, sentBefore time.Time) (int64, error)
	// Stats returns approximate counters as of now.
	Stats(ctx context.Context, queue string, now time.Time) (QueueStats, error)
	// Move moves up to max messages from one queue to another, keeping
	// body, attributes and SentAt (for DLQ redrive / message move tasks).
	Move(ctx context.Context, from, to string, now time.Time, max int) (int64, error)
	// Notify returns a channel that is closed the next time a message is
	// sent to (or becomes available in) the queue on this node. Long polls
	// wait on it together with a timer.
	Notify(queue string) <-chan struct{}
}

// LogEntry is one record to append to a log stream.
type LogEntry struct {
	Time time.Time
	Data []byte
}

// LogRecord is one stored log record. Seq grows with every append to the
// stream.
type LogRecord struct {
	Seq  int64
	Time time.Time
	Data []byte
}

// LogQuery selects records of a stream.
type LogQuery struct {
	From, To time.Time // inclusive bounds on Time; zero = unbounded
	// After/Before: exclusive bounds on Seq for pagination; 0 = unbounded.
	After, Before int64
	// Limit: at most this many records (<= 0: all).
	Limit int
	// Desc returns newest first.
	Desc bool
}

// Logs is a set of durable append-only streams (activity trail, archives,
// function logs, execution histories), read back by time and sequence.
type Logs interface {
	Append(ctx context.Context, stream string, entries []LogEntry) ([]int64, error)
	Read(ctx context.Context, stream string, q LogQuery) ([]LogRecord, error)
	// Trim deletes records older than before and returns how many.
	Trim(ctx context.Context, stream string, before time.Time) (int64, error)
	// Streams lists stream names with the given prefix.
	Streams(ctx context.Context, prefix string) ([]string, error)
}

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Key  string
	Size int64
}

// Blobs stores opaque byte objects (function code, S3 objects).
type Blobs interface {
	// Put stores the content of r under key, replacing any previous blob,
	// and returns its size once durable.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Get opens a blob or returns ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, BlobInfo, error)
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, prefix string) ([]BlobInfo, error)
}

// Backend bundles the interfaces one storage engine provides.
type Backend interface {
	Meta() Meta
	Queues() Queues
	Logs() Logs
	Blobs() Blobs
	// Mode names the back end for health output ("embedded", "postgres", "nats").
	Mode() string
	// Reset wipes all state, or only keys/streams/queues whose name begins
	// with one of prefixes (used by POST /_fogbank/reset).
	Reset(ctx context.Context, prefixes ...string) error
	Close() error
}
