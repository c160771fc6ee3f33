package nsinit

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestSpecRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
	}{
		{"minimal", Spec{Argv: []string{"/var/task/bootstrap"}}},
		{"typical", Spec{Hostname: "localhost", Dir: "/tmp/code", Argv: []string{"/opt/bootstrap", "-x", ""},
			Env: []string{"AWS_REGION=eu-west-1", "EMPTY=", "UNICODE=é€"}}},
		{"empty env", Spec{Hostname: "h", Dir: "/", Argv: []string{"/bin/true"}, Env: []string{}}},
		{"NUL inside (exec refuses it, the wire does not)", Spec{Argv: []string{"/a\x00b"}, Env: []string{"K=v\x00w"}}},
		{"large", Spec{Argv: []string{"/b"}, Env: []string{"BIG=" + strings.Repeat("x", 200<<10)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := AppendSpec([]byte("prefix"), tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatalf("AppendSpec lost what it appended to")
			}
			b = b[len("prefix"):]
			n, err := SpecLen(b)
			if err != nil || n != len(b)-4 {
				t.Fatalf("SpecLen = %d, %v; want %d", n, err, len(b)-4)
			}
			got, err := ParseSpec(b[4:])
			if err != nil {
				t.Fatal(err)
			}
			want := tc.spec
			if want.Env == nil {
				want.Env = []string{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestSpecMalformed(t *testing.T) {
	good, err := AppendSpec(nil, Spec{Hostname: "localhost", Dir: "/d", Argv: []string{"/b", "a"}, Env: []string{"K=v"}})
	if err != nil {
		t.Fatal(err)
	}
	body := good[4:]
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated in a length", body[:2]},
		{"truncated in a string", body[:10]},
		{"truncated before env", body[:len(body)-len("K=v")-8]},
		{"trailing data", append(append([]byte(nil), body...), 0)},
		{"string longer than the message", []byte{0, 0, 1, 0, 'x'}},
		{"count larger than the message", append(appendString(appendString(nil, "h"), "/d"), 0xff, 0xff, 0xff, 0xff)},
		{"empty argv", append(appendString(appendString(nil, "h"), "/d"), 0, 0, 0, 0, 0, 0, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := ParseSpec(tc.b); err == nil {
				t.Errorf("parsed %+v", s)
			}
		})
	}
	if _, err := AppendSpec(nil, Spec{}); err == nil {
		t.Error("AppendSpec accepted an empty argv")
	}
	if b, err := AppendSpec([]byte("p"), Spec{Argv: []string{"/b"}, Env: []string{strings.Repeat("x", MaxSpecSize)}}); err == nil || string(b) != "p" {
		t.Errorf("oversized spec: %v, buffer %d bytes", err, len(b))
	}
	for _, prefix := range [][]byte{nil, {0, 0}, {0xff, 0, 0, 0}} {
		if n, err := SpecLen(prefix); err == nil {
			t.Errorf("SpecLen(%v) = %d", prefix, n)
		}
	}
}

func FuzzParseSpec(f *testing.F) {
	good, _ := AppendSpec(nil, Spec{Hostname: "localhost", Dir: "/d", Argv: []string{"/b"}, Env: []string{"K=v"}})
	f.Add(good[4:])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSpec(b)
		if err != nil {
			return
		}
		again, err := AppendSpec(nil, s)
		if err != nil || !bytes.Equal(again[4:], b) {
			t.Fatalf("re-encoding %+v: %v", s, err)
		}
	})
}
