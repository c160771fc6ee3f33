package pattern

import (
	"math/rand"
	"testing"
)

// TestPlainEnd checks the word-at-a-time scan of string contents against
// the byte table, at every offset of random and edge-case strings.
func TestPlainEnd(t *testing.T) {
	cases := []string{"", "a", `abc"`, `abcdefgh\`, "abcdefghijklmnop\x1f", "é€\x7f\xff\x80 \"", `0123456"89`,
		"\x00", "\x20\x21\x22", "........\\........"}
	r := rand.New(rand.NewSource(12))
	alphabet := []byte{'a', ' ', '"', '\\', 0x00, 0x1f, 0x20, 0x7f, 0x80, 0xc3, 0xff, '!', '#'}
	for i := 0; i < 3000; i++ {
		b := make([]byte, r.Intn(40))
		for j := range b {
			if r.Intn(4) == 0 {
				b[j] = alphabet[r.Intn(len(alphabet))]
			} else {
				b[j] = 'a' + byte(r.Intn(26))
			}
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		d := []byte(c)
		for i := 0; i <= len(d); i++ {
			want := i
			for want < len(d) && !strStop[d[want]] {
				want++
			}
			if got := plainEnd(d, i); got != want {
				t.Fatalf("plainEnd(%q, %d) = %d, want %d", c, i, got, want)
			}
		}
	}
}
