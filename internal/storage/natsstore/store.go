package natsstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fogbank/fogbank/internal/storage"
)

// DefaultPrefix is the name prefix used when Options.Prefix is empty.
const DefaultPrefix = "fogbank"

// defaultEmbeddedMaxPayload is the embedded server's max_payload: SQS
// bodies may be 1 MiB, and a queue record carries body, attributes and
// headers in one NATS message.
const defaultEmbeddedMaxPayload = 4 << 20

// Options configures a Store. The zero value is usable.
type Options struct {
	// Prefix starts every stream, bucket and subject name this store
	// creates, so several installations (or parallel tests) can share one
	// NATS server. Letters, digits, '-' and '_' only. If empty,
	// DefaultPrefix is used.
	Prefix string
	// Replicas is the replica count of the streams created (clustered
	// servers). If zero, 1 is used.
	Replicas int
	// Logger receives diagnostics. If nil, logs are discarded.
	Logger *slog.Logger
	// MaxPayload is the embedded server's max_payload in bytes. If zero,
	// 4 MiB is used. Ignored by Open: an external server's limit is its own
	// configuration and must exceed the largest queue message (body plus
	// attributes plus about 300 bytes of headers).
	MaxPayload int32
}

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Store is a storage.Backend on NATS JetStream. It is safe for concurrent
// use; several Stores (in several processes) with the same Prefix on one
// NATS cluster share one data set. Close releases it.
type Store struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	srv     *server.Server // embedded server, nil for Open
	prefix  string
	log     *slog.Logger
	mode    string
	idSalt  []byte
	sub     *nats.Subscription
	closeMu sync.Once

	metaStream  jetstream.Stream
	queueStream jetstream.Stream
	logStream   jetstream.Stream
	blobStore   jetstream.ObjectStore

	dedupQuiet time.Duration // see defaultDedupQuiet; tests shorten it

	notifyMu sync.Mutex
	waiters  map[string]chan struct{}
}

// Open connects to the NATS server at url (nats://host:port, or a comma
// separated list of cluster URLs) and creates (or adopts) the streams and
// object store named by opts.Prefix. The server needs JetStream enabled.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	nc, err := nats.Connect(url, nats.Name("fogbank"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("natsstore: connect %s: %w", url, err)
	}
	s, err := newStore(ctx, nc, nil, opts, "nats")
	if err != nil {
		nc.Close()
		return nil, err
	}
	return s, nil
}

// OpenEmbedded starts a NATS server with JetStream inside this process,
// keeping its data in dir, and opens a Store on it through an in-process
// connection (no TCP listener). The server writes every message to disk
// before acknowledging it (SyncAlways). Close shuts the server down.
func OpenEmbedded(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	maxPayload := opts.MaxPayload
	if maxPayload == 0 {
		maxPayload = defaultEmbeddedMaxPayload
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "fogbank-embedded",
		DontListen: true,
		JetStream:  true,
		StoreDir:   dir,
		SyncAlways: true,
		MaxPayload: maxPayload,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return nil, fmt.Errorf("natsstore: embedded server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("natsstore: embedded server not ready within 30s")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv), nats.Name("fogbank-embedded"))
	if err != nil {
		srv.Shutdown()
		return nil, fmt.Errorf("natsstore: connect to embedded server: %w", err)
	}
	s, err := newStore(ctx, nc, srv, opts, "nats-embedded")
	if err != nil {
		nc.Close()
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, err
	}
	return s, nil
}

func (o *Options) check() error {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if !prefixRE.MatchString(o.Prefix) {
		return fmt.Errorf("natsstore: invalid prefix %q: use letters, digits, '-' and '_'", o.Prefix)
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func newStore(ctx context.Context, nc *nats.Conn, srv *server.Server, opts Options, mode string) (*Store, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("natsstore: jetstream: %w", err)
	}
	s := &Store{
		nc: nc, js: js, srv: srv, prefix: opts.Prefix, log: opts.Logger, mode: mode,
		waiters: map[string]chan struct{}{}, dedupQuiet: defaultDedupQuiet,
	}
	p := opts.Prefix
	mk := func(name string, subj string, perSubject int64, dups time.Duration) (jetstream.Stream, error) {
		st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name:              name,
			Subjects:          []string{subj},
			Storage:           jetstream.FileStorage,
			Replicas:          opts.Replicas,
			MaxMsgsPerSubject: perSubject,
			Duplicates:        dups,
			Discard:           jetstream.DiscardOld,
		})
		if err != nil {
			return nil, fmt.Errorf("natsstore: create stream %s: %w", name, err)
		}
		return st, nil
	}
	if s.metaStream, err = mk(p+"_META", p+".k.>", 1, 0); err != nil {
		return nil, err
	}
	if s.queueStream, err = mk(p+"_QUEUES", p+".q.>", 1, 2*time.Minute); err != nil {
		return nil, err
	}
	if s.logStream, err = mk(p+"_LOGS", p+".l.>", 0, 0); err != nil {
		return nil, err
	}
	s.blobStore, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:   p + "_BLOBS",
		Storage:  jetstream.FileStorage,
		Replicas: opts.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("natsstore: create object store: %w", err)
	}
	// Message IDs derive from the queue stream's sequence; salting them with
	// the stream's creation time keeps them unique if the stream is ever
	// deleted and created again.
	created := s.queueStream.CachedInfo().Created
	s.idSalt = fmt.Appendf(nil, "%s|%d|", p, created.UnixNano())
	s.sub, err = nc.Subscribe(p+".n.*", s.onNotify)
	if err != nil {
		return nil, fmt.Errorf("natsstore: subscribe notifications: %w", err)
	}
	if err := nc.Flush(); err != nil {
		return nil, fmt.Errorf("natsstore: flush: %w", err)
	}
	return s, nil
}

