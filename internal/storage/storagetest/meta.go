package storagetest

import (
	"fmt"
	"testing"

	"github.com/fogbank/fogbank/internal/storage"
)

var metaTests = []namedTest{
	{"GetPutDelete", testMetaGetPutDelete},
	{"CompareAndSet", testMetaCAS},
	{"List", testMetaList},
	{"Namespaces", testMetaNamespaces},
}

func testMetaGetPutDelete(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	m := b.Meta()
	_, err := m.Get(ctx, "svc.things", "k")
	wantErr(t, err, storage.ErrNotFound, "get absent")

	v := must(m.Put(ctx, "svc.things", "k", []byte("one"), storage.AnyVersion))(t)
	if v != 1 {
		t.Fatalf("first put version = %d, want 1", v)
	}
	r := must(m.Get(ctx, "svc.things", "k"))(t)
	if r.Key != "k" || r.Version != 1 {
		t.Fatalf("get = %+v, want key k version 1", r)
	}
	eqBytes(t, r.Value, []byte("one"), "value")

	v = must(m.Put(ctx, "svc.things", "k", []byte("two"), storage.AnyVersion))(t)
	if v != 2 {
		t.Fatalf("second put version = %d, want 2", v)
	}
	r = must(m.Get(ctx, "svc.things", "k"))(t)
	eqBytes(t, r.Value, []byte("two"), "replaced value")

	// Empty and binary values round-trip.
	must(m.Put(ctx, "svc.things", "empty", nil, storage.AnyVersion))(t)
	r = must(m.Get(ctx, "svc.things", "empty"))(t)
	if len(r.Value) != 0 {
		t.Fatalf("empty value = %q", r.Value)
	}
	bin := []byte{0, 1, 2, 0xff, 0xfe, 0}
	must(m.Put(ctx, "svc.things", "bin", bin, storage.AnyVersion))(t)
	r = must(m.Get(ctx, "svc.things", "bin"))(t)
	eqBytes(t, r.Value, bin, "binary value")

	noErr(t, m.Delete(ctx, "svc.things", "k", storage.AnyVersion))
	_, err = m.Get(ctx, "svc.things", "k")
	wantErr(t, err, storage.ErrNotFound, "get deleted")
	wantErr(t, m.Delete(ctx, "svc.things", "k", storage.AnyVersion), storage.ErrNotFound, "delete absent")
	wantErr(t, m.Delete(ctx, "svc.things", "k", 3), storage.ErrNotFound, "conditional delete absent")

	// A re-created key starts again at version 1.
	v = must(m.Put(ctx, "svc.things", "k", []byte("again"), storage.MustNotExist))(t)
	if v != 1 {
		t.Fatalf("re-created version = %d, want 1", v)
	}
}

