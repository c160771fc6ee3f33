package storagetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

var logTests = []namedTest{
	{"AppendRead", testLogAppendRead},
	{"Query", testLogQuery},
	{"Trim", testLogTrim},
	{"Streams", testLogStreams},
}

const stream = "logs/111/us-east-1/group/stream"

// appendN appends n records at t0, t0+1s, ... with data "r0", "r1", ...
func appendN(t *testing.T, l storage.Logs, name string, n int) []int64 {
	t.Helper()
	entries := make([]storage.LogEntry, n)
	for i := range entries {
		entries[i] = storage.LogEntry{Time: at(time.Duration(i) * time.Second), Data: []byte(fmt.Sprint("r", i))}
	}
	seqs := must(l.Append(t.Context(), name, entries))(t)
	if len(seqs) != n {
		t.Fatalf("append returned %d seqs for %d entries", len(seqs), n)
	}
	return seqs
}

func datas(recs []storage.LogRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Data)
	}
	return out
}

func rs(idx ...int) []string {
	out := make([]string, len(idx))
	for i, n := range idx {
		out[i] = fmt.Sprint("r", n)
	}
	return out
}

func span(from, to int) []int {
	var out []int
	if from <= to {
		for i := from; i <= to; i++ {
			out = append(out, i)
		}
	} else {
		for i := from; i >= to; i-- {
			out = append(out, i)
		}
	}
	return out
}

func testLogAppendRead(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	l := b.Logs()
	recs := must(l.Read(ctx, stream, storage.LogQuery{}))(t)
	if len(recs) != 0 {
		t.Fatalf("unknown stream returned %d records", len(recs))
	}
	seqs := appendN(t, l, stream, 5)
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("seqs do not grow: %v", seqs)
		}
	}
	more := must(l.Append(ctx, stream, []storage.LogEntry{{Time: at(10 * time.Second), Data: []byte{0, 0xff}}}))(t)
	if more[0] <= seqs[4] {
		t.Fatalf("later append seq %d not above %d", more[0], seqs[4])
	}
	recs = must(l.Read(ctx, stream, storage.LogQuery{}))(t)
	if len(recs) != 6 {
		t.Fatalf("read %d records, want 6", len(recs))
	}
	for i, r := range recs[:5] {
		if r.Seq != seqs[i] {
			t.Fatalf("record %d seq %d, want %d", i, r.Seq, seqs[i])
		}
		eqTime(t, r.Time, at(time.Duration(i)*time.Second), "record time")
		eqBytes(t, r.Data, []byte(fmt.Sprint("r", i)), "record data")
	}
	eqBytes(t, recs[5].Data, []byte{0, 0xff}, "binary data")
	// Streams are independent.
	appendN(t, l, stream+"-2", 2)
	if got := must(l.Read(ctx, stream, storage.LogQuery{}))(t); len(got) != 6 {
		t.Fatalf("append to another stream changed this one: %d records", len(got))
	}
	if n := must(l.Append(ctx, stream, nil))(t); len(n) != 0 {
		t.Fatalf("empty append returned %v", n)
	}
}