// Meta returns the metadata store.
func (s *Store) Meta() storage.Meta { return metaStore{s} }

// Queues returns the queue engine.
func (s *Store) Queues() storage.Queues { return queueStore{s} }

// Logs returns the log streams.
func (s *Store) Logs() storage.Logs { return logStore{s} }

// Blobs returns the blob store.
func (s *Store) Blobs() storage.Blobs { return blobStore{s} }

// Mode returns "nats" for a Store made by Open and "nats-embedded" for one
// made by OpenEmbedded.
func (s *Store) Mode() string { return s.mode }

// Prefix returns the name prefix of everything this Store created.
func (s *Store) Prefix() string { return s.prefix }

// Close drops the connection and, for an embedded store, shuts the server
// down. Data stays on the server (or in the embedded store's directory).
// Close is idempotent.
func (s *Store) Close() error {
	s.closeMu.Do(func() {
		if s.sub != nil {
			_ = s.sub.Unsubscribe()
		}
		s.nc.Close()
		if s.srv != nil {
			s.srv.Shutdown()
			s.srv.WaitForShutdown()
		}
	})
	return nil
}

// Destroy deletes every stream and the object store bucket this Store's
// prefix names, on the server. The Store is unusable afterwards except for
// Close. It exists for tests and for decommissioning an installation.
func (s *Store) Destroy(ctx context.Context) error {
	var errs []error
	for _, name := range []string{s.prefix + "_META", s.prefix + "_QUEUES", s.prefix + "_LOGS"} {
		if err := s.js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			errs = append(errs, fmt.Errorf("delete stream %s: %w", name, err))
		}
	}
	if err := s.js.DeleteObjectStore(ctx, s.prefix+"_BLOBS"); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
		errs = append(errs, fmt.Errorf("delete object store: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("natsstore: destroy: %w", err)
	}
	return nil
}

// Reset wipes all state, or only the Meta namespaces, queues, log streams
// and blob keys whose name begins with one of prefixes.
func (s *Store) Reset(ctx context.Context, prefixes ...string) error {
	match := func(name string) bool {
		if len(prefixes) == 0 {
			return true
		}
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
		return false
	}
	if err := s.resetMeta(ctx, match, len(prefixes) == 0); err != nil {
		return fmt.Errorf("natsstore: reset meta: %w", err)
	}
	if err := s.resetQueues(ctx, match); err != nil {
		return fmt.Errorf("natsstore: reset queues: %w", err)
	}
	if err := s.resetLogs(ctx, match, len(prefixes) == 0); err != nil {
		return fmt.Errorf("natsstore: reset logs: %w", err)
	}
	if err := s.resetBlobs(ctx, match); err != nil {
		return fmt.Errorf("natsstore: reset blobs: %w", err)
	}
	return nil
}