func testMetaCAS(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	m := b.Meta()
	const ns = "svc.cas"

	_, err := m.Put(ctx, ns, "k", []byte("x"), 1)
	wantErr(t, err, storage.ErrConflict, "put expecting version 1 of absent key")
	_, err = m.Get(ctx, ns, "k")
	wantErr(t, err, storage.ErrNotFound, "failed put must not create")

	v := must(m.Put(ctx, ns, "k", []byte("a"), storage.MustNotExist))(t)
	if v != 1 {
		t.Fatalf("version = %d, want 1", v)
	}
	_, err = m.Put(ctx, ns, "k", []byte("b"), storage.MustNotExist)
	wantErr(t, err, storage.ErrConflict, "MustNotExist on existing key")

	_, err = m.Put(ctx, ns, "k", []byte("b"), 2)
	wantErr(t, err, storage.ErrConflict, "put with stale future version")
	v = must(m.Put(ctx, ns, "k", []byte("b"), 1))(t)
	if v != 2 {
		t.Fatalf("version = %d, want 2", v)
	}
	_, err = m.Put(ctx, ns, "k", []byte("c"), 1)
	wantErr(t, err, storage.ErrConflict, "put with old version")
	r := must(m.Get(ctx, ns, "k"))(t)
	if r.Version != 2 || string(r.Value) != "b" {
		t.Fatalf("after conflicts got %+v, want version 2 value b", r)
	}

	wantErr(t, m.Delete(ctx, ns, "k", 1), storage.ErrConflict, "delete with old version")
	if _, err := m.Get(ctx, ns, "k"); err != nil {
		t.Fatalf("conflicting delete removed the record: %v", err)
	}
	noErr(t, m.Delete(ctx, ns, "k", 2))
	_, err = m.Get(ctx, ns, "k")
	wantErr(t, err, storage.ErrNotFound, "get after CAS delete")

	// Concurrent CAS increments: every successful Put wins exactly one
	// version, so the final counter equals the number of successes.
	must(m.Put(ctx, ns, "ctr", []byte("0"), storage.MustNotExist))(t)
	const workers, rounds = 4, 10
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			for i := 0; i < rounds; {
				r, err := m.Get(ctx, ns, "ctr")
				if err != nil {
					errs <- err
					return
				}
				var n int
				fmt.Sscan(string(r.Value), &n)
				_, err = m.Put(ctx, ns, "ctr", []byte(fmt.Sprint(n+1)), r.Version)
				if err == nil {
					i++
					continue
				}
				if !isErr(err, storage.ErrConflict) {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < workers; w++ {
		noErr(t, <-errs)
	}
	r = must(m.Get(ctx, ns, "ctr"))(t)
	if string(r.Value) != fmt.Sprint(workers*rounds) || r.Version != workers*rounds+1 {
		t.Fatalf("counter = %q version %d, want %d version %d", r.Value, r.Version, workers*rounds, workers*rounds+1)
	}
}

func testMetaList(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	m := b.Meta()
	const ns = "svc.list"
	keys := []string{
		storage.Key("111", "us-east-1", "b"),
		storage.Key("111", "us-east-1", "a"),
		storage.Key("111", "us-east-1", "a/x"),
		storage.Key("111", "us-east-10", "a"),
		storage.Key("111", "us-west-2", "a"),
		storage.Key("222", "us-east-1", "a"),
		"111/us-east-1/Z", // upper case sorts before lower case (byte order)
	}
	for i, k := range keys {
		must(m.Put(ctx, ns, k, []byte(fmt.Sprint(i)), storage.MustNotExist))(t)
	}
	must(m.Put(ctx, ns, keys[0], []byte("updated"), storage.AnyVersion))(t)
	must(m.Put(ctx, "svc.other", "111/us-east-1/c", []byte("other ns"), storage.AnyVersion))(t)

	listKeys := func(prefix, after string, limit int) []string {
		t.Helper()
		recs := must(m.List(ctx, ns, prefix, after, limit))(t)
		out := make([]string, 0, len(recs))
		for _, r := range recs {
			out = append(out, r.Key)
		}
		return out
	}
	cases := []struct {
		prefix, after string
		limit         int
		want          []string
	}{
		{"", "", 0, []string{"111/us-east-1/Z", "111/us-east-1/a", "111/us-east-1/a/x", "111/us-east-1/b", "111/us-east-10/a", "111/us-west-2/a", "222/us-east-1/a"}},
		{"111/us-east-1/", "", 0, []string{"111/us-east-1/Z", "111/us-east-1/a", "111/us-east-1/a/x", "111/us-east-1/b"}},
		{"111/us-east-1", "", 0, []string{"111/us-east-1/Z", "111/us-east-1/a", "111/us-east-1/a/x", "111/us-east-1/b", "111/us-east-10/a"}},
		{"111/us-east-1/", "", 2, []string{"111/us-east-1/Z", "111/us-east-1/a"}},
		{"111/us-east-1/", "111/us-east-1/a", 2, []string{"111/us-east-1/a/x", "111/us-east-1/b"}},
		{"111/us-east-1/", "111/us-east-1/b", 2, nil},
		{"111/us-east-1/", "111/us-east-1/aa", 0, []string{"111/us-east-1/b"}},
		{"111/", "111/us-east-10/a", -1, []string{"111/us-west-2/a"}},
		{"", "111/us-west-2/a", 1, []string{"222/us-east-1/a"}},
		{"3", "", 0, nil},
		{"111/us-east-1/a", "", 0, []string{"111/us-east-1/a", "111/us-east-1/a/x"}},
	}
	for _, c := range cases {
		got := listKeys(c.prefix, c.after, c.limit)
		if fmt.Sprint(got) != fmt.Sprint(c.want) || len(got) != len(c.want) {
			t.Errorf("List(prefix=%q, after=%q, limit=%d) = %q, want %q", c.prefix, c.after, c.limit, got, c.want)
		}
	}

	// Records carry value and version.
	recs := must(m.List(ctx, ns, keys[0], "", 0))(t)
	if len(recs) != 1 || string(recs[0].Value) != "updated" || recs[0].Version != 2 {
		t.Fatalf("List(%q) = %+v, want one record value updated version 2", keys[0], recs)
	}

	// Paging with after=last key visits every key exactly once.
	var all []string
	after := ""
	for {
		page := listKeys("", after, 3)
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1]
	}
	if len(all) != len(keys) {
		t.Fatalf("paged listing returned %d keys, want %d: %q", len(all), len(keys), all)
	}
}

func testMetaNamespaces(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	m := b.Meta()
	must(m.Put(ctx, "svc.a", "k", []byte("in a"), storage.MustNotExist))(t)
	v := must(m.Put(ctx, "svc.b", "k", []byte("in b"), storage.MustNotExist))(t)
	if v != 1 {
		t.Fatalf("namespaces share versions: got %d, want 1", v)
	}
	r := must(m.Get(ctx, "svc.a", "k"))(t)
	eqBytes(t, r.Value, []byte("in a"), "svc.a value")
	noErr(t, m.Delete(ctx, "svc.b", "k", storage.AnyVersion))
	if _, err := m.Get(ctx, "svc.a", "k"); err != nil {
		t.Fatalf("delete in svc.b removed svc.a record: %v", err)
	}
	recs := must(m.List(ctx, "svc.b", "", "", 0))(t)
	if len(recs) != 0 {
		t.Fatalf("svc.b still lists %d records", len(recs))
	}
}
