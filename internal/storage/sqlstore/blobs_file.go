package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fogbank/fogbank/internal/storage"
)

// fileBlobs implements storage.Blobs as files under dir, indexed by the
// blob_file table. Each Put writes a new file with a random name (via a
// temporary file that is fsynced and renamed, with the directory fsynced),
// then points the key at it in one transaction and removes the old file.
// A crash therefore leaves either the old or the new blob, never a torn
// one; files no row points at are removed by the next open.
type fileBlobs struct {
	s     *Store
	dir   string // dir/blobs
	fsync bool
}

// getRetries bounds how often Get re-reads the index when a concurrent Put
// or Delete removed the file it found.
const getRetries = 5

func newFileBlobs(ctx context.Context, s *Store, dir string, fsync bool) (*fileBlobs, error) {
	b := &fileBlobs{s: s, dir: dir, fsync: fsync}
	if err := os.MkdirAll(b.tmpDir(), 0o700); err != nil {
		return nil, fmt.Errorf("blobs: %w", err)
	}
	if err := b.removeOrphans(ctx); err != nil {
		return nil, fmt.Errorf("blobs: remove orphans: %w", err)
	}
	return b, nil
}

func (b *fileBlobs) tmpDir() string { return filepath.Join(b.dir, "tmp") }

// path returns the absolute path of a stored file name ("ab/abcdef…").
func (b *fileBlobs) path(file string) string { return filepath.Join(b.dir, filepath.FromSlash(file)) }

// removeOrphans deletes temporary files and blob files that no index row
// names (left by a crash between writing a file and committing its row,
// or between committing and removing the replaced file).
func (b *fileBlobs) removeOrphans(ctx context.Context) error {
	tmps, err := os.ReadDir(b.tmpDir())
	if err != nil {
		return err
	}
	for _, e := range tmps {
		os.Remove(filepath.Join(b.tmpDir(), e.Name()))
	}
	known := map[string]bool{}
	rows, err := b.s.r.QueryContext(ctx, "SELECT file FROM blob_file")
	if err != nil {
		return err
	}
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			rows.Close()
			return err
		}
		known[f] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	removed := 0
	err = filepath.WalkDir(b.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == b.tmpDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(b.dir, p)
		if err != nil {
			return err
		}
		if !known[filepath.ToSlash(rel)] {
			removed++
			return os.Remove(p)
		}
		return nil
	})
	if removed > 0 {
		b.s.log.Info("sqlstore: removed orphaned blob files", "count", removed)
	}
	return err
}

func (b *fileBlobs) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	file, size, err := b.writeFile(ctx, r)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: put blob %q: %w", key, err)
	}
	var old string
	err = b.s.tx(ctx, func(ctx context.Context, tx execer) error {
		old = ""
		err := tx.QueryRowContext(ctx, "SELECT file FROM blob_file WHERE key = ?", key).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO blob_file (key, file, size) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET file = excluded.file, size = excluded.size`, key, file, size)
		return err
	})
	if err != nil {
		os.Remove(b.path(file))
		return 0, fmt.Errorf("sqlstore: put blob %q: index: %w", key, err)
	}
	if old != "" {
		b.removeFile(old)
	}
	return size, nil
}

// writeFile copies r into a new durable file and returns its name.
func (b *fileBlobs) writeFile(ctx context.Context, r io.Reader) (string, int64, error) {
	tmp, err := os.CreateTemp(b.tmpDir(), "put-*")
	if err != nil {
		return "", 0, err
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	size, err := io.Copy(tmp, ctxReader{ctx, r})
	if err != nil {
		return "", 0, fmt.Errorf("write: %w", err)
	}
	if b.fsync {
		if err := tmp.Sync(); err != nil {
			return "", 0, fmt.Errorf("sync: %w", err)
		}
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("close: %w", err)
	}
	id := newNonce()
	file := id[:2] + "/" + id
	shard := filepath.Join(b.dir, id[:2])
	created := false
	if _, err := os.Stat(shard); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(shard, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", 0, err
		}
		created = true
	}
	if err := os.Rename(tmpName, b.path(file)); err != nil {
		return "", 0, fmt.Errorf("rename: %w", err)
	}
	ok = true
	if b.fsync {
		if err := syncDir(shard); err != nil {
			return "", 0, err
		}
		if created {
			if err := syncDir(b.dir); err != nil {
				return "", 0, err
			}
		}
	}
	return file, size, nil
}

// removeFile deletes a blob file that no row names any more. A failure
// only leaves an orphan for the next open to remove.
func (b *fileBlobs) removeFile(file string) {
	if err := os.Remove(b.path(file)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		b.s.log.Warn("sqlstore: remove blob file", "file", file, "err", err)
	}
}

func (b *fileBlobs) Get(ctx context.Context, key string) (io.ReadCloser, storage.BlobInfo, error) {
	for range getRetries {
		var file string
		info := storage.BlobInfo{Key: key}
		err := b.s.r.QueryRowContext(ctx, "SELECT file, size FROM blob_file WHERE key = ?", key).Scan(&file, &info.Size)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, storage.BlobInfo{}, fmt.Errorf("sqlstore: get blob %q: %w", key, storage.ErrNotFound)
		}
		if err != nil {
			return nil, storage.BlobInfo{}, fmt.Errorf("sqlstore: get blob %q: %w", key, err)
		}
		f, err := os.Open(b.path(file))
		if errors.Is(err, fs.ErrNotExist) {
			continue // replaced or deleted since the lookup
		}
		if err != nil {
			return nil, storage.BlobInfo{}, fmt.Errorf("sqlstore: get blob %q: %w", key, err)
		}
		return f, info, nil
	}
	return nil, storage.BlobInfo{}, fmt.Errorf("sqlstore: get blob %q: file keeps changing under concurrent writes", key)
}

func (b *fileBlobs) Delete(ctx context.Context, key string) error {
	var file string
	err := b.s.write(ctx, func(ctx context.Context, ex execer) error {
		return ex.QueryRowContext(ctx, "DELETE FROM blob_file WHERE key = ? RETURNING file", key).Scan(&file)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlstore: delete blob %q: %w", key, storage.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: delete blob %q: %w", key, err)
	}
	b.removeFile(file)
	return nil
}

func (b *fileBlobs) List(ctx context.Context, prefix string) ([]storage.BlobInfo, error) {
	return listBlobs(ctx, b.s, "blob_file", prefix)
}

// listBlobs lists key and size from a blob table in key order.
func listBlobs(ctx context.Context, s *Store, table, prefix string) ([]storage.BlobInfo, error) {
	cond, args := prefixCond("key", prefix)
	rows, err := s.r.QueryContext(ctx, s.d.q("SELECT key, size FROM "+table+" WHERE "+cond+" ORDER BY key"), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list blobs %q: %w", prefix, err)
	}
	defer rows.Close()
	var out []storage.BlobInfo
	for rows.Next() {
		var bi storage.BlobInfo
		if err := rows.Scan(&bi.Key, &bi.Size); err != nil {
			return nil, fmt.Errorf("sqlstore: list blobs %q: %w", prefix, err)
		}
		out = append(out, bi)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list blobs %q: %w", prefix, err)
	}
	return out, nil
}

// syncDir fsyncs a directory so that renames and creations in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
