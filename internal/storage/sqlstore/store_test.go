package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fogbank/fogbank/internal/storage"
	"github.com/fogbank/fogbank/internal/storage/storagetest"
)

const defaultTestPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func openSQLite(t *testing.T) storage.Backend {
	t.Helper()
	s, err := OpenSQLite(t.Context(), t.TempDir(), Options{})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestSQLiteContract(t *testing.T) {
	storagetest.Run(t, openSQLite)
}

// postgresURL returns the test database URL, skipping the test when the
// server cannot be reached (failing instead when FOGBANK_REQUIRE_BACKENDS=1).
func postgresURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("FOGBANK_TEST_POSTGRES")
	if url == "" {
		url = defaultTestPostgres
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	if err != nil {
		if os.Getenv("FOGBANK_REQUIRE_BACKENDS") == "1" {
			t.Fatalf("PostgreSQL at %s is required (FOGBANK_REQUIRE_BACKENDS=1) but unreachable: %v", url, err)
		}
		t.Skipf("PostgreSQL at %s unreachable (set FOGBANK_TEST_POSTGRES to point elsewhere): %v", url, err)
	}
	return url
}

// openPostgres opens a store in a fresh random schema, dropped at cleanup.
func openPostgres(t testing.TB, url string) *Store {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	schema := "fbtest_" + hex.EncodeToString(b[:])
	s, err := OpenPostgres(context.Background(), url, Options{Schema: schema, MaxConns: 8})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return s
}

func TestPostgresContract(t *testing.T) {
	url := postgresURL(t)
	storagetest.Run(t, func(t *testing.T) storage.Backend { return openPostgres(t, url) })
}
