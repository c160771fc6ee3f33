package sqlstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

func toMsgs(in []struct {
	group string
	seq   int64
}) []storage.Message {
	out := make([]storage.Message, len(in))
	for i, m := range in {
		out[i] = storage.Message{GroupID: m.group, Seq: m.seq}
	}
	return out
}

func TestSQLiteSyncModes(t *testing.T) {
	tests := []struct {
		mode string
		want int // PRAGMA synchronous value
	}{{"", 2}, {"full", 2}, {"FULL", 2}, {"normal", 1}, {"off", 0}}
	for _, tc := range tests {
		s, err := OpenSQLite(t.Context(), t.TempDir(), Options{Sync: tc.mode})
		if err != nil {
			t.Fatalf("sync %q: %v", tc.mode, err)
		}
		var got int
		var journal string
		if err := s.w.QueryRow("PRAGMA synchronous").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if err := s.w.QueryRow("PRAGMA journal_mode").Scan(&journal); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if got != tc.want || journal != "wal" {
			t.Errorf("sync %q: synchronous=%d journal=%s, want %d wal", tc.mode, got, journal, tc.want)
		}
	}
	if _, err := OpenSQLite(t.Context(), t.TempDir(), Options{Sync: "sometimes"}); err == nil {
		t.Fatal("unknown sync mode accepted")
	}
}

func TestSQLiteReadPoolIsReadOnly(t *testing.T) {
	s, err := OpenSQLite(t.Context(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.r.Exec("DELETE FROM meta"); err == nil {
		t.Fatal("read pool accepted a write")
	}
}

// TestSQLiteReopen checks that everything survives a close and reopen and
// that numbering continues where it left off.
func TestSQLiteReopen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := OpenSQLite(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Meta().Put(ctx, "svc.x", "k", []byte("v"), storage.MustNotExist); err != nil {
		t.Fatal(err)
	}
	res, err := s.Queues().Send(ctx, "q", now, []storage.SendRequest{{Body: []byte("a")}, {Body: []byte("b")}})
	if err != nil {
		t.Fatal(err)
	}
	// Delete the newest message: its seq must not be reused.
	msgs, err := s.Queues().Receive(ctx, "q", now, storage.ReceiveOptions{Max: 10, Visibility: time.Minute})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("receive: %d, %v", len(msgs), err)
	}
	for _, m := range msgs {
		if m.Seq == res[1].Seq {
			if err := s.Queues().Delete(ctx, "q", m.Receipt); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.Logs().Append(ctx, "log", []storage.LogEntry{{Time: now, Data: []byte("l")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Blobs().Put(ctx, "blob", strings.NewReader("content")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = OpenSQLite(ctx, dir, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if r, err := s.Meta().Get(ctx, "svc.x", "k"); err != nil || string(r.Value) != "v" {
		t.Fatalf("meta after reopen: %+v %v", r, err)
	}
	st, err := s.Queues().Stats(ctx, "q", now)
	if err != nil || st.InFlight != 1 {
		t.Fatalf("queue after reopen: %+v %v", st, err)
	}
	more, err := s.Queues().Send(ctx, "q", now, []storage.SendRequest{{Body: []byte("c")}})
	if err != nil || more[0].Seq <= res[1].Seq {
		t.Fatalf("seq after reopen %d, want above %d (%v)", more[0].Seq, res[1].Seq, err)
	}
	seqs, err := s.Logs().Append(ctx, "log", []storage.LogEntry{{Time: now, Data: []byte("m")}})
	if err != nil || seqs[0] != 2 {
		t.Fatalf("log seq after reopen %v %v, want [2]", seqs, err)
	}
	rc, info, err := s.Blobs().Get(ctx, "blob")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if string(data) != "content" || info.Size != 7 {
		t.Fatalf("blob after reopen %q %+v", data, info)
	}
}

// TestSQLiteOrphanBlobs simulates crashes in the middle of a blob write:
// leftover temporary and unreferenced files are removed on open, and the
// referenced blob stays intact.
func TestSQLiteOrphanBlobs(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := OpenSQLite(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Blobs().Put(ctx, "k", bytes.NewReader([]byte("keep"))); err != nil {
		t.Fatal(err)
	}
	s.Close()
	blobs := filepath.Join(dir, "blobs")
	tmp := filepath.Join(blobs, "tmp", "put-123")
	orphan := filepath.Join(blobs, "zz", "zz0123")
	os.MkdirAll(filepath.Dir(orphan), 0o700)
	for _, p := range []string{tmp, orphan} {
		if err := os.WriteFile(p, []byte("torn"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err = OpenSQLite(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []string{tmp, orphan} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("orphan %s not removed (stat: %v)", p, err)
		}
	}
	rc, _, err := s.Blobs().Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if string(data) != "keep" {
		t.Fatalf("blob = %q", data)
	}
	// Replacing and deleting leave no files behind.
	if _, err := s.Blobs().Put(ctx, "k", strings.NewReader("new")); err != nil {
		t.Fatal(err)
	}
	if err := s.Blobs().Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	var files []string
	filepath.WalkDir(blobs, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Fatalf("files left after delete: %q", files)
	}
}

// TestSQLiteBlobGetDuringReplace reads a blob while it is replaced over and
// over: every read sees one complete version.
func TestSQLiteBlobGetDuringReplace(t *testing.T) {
	ctx := t.Context()
	s, err := OpenSQLite(ctx, t.TempDir(), Options{Sync: "off"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	versions := [][]byte{bytes.Repeat([]byte("a"), 50000), bytes.Repeat([]byte("b"), 70000)}
	if _, err := s.Blobs().Put(ctx, "k", bytes.NewReader(versions[0])); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for i := range 50 {
			if _, err := s.Blobs().Put(context.Background(), "k", bytes.NewReader(versions[i%2])); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 200 {
		rc, info, err := s.Blobs().Get(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, versions[0]) && !bytes.Equal(data, versions[1]) {
			t.Fatalf("read a torn blob of %d bytes", len(data))
		}
		if info.Size != int64(len(data)) {
			t.Fatalf("info size %d, read %d", info.Size, len(data))
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
