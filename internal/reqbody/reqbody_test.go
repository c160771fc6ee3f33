package reqbody

import (
	"io"
	"strings"
	"testing"
)

func TestReadAtMost(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int64
		want  string
	}{
		{"", 10, ""},
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello world", 6, "hello "},
	} {
		got, err := ReadAtMost(strings.NewReader(tc.in), make([]byte, 0, 1), tc.limit)
		if err != nil || string(got) != tc.want {
			t.Errorf("ReadAtMost(%q, %d) = %q, %v; want %q", tc.in, tc.limit, got, err, tc.want)
		}
	}
}

func TestBufferRest(t *testing.T) {
	all := []byte("abcdef")
	b := NewBuffer(all)
	p := make([]byte, 2)
	if n, _ := b.Read(p); n != 2 || string(p) != "ab" {
		t.Fatalf("read %q", p[:n])
	}
	rest := b.Rest()
	if string(rest) != "cdef" || &rest[0] != &all[2] {
		t.Fatalf("Rest = %q (copied: %v)", rest, &rest[0] != &all[2])
	}
	if n, err := b.Read(p); n != 0 || err != io.EOF {
		t.Fatalf("after Rest: %d, %v", n, err)
	}
	if got := NewBuffer(nil).Rest(); len(got) != 0 {
		t.Fatalf("empty Rest = %q", got)
	}
	if err := NewBuffer(all).Close(); err != nil {
		t.Fatal(err)
	}
}
