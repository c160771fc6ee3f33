package server

import (
	"context"
	"fmt"

	"github.com/fogbank/fogbank/internal/clock"
	"github.com/fogbank/fogbank/internal/identity"
	"github.com/fogbank/fogbank/internal/ids"
)

// OpenIdentity opens the storage a config names and returns its identity
// store, for the admin CLI to manage accounts and keys while no server runs
// on that storage (embedded storage belongs to one process at a time; on a
// shared back end a running server sees the change within its identity
// cache lifetime). The returned close function releases the storage.
func OpenIdentity(ctx context.Context, cfg Config) (*identity.Store, func() error, error) {
	cfg.setDefaults()
	backend, err := openBackend(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	st := identity.NewStore(backend.Meta(), clock.NewScaled(1), ids.New(0), false)
	if err := st.Bootstrap(ctx); err != nil {
		backend.Close()
		return nil, nil, fmt.Errorf("server: bootstrap identity: %w", err)
	}
	return st, backend.Close, nil
}
