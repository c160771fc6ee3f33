package lambda

import (
	"context"
	"testing"

	"github.com/fogbank/fogbank/internal/storage"
	"github.com/fogbank/fogbank/internal/storage/sqlstore"
)

func TestHotCacheInvalidation(t *testing.T) {
	st, err := sqlstore.OpenSQLite(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Skipf("sqlite store: %v", err)
	}
	defer st.Close()
	ctx := context.Background()
	m := newCachingMeta(st.Meta())
	put := func(v string) {
		if _, err := storage.PutJSON(ctx, m, nsFunctions, "k", map[string]string{"v": v}, storage.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
	get := func() string {
		v, _, err := hotJSON[map[string]string](ctx, m, nsFunctions, "k")
		if err != nil {
			return "err:" + err.Error()
		}
		return v["v"]
	}
	put("1")
	if got := get(); got != "1" {
		t.Fatalf("got %s", got)
	}
	put("2") // through the cache: invalidated at once
	if got := get(); got != "2" {
		t.Fatalf("after put: %s", got)
	}
	// A write behind the cache's back is seen after Invalidate.
	if _, err := st.Meta().Put(ctx, nsFunctions, "k", []byte(`{"v":"3"}`), storage.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if got := get(); got != "2" {
		t.Fatalf("cached value expected, got %s", got)
	}
	m.invalidateAll()
	if got := get(); got != "3" {
		t.Fatalf("after invalidate: %s", got)
	}
	if err := m.Delete(ctx, nsFunctions, "k", storage.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if got := get(); got == "3" {
		t.Fatal("deleted record still served")
	}
}