// enc turns any string into one subject token (base64url without padding;
// "=" for the empty string, which base64 never produces).
func enc(s string) string {
	if s == "" {
		return "="
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// dec reverses enc.
func dec(tok string) (string, error) {
	if tok == "=" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", fmt.Errorf("natsstore: bad name token %q: %w", tok, err)
	}
	return string(b), nil
}

// messageID derives a UUID-formatted message ID from the queue stream
// sequence at which the message was first stored.
func (s *Store) messageID(seq uint64) string {
	h := sha256.New()
	h.Write(s.idSalt)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	h.Write(b[:])
	u := h.Sum(nil)[:16]
	u[6] = (u[6] & 0x0f) | 0x80 // version 8: custom
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// isWrongSeq reports a failed Nats-Expected-Last-Subject-Sequence check.
func isWrongSeq(err error) bool {
	var ae *jetstream.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			ae.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return false
}

// purgeVersion deletes the message seq of subj if it is still the
// subject's newest message, in one request: a purge filtered on subj of
// every sequence up to and including seq removes nothing when a newer
// version exists, because older versions are already gone (the stream
// keeps one message per subject). It reports whether a message was
// removed. Under SyncAlways this is several times faster than a
// DeleteMsg.
func (s *Store) purgeVersion(ctx context.Context, st jetstream.Stream, subj string, seq uint64) (bool, error) {
	req, err := json.Marshal(struct {
		Filter string `json:"filter"`
		Seq    uint64 `json:"seq"`
	}{subj, seq + 1})
	if err != nil {
		return false, err
	}
	resp, err := s.nc.RequestWithContext(ctx, "$JS.API.STREAM.PURGE."+st.CachedInfo().Config.Name, req)
	if err != nil {
		return false, fmt.Errorf("purge %s: %w", subj, err)
	}
	var out struct {
		Error  *jetstream.APIError `json:"error"`
		Purged uint64              `json:"purged"`
	}
	if err := json.Unmarshal(resp.Data, &out); err != nil {
		return false, fmt.Errorf("purge %s: %w", subj, err)
	}
	if out.Error != nil {
		return false, fmt.Errorf("purge %s: %w", subj, out.Error)
	}
	return out.Purged > 0, nil
}

// lastMsg returns the newest message on subj, or nil when there is none.
func lastMsg(ctx context.Context, st jetstream.Stream, subj string) (*jetstream.RawStreamMsg, error) {
	m, err := st.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", subj, err)
	}
	return m, nil
}

// scan delivers every message of st matching filter (from startSeq, or the
// beginning when 0) in stream order to fn, until fn returns false. It uses
// a short-lived ephemeral pull consumer; headersOnly omits payloads.
func scan(ctx context.Context, st jetstream.Stream, filter string, startSeq uint64, headersOnly bool, fn func(jetstream.Msg) (bool, error)) error {
	cfg := jetstream.ConsumerConfig{
		FilterSubject:     filter,
		AckPolicy:         jetstream.AckNonePolicy,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		HeadersOnly:       headersOnly,
		InactiveThreshold: time.Minute,
		MemoryStorage:     true,
		Replicas:          1,
	}
	if startSeq > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = startSeq
	}
	cons, err := st.CreateConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("scan %s: create consumer: %w", filter, err)
	}
	name := cons.CachedInfo().Name
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = st.DeleteConsumer(dctx, name)
	}()
	pending := cons.CachedInfo().NumPending
	for pending > 0 {
		batch, err := cons.FetchNoWait(int(min(pending, 256)))
		if err != nil {
			return fmt.Errorf("scan %s: fetch: %w", filter, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("scan %s: metadata: %w", filter, err)
			}
			pending = md.NumPending
			more, err := fn(m)
			if err != nil {
				return err
			}
			if !more {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("scan %s: fetch: %w", filter, err)
		}
		if n == 0 {
			break
		}
	}
	return ctx.Err()
}

// subjects lists the subjects of st matching filter that hold messages.
func subjects(ctx context.Context, st jetstream.Stream, filter string) ([]string, error) {
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, fmt.Errorf("list subjects %s: %w", filter, err)
	}
	out := make([]string, 0, len(info.State.Subjects))
	for subj, n := range info.State.Subjects {
		if n > 0 {
			out = append(out, subj)
		}
	}
	return out, nil
}
