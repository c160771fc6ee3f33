package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fogbank/fogbank/internal/storage"
	"github.com/fogbank/fogbank/internal/storage/natsstore"
	"github.com/fogbank/fogbank/internal/storage/sqlstore"
)

// openBackend opens the storage back end the config names.
func openBackend(ctx context.Context, cfg Config) (storage.Backend, error) {
	switch s := cfg.Storage; {
	case s == "" || s == "embedded":
		dir := filepath.Join(cfg.DataDir, "sqlite")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("server: data dir: %w", err)
		}
		return sqlstore.OpenSQLite(ctx, dir, sqlstore.Options{Sync: cfg.Sync, Logger: cfg.Logger})
	case strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://"):
		return sqlstore.OpenPostgres(ctx, s, sqlstore.Options{Schema: cfg.Namespace, Logger: cfg.Logger})
	case strings.HasPrefix(s, "nats://") || strings.HasPrefix(s, "tls://"):
		return natsstore.Open(ctx, s, natsstore.Options{Prefix: cfg.Namespace, Logger: cfg.Logger})
	case s == "nats-embedded":
		dir := filepath.Join(cfg.DataDir, "jetstream")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("server: data dir: %w", err)
		}
		return natsstore.OpenEmbedded(ctx, dir, natsstore.Options{Prefix: cfg.Namespace, Logger: cfg.Logger})
	default:
		return nil, fmt.Errorf("server: unknown storage %q (want embedded, nats-embedded, postgres://… or nats://…)", s)
	}
}
