package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

// Run runs the whole contract suite as subtests of t. open is called once
// per subtest and must return a fresh, empty Backend that shares no state
// with any other; it registers its own cleanup (Close, removing files or
// schemas) with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) storage.Backend) {
	t.Helper()
	groups := []struct {
		name  string
		tests []namedTest
	}{
		{"Meta", metaTests},
		{"Queues", queueTests},
		{"Logs", logTests},
		{"Blobs", blobTests},
		{"Reset", resetTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					b := open(t)
					if b == nil {
						t.Fatal("storagetest: open returned nil")
					}
					tc.fn(t, b)
				})
			}
		})
	}
}

type namedTest struct {
	name string
	fn   func(t *testing.T, b storage.Backend)
}

// t0 is the synthetic start time of every test; whole seconds so that back
// ends storing milliseconds or microseconds round-trip it exactly.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// must turns a (value, error) result into a function that fails the test
// on error and returns the value: v := must(f())(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func wantErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func eqBytes(t *testing.T, got, want []byte, what string) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %q, want %q", what, trunc(got), trunc(want))
	}
}

func eqTime(t *testing.T, got, want time.Time, what string) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func trunc(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%s…(%d bytes)", b[:64], len(b))
	}
	return string(b)
}

func isErr(err, target error) bool { return errors.Is(err, target) }