func testLogQuery(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	l := b.Logs()
	seqs := appendN(t, l, stream, 10) // r0..r9 at t0+0s..t0+9s
	sec := func(n int) time.Time { return at(time.Duration(n) * time.Second) }
	cases := []struct {
		name string
		q    storage.LogQuery
		want []string
	}{
		{"all", storage.LogQuery{}, rs(span(0, 9)...)},
		{"from/to inclusive", storage.LogQuery{From: sec(2), To: sec(5)}, rs(2, 3, 4, 5)},
		{"from only", storage.LogQuery{From: sec(8)}, rs(8, 9)},
		{"to only", storage.LogQuery{To: sec(1)}, rs(0, 1)},
		{"between records", storage.LogQuery{From: sec(2).Add(time.Millisecond), To: sec(4).Add(-time.Millisecond)}, rs(3)},
		{"empty range", storage.LogQuery{From: sec(20)}, nil},
		{"limit", storage.LogQuery{Limit: 3}, rs(0, 1, 2)},
		{"after", storage.LogQuery{After: seqs[6]}, rs(7, 8, 9)},
		{"before", storage.LogQuery{Before: seqs[2]}, rs(0, 1)},
		{"after and before", storage.LogQuery{After: seqs[2], Before: seqs[5]}, rs(3, 4)},
		{"desc", storage.LogQuery{Desc: true}, rs(span(9, 0)...)},
		{"desc limit", storage.LogQuery{Desc: true, Limit: 3}, rs(9, 8, 7)},
		{"desc before", storage.LogQuery{Desc: true, Before: seqs[7], Limit: 2}, rs(6, 5)},
		{"desc time range", storage.LogQuery{Desc: true, From: sec(3), To: sec(6), Limit: 3}, rs(6, 5, 4)},
		{"time range and after", storage.LogQuery{From: sec(2), To: sec(8), After: seqs[5], Limit: 2}, rs(6, 7)},
	}
	for _, c := range cases {
		got := must(l.Read(ctx, stream, c.q))(t)
		if !slices.Equal(datas(got), c.want) {
			t.Errorf("%s: Read(%+v) = %q, want %q", c.name, c.q, datas(got), c.want)
		}
	}

	// Forward and backward pagination visit every record once.
	for _, desc := range []bool{false, true} {
		var all []string
		q := storage.LogQuery{Limit: 4, Desc: desc}
		for range 10 {
			page := must(l.Read(ctx, stream, q))(t)
			if len(page) == 0 {
				break
			}
			all = append(all, datas(page)...)
			if desc {
				q.Before = page[len(page)-1].Seq
			} else {
				q.After = page[len(page)-1].Seq
			}
		}
		want := rs(span(0, 9)...)
		if desc {
			want = rs(span(9, 0)...)
		}
		if !slices.Equal(all, want) {
			t.Fatalf("paging desc=%v visited %q, want %q", desc, all, want)
		}
	}
}

func testLogTrim(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	l := b.Logs()
	seqs := appendN(t, l, stream, 10)
	appendN(t, l, stream+"-other", 3)
	n := must(l.Trim(ctx, stream, at(5*time.Second)))(t)
	if n != 5 {
		t.Fatalf("trimmed %d, want 5", n)
	}
	got := must(l.Read(ctx, stream, storage.LogQuery{}))(t)
	eqStrings(t, datas(got), rs(span(5, 9)...), "after trim")
	if n := must(l.Trim(ctx, stream, at(5*time.Second)))(t); n != 0 {
		t.Fatalf("second trim removed %d", n)
	}
	if got := must(l.Read(ctx, stream+"-other", storage.LogQuery{}))(t); len(got) != 3 {
		t.Fatalf("trim touched another stream: %d records left", len(got))
	}
	// Sequence numbers keep growing after a trim, even one that empties the stream.
	must(l.Trim(ctx, stream, at(time.Hour)))(t)
	next := must(l.Append(ctx, stream, []storage.LogEntry{{Time: at(time.Hour), Data: []byte("x")}}))(t)
	if next[0] <= seqs[9] {
		t.Fatalf("seq after trim %d not above %d", next[0], seqs[9])
	}
}

func testLogStreams(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	l := b.Logs()
	names := []string{"logs/1/b", "logs/1/a", "logs/2/a", "trail/1/x"}
	for _, n := range names {
		appendN(t, l, n, 1)
	}
	cases := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"logs/1/a", "logs/1/b", "logs/2/a", "trail/1/x"}},
		{"logs/", []string{"logs/1/a", "logs/1/b", "logs/2/a"}},
		{"logs/1/", []string{"logs/1/a", "logs/1/b"}},
		{"trail/1/x", []string{"trail/1/x"}},
		{"nope", nil},
	}
	for _, c := range cases {
		got := must(l.Streams(ctx, c.prefix))(t)
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("Streams(%q) = %q, want %q", c.prefix, got, c.want)
		}
	}
}
