package natsstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fogbank/fogbank/internal/storage"
)

// blobStore implements storage.Blobs on the JetStream object store bucket
// <prefix>_BLOBS. The object store writes chunks under a fresh ID and
// switches the object's metadata only once every chunk is stored, so a
// failed Put leaves the previous blob in place.
type blobStore struct{ s *Store }

// Put stores r under key and returns its size.
func (b blobStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	info, err := b.s.blobStore.Put(ctx, jetstream.ObjectMeta{Name: key}, r)
	if err != nil {
		return 0, fmt.Errorf("natsstore: put blob %q: %w", key, err)
	}
	return int64(info.Size), nil
}

// Get opens a blob or returns storage.ErrNotFound.
func (b blobStore) Get(ctx context.Context, key string) (io.ReadCloser, storage.BlobInfo, error) {
	res, err := b.s.blobStore.Get(ctx, key)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, storage.BlobInfo{}, storage.ErrNotFound
	}
	if err != nil {
		return nil, storage.BlobInfo{}, fmt.Errorf("natsstore: get blob %q: %w", key, err)
	}
	info, err := res.Info()
	if err != nil {
		res.Close()
		return nil, storage.BlobInfo{}, fmt.Errorf("natsstore: get blob %q: %w", key, err)
	}
	return res, storage.BlobInfo{Key: key, Size: int64(info.Size)}, nil
}

// Delete removes a blob or returns storage.ErrNotFound.
func (b blobStore) Delete(ctx context.Context, key string) error {
	if _, err := b.s.blobStore.GetInfo(ctx, key); err != nil {
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return storage.ErrNotFound
		}
		return fmt.Errorf("natsstore: delete blob %q: %w", key, err)
	}
	if err := b.s.blobStore.Delete(ctx, key); err != nil {
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return storage.ErrNotFound
		}
		return fmt.Errorf("natsstore: delete blob %q: %w", key, err)
	}
	return nil
}

// List returns the blobs whose key starts with prefix, in key order. It
// reads the metadata of every object in the bucket.
func (b blobStore) List(ctx context.Context, prefix string) ([]storage.BlobInfo, error) {
	infos, err := b.s.blobStore.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("natsstore: list blobs: %w", err)
	}
	var out []storage.BlobInfo
	for _, in := range infos {
		if !in.Deleted && strings.HasPrefix(in.Name, prefix) {
			out = append(out, storage.BlobInfo{Key: in.Name, Size: int64(in.Size)})
		}
	}
	slices.SortFunc(out, func(x, y storage.BlobInfo) int { return strings.Compare(x.Key, y.Key) })
	return out, nil
}

func (s *Store) resetBlobs(ctx context.Context, match func(string) bool) error {
	infos, err := s.blobStore.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, in := range infos {
		if in.Deleted || !match(in.Name) {
			continue
		}
		if err := s.blobStore.Delete(ctx, in.Name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return err
		}
	}
	return nil
}
