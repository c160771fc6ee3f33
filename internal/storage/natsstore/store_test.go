package natsstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/fogbank/fogbank/internal/storage"
	"github.com/fogbank/fogbank/internal/storage/storagetest"
)

const defaultTestNATS = "nats://127.0.0.1:4222"

// testPrefix returns a fresh random prefix so tests sharing a server never
// see each other's data.
func testPrefix(t testing.TB) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "fbt_" + hex.EncodeToString(b[:])
}

// natsURL returns the external test server's URL, skipping the test when
// it cannot be reached (failing instead when FOGBANK_REQUIRE_BACKENDS=1).
func natsURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("FOGBANK_TEST_NATS")
	if url == "" {
		url = defaultTestNATS
	}
	nc, err := nats.Connect(url, nats.Timeout(3*time.Second))
	if err == nil {
		nc.Close()
	}
	if err != nil {
		if os.Getenv("FOGBANK_REQUIRE_BACKENDS") == "1" {
			t.Fatalf("NATS at %s is required (FOGBANK_REQUIRE_BACKENDS=1) but unreachable: %v", url, err)
		}
		t.Skipf("NATS at %s unreachable (set FOGBANK_TEST_NATS to point elsewhere): %v", url, err)
	}
	return url
}

// openExternal opens a Store with a random prefix on the external server
// and destroys everything it created at cleanup.
func openExternal(t *testing.T, url string) *Store {
	t.Helper()
	return openExternalPrefix(t, url, testPrefix(t), true)
}

func openExternalPrefix(t *testing.T, url, prefix string, destroy bool) *Store {
	t.Helper()
	s, err := Open(t.Context(), url, Options{Prefix: prefix})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if destroy {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.Destroy(ctx); err != nil {
				t.Errorf("destroy: %v", err)
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func openEmbedded(t *testing.T) *Store {
	t.Helper()
	s, err := OpenEmbedded(t.Context(), t.TempDir(), Options{})
	if err != nil {
		t.Fatalf("open embedded: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestEmbeddedContract(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend { return openEmbedded(t) })
}

func TestExternalContract(t *testing.T) {
	url := natsURL(t)
	storagetest.Run(t, func(t *testing.T) storage.Backend { return openExternal(t, url) })
}
