package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// defaultBusyTimeout is SQLite's lock wait when Options.BusyTimeout is zero.
const defaultBusyTimeout = 10 * time.Second

// defaultSchema is the PostgreSQL schema when Options.Schema is empty.
const defaultSchema = "fogbank"

// OpenPostgres connects to the PostgreSQL database at url (a postgres://
// URL or key=value DSN), creates Options.Schema if needed, applies the
// embedded migrations and starts listening for cross-node queue
// notifications. Several nodes may open the same database and schema.
func OpenPostgres(ctx context.Context, url string, opts Options) (*Store, error) {
	schema := opts.Schema
	if schema == "" {
		schema = defaultSchema
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: parse postgres url: %w", err)
	}
	quoted := pgx.Identifier{schema}.Sanitize()

	// Create the schema on a plain connection first: search_path must name
	// an existing schema for the pool's connections to create tables in it.
	admin, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: connect to postgres: %w", err)
	}
	_, err = admin.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+quoted)
	admin.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: create schema %s: %w", quoted, err)
	}

	poolCfg := cfg.Copy()
	if poolCfg.RuntimeParams == nil {
		poolCfg.RuntimeParams = map[string]string{}
	}
	poolCfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*poolCfg)
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = 16
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)

	sum := sha256.Sum256([]byte(schema))
	s := &Store{
		d:         dialect{pg: true},
		w:         db,
		r:         db,
		log:       log,
		notify:    newNotifier(),
		pgChannel: "fogbank_q_" + hex.EncodeToString(sum[:8]),
	}
	s.blobs = dbBlobs{s}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect to postgres: %w", err)
	}
	lock := fmt.Sprintf("SELECT pg_advisory_xact_lock(hashtextextended('fogbank.migrate/%s', 0))", hex.EncodeToString(sum[:]))
	if err := s.migrate(ctx, "postgres", lock); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: postgres schema %s: %w", quoted, err)
	}
	l, err := startListener(ctx, cfg.Copy(), s.pgChannel, s.notify, log)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	s.listener = l
	return s, nil
}

// pgNotify queues a NOTIFY for queue on the store's channel; PostgreSQL
// delivers it to every listening node when tx commits. No-op on SQLite.
func (s *Store) pgNotify(ctx context.Context, tx execer, queue string) error {
	if !s.d.pg {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_notify($1, $2)", s.pgChannel, queue); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// pgListener holds one dedicated connection that LISTENs on the store's
// channel and fires the in-process notifier for every notification. If the
// connection drops it reconnects with backoff and then wakes every waiter,
// since notifications may have been missed meanwhile.
type pgListener struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func startListener(ctx context.Context, cfg *pgx.ConnConfig, channel string, n *notifier, log *slog.Logger) (*pgListener, error) {
	listen := func(ctx context.Context) (*pgx.Conn, error) {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("listener connect: %w", err)
		}
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
			conn.Close(context.Background())
			return nil, fmt.Errorf("listen: %w", err)
		}
		return conn, nil
	}
	conn, err := listen(ctx)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	l := &pgListener{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		backoff := 100 * time.Millisecond
		for {
			if conn == nil {
				select {
				case <-lctx.Done():
					return
				case <-time.After(backoff):
				}
				conn, err = listen(lctx)
				if err != nil {
					log.Warn("sqlstore: postgres listener reconnect failed", "err", err)
					backoff = min(backoff*2, 5*time.Second)
					continue
				}
				backoff = 100 * time.Millisecond
				n.closeAll() // wake waiters: notifications may have been missed
			}
			msg, err := conn.WaitForNotification(lctx)
			if err != nil {
				conn.Close(context.Background())
				conn = nil
				if lctx.Err() != nil {
					return
				}
				log.Warn("sqlstore: postgres listener lost its connection", "err", err)
				continue
			}
			n.fire(msg.Payload)
		}
	}()
	return l, nil
}

func (l *pgListener) close() {
	l.cancel()
	<-l.done
}
