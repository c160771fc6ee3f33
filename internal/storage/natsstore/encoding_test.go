package natsstore

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/fogbank/fogbank/internal/storage"
)

func TestEncDec(t *testing.T) {
	for _, s := range []string{"", "a", "sqs/111/us-east-1/q", "with.dot", "*", ">", "ünï code", "\x00\xff"} {
		tok := enc(s)
		if tok == "" || strings.ContainsAny(tok, ". *>\t") {
			t.Errorf("enc(%q) = %q is not a single subject token", s, tok)
		}
		got, err := dec(tok)
		if err != nil || got != s {
			t.Errorf("dec(enc(%q)) = %q, %v", s, got, err)
		}
	}
	if _, err := dec("!!"); err == nil {
		t.Error("dec accepted a bad token")
	}
}

func TestMetaSubjects(t *testing.T) {
	m := metaStore{&Store{prefix: "p"}}
	cases := []struct {
		ns, key string
	}{
		{"svc.things", "111/us-east-1/a"},
		{"svc.things", ""},
		{"svc.things", "a//b/"},
		{"", "/"},
		{"ns", "dots.in.key/and spaces"},
	}
	for _, c := range cases {
		subj := m.metaSubject(c.ns, c.key)
		ns, key, err := m.keyOf(subj)
		if err != nil || ns != c.ns || key != c.key {
			t.Errorf("keyOf(metaSubject(%q, %q)) = %q, %q, %v", c.ns, c.key, ns, key, err)
		}
	}
	// The filter of a prefix matches the subject of every key that has it.
	filters := []struct {
		prefix string
		want   string
	}{
		{"", "p.k." + enc("ns") + ".>"},
		{"111/us-east-1", "p.k." + enc("ns") + "." + enc("111") + ".>"},
		{"111/us-east-1/", "p.k." + enc("ns") + "." + enc("111") + "." + enc("us-east-1") + ".>"},
	}
	for _, f := range filters {
		if got := m.metaFilter("ns", f.prefix); got != f.want {
			t.Errorf("metaFilter(%q) = %q, want %q", f.prefix, got, f.want)
		}
	}
}

func TestPayload(t *testing.T) {
	cases := []struct{ attrs, body []byte }{
		{nil, nil},
		{[]byte(`{"a":1}`), []byte("body")},
		{nil, []byte{0, 1, 0xff}},
		{bytes.Repeat([]byte("a"), 300), nil},
	}
	for _, c := range cases {
		a, b, err := decodePayload(encodePayload(c.attrs, c.body))
		if err != nil || !bytes.Equal(a, c.attrs) || !bytes.Equal(b, c.body) {
			t.Errorf("round trip of (%q, %q) = (%q, %q, %v)", c.attrs, c.body, a, b, err)
		}
	}
	for _, bad := range [][]byte{nil, {0x80}, {5, 'a'}} {
		if _, _, err := decodePayload(bad); err == nil {
			t.Errorf("decodePayload(%q) accepted malformed input", bad)
		}
	}
}

func FuzzDecodePayload(f *testing.F) {
	f.Add(encodePayload([]byte("attrs"), []byte("body")))
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, p []byte) {
		a, b, err := decodePayload(p)
		if err != nil {
			return
		}
		if !bytes.Equal(encodePayload(a, b), p) {
			// Non-minimal varints decode too; the lengths must still add up.
			if len(a)+len(b) > len(p) {
				t.Fatalf("decoded more bytes than given")
			}
		}
	})
}

func TestReceipt(t *testing.T) {
	r := receipt{qhash: queueHash("q"), token: "ABCdef123", nonce: "xyz9"}
	got, ok := parseReceipt(r.String())
	if !ok || got != r {
		t.Fatalf("parseReceipt(%q) = %+v, %v", r.String(), got, ok)
	}
	for _, bad := range []string{"", "a.b", "a.b.c.d", "a..c", "a.b*.c", "a.>.c", "a.b c.d", "a.b.c\n", strings.Repeat("a", 65) + ".b.c"} {
		if _, ok := parseReceipt(bad); ok {
			t.Errorf("parseReceipt(%q) accepted a bad receipt", bad)
		}
	}
}

func FuzzParseReceipt(f *testing.F) {
	f.Add("0123abcd.TOKEN123.nonce456")
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, s string) {
		r, ok := parseReceipt(s)
		if !ok {
			return
		}
		// Whatever is accepted must be safe inside a subject and round-trip.
		if strings.ContainsAny(r.token, ".*> \t\r\n") || r.String() != s {
			t.Fatalf("parseReceipt(%q) accepted %+v", s, r)
		}
	})
}

func TestDecodeRec(t *testing.T) {
	idOf := func(seq uint64) string { return "id-" + string(rune('0'+seq)) }
	r := qrec{orig: 3, id: "keep", sent: 10, vis: 20, first: 15, count: 2, nonce: "n", group: "", hasGrp: true}
	got, err := decodeRec("p.q.m.Q.tok", 9, r.header(), idOf)
	if err != nil {
		t.Fatal(err)
	}
	want := r
	want.subj, want.token, want.seq = "p.q.m.Q.tok", "tok", 9
	if got != want {
		t.Fatalf("decodeRec = %+v, want %+v", got, want)
	}
	// A first version derives ID and Seq from its own sequence.
	h := nats.Header{}
	qrec{sent: 1, vis: 1}.stateInto(h)
	got, err = decodeRec("p.q.m.Q.t", 4, h, idOf)
	if err != nil || got.orig != 4 || got.id != "id-4" || got.hasGrp {
		t.Fatalf("first version decoded as %+v, %v", got, err)
	}
	h.Set(hdrCount, "x")
	if _, err := decodeRec("p.q.m.Q.t", 4, h, idOf); err == nil {
		t.Fatal("bad count accepted")
	}
}

