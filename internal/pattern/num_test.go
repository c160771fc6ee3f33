package pattern

import (
	"fmt"
	"math/rand"
	"strconv"
	"testing"
)

// checkNumBounds fails when numBounds' interval misses ParseFloat's value.
func checkNumBounds(t *testing.T, s string) {
	t.Helper()
	want, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) {
		return
	}
	end, vok, x := numberValue([]byte(s), 0)
	if wantEnd, wantOK := numberEnd([]byte(s), 0); end != wantEnd || vok != wantOK {
		t.Fatalf("numberValue(%s) scans to %d, %v; numberEnd %d, %v", s, end, vok, wantEnd, wantOK)
	}
	if x.ok && end == len(s) && x.x != want {
		t.Fatalf("numberValue(%s) = %v, ParseFloat %v", s, x.x, want)
	}
	lo, hi, exact, ok := numBounds([]byte(s))
	if !ok {
		return
	}
	if exact && lo != want {
		t.Fatalf("numBounds(%s) exact %v, ParseFloat %v", s, lo, want)
	}
	if lo > want || hi < want || lo > hi {
		t.Fatalf("numBounds(%s) = [%v, %v], ParseFloat %v", s, lo, hi, want)
	}
}

func TestNumBounds(t *testing.T) {
	for _, s := range []string{"0", "-0", "0.0", "1", "-1", "37.807807921694092", "-122.362578586931235",
		"9007199254740993", "9007199254740992", "123456789012345678901234567890", "1e22", "1e23", "4.9e-324",
		"1e-400", "1e400", "0.1", "5000000000", "5000000000.0000001", "-5e9", "1.7976931348623157e308",
		"0.000000000000000000000000000001", "12345678901234567890.5e-3", "2.2250738585072014e-308"} {
		checkNumBounds(t, s)
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		var s string
		switch i % 4 {
		case 0:
			s = strconv.FormatFloat((r.Float64()-0.5)*1e10, 'f', r.Intn(20), 64)
		case 1:
			s = strconv.FormatFloat(r.NormFloat64()*1e3, 'g', -1, 64)
		case 2:
			s = fmt.Sprintf("%d.%d", r.Int63()-r.Int63(), r.Int63())
		default:
			s = fmt.Sprintf("%de%d", r.Int63n(1e18), r.Intn(80)-40)
		}
		checkNumBounds(t, s)
	}
}

func FuzzNumBounds(f *testing.F) {
	for _, s := range []string{"0", "-1.5", "37.807807921694092", "1e22", "123456789012345678901234567890"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w := walker{data: []byte(s)}
		if !w.number() || w.pos != len(s) {
			end, ok, _ := numberValue([]byte(s), 0)
			if ok && end == len(s) {
				t.Fatalf("numberValue accepts %q, numberEnd does not", s)
			}
			return // not a JSON number
		}
		checkNumBounds(t, s)
	})
}

func TestShortNumber(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for i := 0; i < 200000; i++ {
		s := strconv.FormatFloat((r.Float64()-0.5)*float64(r.Int63n(1e12)), 'f', r.Intn(18), 64)
		if x, ok := shortNumber([]byte(s)); ok {
			want, _ := strconv.ParseFloat(s, 64)
			if x != want {
				t.Fatalf("shortNumber(%s) = %v, ParseFloat %v", s, x, want)
			}
		}
	}
}

func TestRangeSlotBuckets(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	var ri rangeIndex
	for i := 0; i < 3000; i++ {
		lo := r.NormFloat64() * 100
		ri.add(numRange{lo: lo, hi: lo + r.Float64()}, int32(i))
	}
	ri.build()
	if ri.bucket == nil {
		t.Fatal("no buckets")
	}
	for i := 0; i < 100000; i++ {
		x := r.NormFloat64() * 120
		if i%3 == 0 {
			x = ri.points[r.Intn(len(ri.points))]
		}
		j := searchFloats(ri.points, x)
		want := 2 * j
		if j < len(ri.points) && ri.points[j] == x {
			want++
		}
		if got := ri.slot(x); got != want {
			t.Fatalf("slot(%v) = %d, want %d", x, got, want)
		}
	}
}

// TestNumberInBounds checks numberIn's early rejection: a number reported
// outside [lo, hi] has its ParseFloat value outside, and a converted one
// inside is reported inside.
func TestNumberInBounds(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	bounds := [][2]float64{{37.7, 37.81}, {0, 1}, {1, 2}, {-5, -4.5}, {0, 0}, {-1, 0}, {1e9, 5e9}, {-0.5, 0.5}}
	texts := []string{"0", "-0", "0.0", "-0.0", "1", "0.99999999999999999999", "-0.99999999999999999999", "37.7",
		"37.81", "37.8100000000000001", "4.5e0", "-4.5", "5e-1", "1.0000000000000000001", "2"}
	for i := 0; i < 200000; i++ {
		var s string
		switch {
		case i < len(texts):
			s = texts[i]
		case i%3 == 0:
			s = strconv.FormatFloat((r.Float64()-0.5)*10, 'f', r.Intn(22), 64)
		case i%3 == 1:
			s = strconv.FormatFloat(37.6+r.Float64()*0.3, 'f', r.Intn(18), 64)
		default:
			s = fmt.Sprintf("%d.%019d", r.Intn(3)-1, r.Int63())
		}
		want, _ := strconv.ParseFloat(s, 64)
		b := bounds[i%len(bounds)]
		end, ok, x := numberIn([]byte(s), 0, b[0], b[1])
		if !ok || end != len(s) {
			t.Fatalf("numberIn(%s) = %d, %v", s, end, ok)
		}
		inside := want >= b[0] && want <= b[1]
		if x.out && inside {
			t.Fatalf("numberIn(%s, %v) reports out, value %v", s, b, want)
		}
		if x.ok && (x.x != want || x.out == inside) {
			t.Fatalf("numberIn(%s, %v) = %v out %v, value %v", s, b, x.x, x.out, want)
		}
	}
}
