package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"github.com/fogbank/fogbank/internal/storage"
)

// dbBlobs implements storage.Blobs in the blob_data table (PostgreSQL).
// Each blob is read into memory to be stored, which suits function code
// and small objects; large objects want a dedicated object store later.
type dbBlobs struct{ s *Store }

func (b dbBlobs) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	s := b.s
	data, err := io.ReadAll(ctxReader{ctx, r})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: put blob %q: read: %w", key, err)
	}
	_, err = s.w.ExecContext(ctx, s.d.q(`INSERT INTO blob_data (key, size, data) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET size = excluded.size, data = excluded.data`), key, int64(len(data)), data)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: put blob %q: %w", key, err)
	}
	return int64(len(data)), nil
}

func (b dbBlobs) Get(ctx context.Context, key string) (io.ReadCloser, storage.BlobInfo, error) {
	s := b.s
	info := storage.BlobInfo{Key: key}
	var data []byte
	err := s.r.QueryRowContext(ctx, s.d.q("SELECT size, data FROM blob_data WHERE key = ?"), key).Scan(&info.Size, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, storage.BlobInfo{}, fmt.Errorf("sqlstore: get blob %q: %w", key, storage.ErrNotFound)
	}
	if err != nil {
		return nil, storage.BlobInfo{}, fmt.Errorf("sqlstore: get blob %q: %w", key, err)
	}
	return io.NopCloser(bytes.NewReader(data)), info, nil
}

func (b dbBlobs) Delete(ctx context.Context, key string) error {
	s := b.s
	res, err := s.w.ExecContext(ctx, s.d.q("DELETE FROM blob_data WHERE key = ?"), key)
	if err != nil {
		return fmt.Errorf("sqlstore: delete blob %q: %w", key, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: delete blob %q: %w", key, err)
	} else if n == 0 {
		return fmt.Errorf("sqlstore: delete blob %q: %w", key, storage.ErrNotFound)
	}
	return nil
}

func (b dbBlobs) List(ctx context.Context, prefix string) ([]storage.BlobInfo, error) {
	return listBlobs(ctx, b.s, "blob_data", prefix)
}