func TestMessageIDFormat(t *testing.T) {
	s := &Store{idSalt: []byte("salt")}
	a, b := s.messageID(1), s.messageID(2)
	if a == b || len(a) != 36 || strings.Count(a, "-") != 4 {
		t.Fatalf("message IDs %q, %q", a, b)
	}
	if s.messageID(1) != a {
		t.Fatal("message ID not deterministic")
	}
}

func TestInvalidPrefix(t *testing.T) {
	for _, p := range []string{"a.b", "a b", "a>", "ä"} {
		if _, err := OpenEmbedded(t.Context(), t.TempDir(), Options{Prefix: p}); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
}

// TestEmbeddedRestart checks that acknowledged writes survive a restart of
// the embedded server and that message IDs stay stable.
func TestEmbeddedRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := OpenEmbedded(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Meta().Put(ctx, "svc.x", "111/k", []byte("v"), storage.MustNotExist); err != nil {
		t.Fatal(err)
	}
	sent, err := s.Queues().Send(ctx, "sqs/q", t0, []storage.SendRequest{{Body: []byte("m"), DedupID: "d", DedupWindow: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Logs().Append(ctx, "logs/s", []storage.LogEntry{{Time: t0, Data: []byte("l")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Blobs().Put(ctx, "b", strings.NewReader("blob")); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openEmbeddedDir(t, dir)
	r, err := s.Meta().Get(ctx, "svc.x", "111/k")
	if err != nil || string(r.Value) != "v" || r.Version != 1 {
		t.Fatalf("meta after restart: %+v, %v", r, err)
	}
	dup, err := s.Queues().Send(ctx, "sqs/q", t0.Add(time.Minute), []storage.SendRequest{{Body: []byte("m"), DedupID: "d", DedupWindow: time.Hour}})
	if err != nil || !dup[0].Duplicate || dup[0].ID != sent[0].ID {
		t.Fatalf("dedup after restart: %+v, %v", dup, err)
	}
	msgs, err := s.Queues().Receive(ctx, "sqs/q", t0, storage.ReceiveOptions{Max: 10, Visibility: time.Minute})
	if err != nil || len(msgs) != 1 || msgs[0].ID != sent[0].ID || msgs[0].Seq != sent[0].Seq {
		t.Fatalf("receive after restart: %+v, %v (sent %+v)", msgs, err, sent)
	}
	recs, err := s.Logs().Read(ctx, "logs/s", storage.LogQuery{})
	if err != nil || len(recs) != 1 {
		t.Fatalf("logs after restart: %+v, %v", recs, err)
	}
	if _, _, err := s.Blobs().Get(ctx, "b"); err != nil {
		t.Fatalf("blob after restart: %v", err)
	}
}

func openEmbeddedDir(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := OpenEmbedded(t.Context(), dir, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestLargeMessage sends a 1 MiB body with attributes, the SQS maximum,
// through the embedded server (whose max_payload is raised for it).
func TestLargeMessage(t *testing.T) {
	s := openEmbedded(t)
	ctx := t.Context()
	body := bytes.Repeat([]byte("b"), 1<<20)
	attrs := bytes.Repeat([]byte("a"), 1000)
	if _, err := s.Queues().Send(ctx, "q", t0, []storage.SendRequest{{Body: body, Attributes: attrs}}); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Queues().Receive(ctx, "q", t0, storage.ReceiveOptions{Max: 1, Visibility: time.Minute})
	if err != nil || len(msgs) != 1 || !bytes.Equal(msgs[0].Body, body) || !bytes.Equal(msgs[0].Attributes, attrs) {
		t.Fatalf("large message round trip failed: %v", err)
	}
}

// TestDedupSweep checks that Expire removes dedup entries whose window has
// ended, and that Drop leaves no live entry behind.
func TestDedupSweep(t *testing.T) {
	s := openEmbedded(t)
	ctx := t.Context()
	q := s.Queues()
	send := func(id string, at time.Time, window time.Duration) {
		t.Helper()
		if _, err := q.Send(ctx, "q", at, []storage.SendRequest{{Body: []byte(id), DedupID: id, DedupWindow: window}}); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		t.Helper()
		subjs, err := subjects(ctx, s.queueStream, s.dedupFilter(enc("q")))
		if err != nil {
			t.Fatal(err)
		}
		return len(subjs)
	}
	send("short", t0, time.Minute)
	send("long", t0, time.Hour)
	if n := count(); n != 2 {
		t.Fatalf("%d dedup entries, want 2", n)
	}
	// Entries written moments ago are kept whatever their window: the
	// server may still remember the Nats-Msg-Id derived from them.
	if _, err := q.Expire(ctx, "q", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("fresh entries swept: %d left", n)
	}
	s.dedupQuiet = 0
	if _, err := q.Expire(ctx, "q", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d dedup entries after sweep, want 1 (the live one)", n)
	}
	s.dedupQuiet = time.Hour
	if err := q.Drop(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	d, err := s.readDedup(ctx, s.dedupSubject(enc("q"), "long"))
	if err != nil || d.live(nanos(t0)) {
		t.Fatalf("dedup entry live after Drop: %+v, %v", d, err)
	}
}
