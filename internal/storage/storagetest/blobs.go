package storagetest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/fogbank/fogbank/internal/storage"
)

var blobTests = []namedTest{
	{"PutGetReplaceDelete", testBlobPutGet},
	{"List", testBlobList},
}

func readBlob(t *testing.T, bl storage.Blobs, key string) ([]byte, storage.BlobInfo) {
	t.Helper()
	rc, info, err := bl.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("get blob %q: %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read blob %q: %v", key, err)
	}
	return data, info
}

// failingReader yields some data and then an error.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("storagetest: injected read failure")
	}
	n := min(len(p), r.n)
	for i := range n {
		p[i] = 'x'
	}
	r.n -= n
	return n, nil
}

func testBlobPutGet(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	bl := b.Blobs()
	const key = "lambda/111/us-east-1/fn/code.zip"
	_, _, err := bl.Get(ctx, key)
	wantErr(t, err, storage.ErrNotFound, "get absent blob")

	n := must(bl.Put(ctx, key, strings.NewReader("hello")))(t)
	if n != 5 {
		t.Fatalf("put size %d, want 5", n)
	}
	data, info := readBlob(t, bl, key)
	eqBytes(t, data, []byte("hello"), "blob content")
	if info.Key != key || info.Size != 5 {
		t.Fatalf("info = %+v", info)
	}

	big := make([]byte, 3<<20+17)
	rand.Read(big)
	n = must(bl.Put(ctx, key, bytes.NewReader(big)))(t)
	if n != int64(len(big)) {
		t.Fatalf("replace size %d, want %d", n, len(big))
	}
	data, info = readBlob(t, bl, key)
	if !bytes.Equal(data, big) || info.Size != int64(len(big)) {
		t.Fatalf("replaced blob: %d bytes (info %d), want %d", len(data), info.Size, len(big))
	}

	// A failed Put leaves the previous blob in place.
	if _, err := bl.Put(ctx, key, &failingReader{n: 1000}); err == nil {
		t.Fatal("put from a failing reader succeeded")
	}
	data, _ = readBlob(t, bl, key)
	if !bytes.Equal(data, big) {
		t.Fatal("failed put changed the stored blob")
	}

	must(bl.Put(ctx, "s3/empty", bytes.NewReader(nil)))(t)
	data, info = readBlob(t, bl, "s3/empty")
	if len(data) != 0 || info.Size != 0 {
		t.Fatalf("empty blob: %d bytes, info %+v", len(data), info)
	}

	noErr(t, bl.Delete(ctx, key))
	_, _, err = bl.Get(ctx, key)
	wantErr(t, err, storage.ErrNotFound, "get deleted blob")
	wantErr(t, bl.Delete(ctx, key), storage.ErrNotFound, "delete absent blob")
}

func testBlobList(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	bl := b.Blobs()
	blobs := map[string]string{
		"s3/bucket/a":   "1",
		"s3/bucket/b/c": "22",
		"s3/bucket/b/d": "333",
		"s3/bucket2/a":  "4444",
		"s3/bucket/weird key with spaces & ünïcode": "55555",
		"lambda/x": "",
	}
	for k, v := range blobs {
		must(bl.Put(ctx, k, strings.NewReader(v)))(t)
	}
	cases := []struct {
		prefix string
		want   []storage.BlobInfo
	}{
		{"s3/bucket/", []storage.BlobInfo{bi("s3/bucket/a", 1), bi("s3/bucket/b/c", 2), bi("s3/bucket/b/d", 3), bi("s3/bucket/weird key with spaces & ünïcode", 5)}},
		{"s3/bucket/b", []storage.BlobInfo{bi("s3/bucket/b/c", 2), bi("s3/bucket/b/d", 3)}},
		{"s3/bucket", []storage.BlobInfo{bi("s3/bucket/a", 1), bi("s3/bucket/b/c", 2), bi("s3/bucket/b/d", 3), bi("s3/bucket/weird key with spaces & ünïcode", 5), bi("s3/bucket2/a", 4)}},
		{"lambda/", []storage.BlobInfo{bi("lambda/x", 0)}},
		{"none/", nil},
	}
	for _, c := range cases {
		got := must(bl.List(ctx, c.prefix))(t)
		if !slices.Equal(got, c.want) {
			t.Errorf("List(%q) = %v, want %v (in key order)", c.prefix, got, c.want)
		}
	}
	data, _ := readBlob(t, bl, "s3/bucket/weird key with spaces & ünïcode")
	eqBytes(t, data, []byte("55555"), "blob with unusual key")
	all := must(bl.List(ctx, ""))(t)
	if len(all) != len(blobs) {
		t.Fatalf("List(\"\") returned %d blobs, want %d", len(all), len(blobs))
	}
}

func bi(key string, size int64) storage.BlobInfo { return storage.BlobInfo{Key: key, Size: size} }
