package sqlstore

import (
	"slices"
	"testing"
)

func TestDialectQ(t *testing.T) {
	tests := []struct {
		pg   bool
		in   string
		want string
	}{
		{false, "SELECT ? , ?", "SELECT ? , ?"},
		{true, "SELECT ? , ?", "SELECT $1 , $2"},
		{true, "SELECT 1", "SELECT 1"},
		{true, "a IN (?,?,?) AND b = ?", "a IN ($1,$2,$3) AND b = $4"},
	}
	for _, tc := range tests {
		if got := (dialect{pg: tc.pg}).q(tc.in); got != tc.want {
			t.Errorf("q(pg=%v, %q) = %q, want %q", tc.pg, tc.in, got, tc.want)
		}
	}
}

func TestPrefixCond(t *testing.T) {
	tests := []struct {
		prefix   string
		wantCond string
		wantArgs []any
	}{
		{"", "1=1", nil},
		{"a/b", "k >= ? AND k < ?", []any{"a/b", "a/c"}},
		{"a/", "k >= ? AND k < ?", []any{"a/", "a0"}},
		{"ü", "k >= ? AND substr(k, 1, length(CAST(? AS TEXT))) = ?", []any{"ü", "ü", "ü"}},
		{"a\x7f", "k >= ? AND substr(k, 1, length(CAST(? AS TEXT))) = ?", []any{"a\x7f", "a\x7f", "a\x7f"}},
		{"\xff", "1=0", nil},
	}
	for _, tc := range tests {
		cond, args := prefixCond("k", tc.prefix)
		if cond != tc.wantCond || !slices.Equal(args, tc.wantArgs) {
			t.Errorf("prefixCond(%q) = %q %v, want %q %v", tc.prefix, cond, args, tc.wantCond, tc.wantArgs)
		}
	}
}

func TestParseReceipt(t *testing.T) {
	tests := []struct {
		in    string
		seq   int64
		nonce string
		ok    bool
	}{
		{"12.abc", 12, "abc", true},
		{"12.abc.def", 12, "abc.def", true},
		{"12.", 0, "", false},
		{"12", 0, "", false},
		{".abc", 0, "", false},
		{"-1.abc", 0, "", false},
		{"0.abc", 0, "", false},
		{"x.abc", 0, "", false},
		{"", 0, "", false},
	}
	for _, tc := range tests {
		seq, nonce, ok := parseReceipt(tc.in)
		if seq != tc.seq || nonce != tc.nonce || ok != tc.ok {
			t.Errorf("parseReceipt(%q) = %d %q %v, want %d %q %v", tc.in, seq, nonce, ok, tc.seq, tc.nonce, tc.ok)
		}
	}
}

func FuzzParseReceipt(f *testing.F) {
	for _, s := range []string{"1.a", "99.ffff", "", ".", "-3.x", "18446744073709551616.a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seq, nonce, ok := parseReceipt(s)
		if !ok {
			return
		}
		if seq <= 0 || nonce == "" {
			t.Fatalf("parseReceipt(%q) accepted seq %d nonce %q", s, seq, nonce)
		}
	})
}

func TestSplitStatements(t *testing.T) {
	script := "-- comment\nCREATE TABLE a (\n  x INT\n);\n\nCREATE INDEX i ON a (x);\n-- trailing\nSELECT 1"
	want := []string{"CREATE TABLE a (\n  x INT\n);", "CREATE INDEX i ON a (x);", "SELECT 1"}
	if got := splitStatements(script); !slices.Equal(got, want) {
		t.Fatalf("splitStatements = %q, want %q", got, want)
	}
}

func TestMigrationsEmbedded(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		ms, err := migrations(d)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if len(ms) == 0 || ms[0].version != 1 || len(ms[0].stmts) < 5 {
			t.Fatalf("%s: unexpected migrations %+v", d, ms)
		}
	}
}

func TestGroupFirst(t *testing.T) {
	msgs := []struct {
		group string
		seq   int64
	}{{"b", 5}, {"a", 3}, {"b", 2}, {"c", 9}, {"a", 7}}
	in := toMsgs(msgs)
	groupFirst(in)
	var got []int64
	for _, m := range in {
		got = append(got, m.Seq)
	}
	if want := []int64{2, 5, 3, 7, 9}; !slices.Equal(got, want) {
		t.Fatalf("groupFirst order = %v, want %v", got, want)
	}
}
