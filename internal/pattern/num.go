package pattern

import (
	"math"
	"math/bits"
)

// Numbers in events are tested against numeric ranges and exact numeric
// values. Parsing every number fully (strconv.ParseFloat) dominates the cost
// of events with many numbers, so the matcher first computes cheap bounds:
// numBounds gives an interval that certainly holds ParseFloat's result, and
// only when that interval straddles a boundary that matters is the number
// parsed exactly.

// exactPow10 holds the powers of ten that float64 represents exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// numBoundsSlack is the relative width of the interval numBounds returns
// when it cannot be exact: far above the few ulps (about 2.2e-16 each) that
// the approximation can be off by.
const numBoundsSlack = 1e-13

// numBounds returns lo <= hi such that strconv.ParseFloat(v) lies in
// [lo, hi] for a valid JSON number v; exact reports lo == hi == that value.
// ok is false when no cheap bound is available.
func numBounds(v []byte) (lo, hi float64, exact, ok bool) {
	if x, ok := shortNumber(v); ok {
		return x, x, true, true
	}
	i := 0
	neg := false
	if i < len(v) && v[i] == '-' {
		neg = true
		i++
	}
	var mant uint64
	nd := 0  // digits accumulated into mant (leading zeros excluded)
	exp := 0 // decimal exponent to apply to mant
	dropped := false
	for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		switch {
		case nd < 19:
			if mant != 0 || v[i] != '0' {
				nd++
			}
			mant = mant*10 + uint64(v[i]-'0')
		default:
			exp++
			dropped = dropped || v[i] != '0'
		}
	}
	if i < len(v) && v[i] == '.' {
		for i++; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
			if nd < 19 {
				if mant != 0 || v[i] != '0' {
					nd++
				}
				mant = mant*10 + uint64(v[i]-'0')
				exp--
			} else {
				dropped = dropped || v[i] != '0'
			}
		}
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		eneg := false
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			eneg = v[i] == '-'
			i++
		}
		e := 0
		for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
			if e > 10000 {
				return 0, 0, false, false
			}
			e = e*10 + int(v[i]-'0')
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != len(v) {
		return 0, 0, false, false
	}
	if mant == 0 && !dropped {
		return 0, 0, true, true
	}
	x := float64(mant)
	if !dropped && mant <= 1<<53 && exp >= -22 && exp <= 22 {
		// Both operands exact: one correctly rounded operation, as ParseFloat.
		if exp < 0 {
			x /= exactPow10[-exp]
		} else {
			x *= exactPow10[exp]
		}
		if neg {
			x = -x
		}
		return x, x, true, true
	}
	if exp < -280 || exp > 280 {
		return 0, 0, false, false
	}
	x *= math.Pow10(exp)
	if neg {
		x = -x
	}
	d := math.Abs(x) * numBoundsSlack
	return x - d, x + d, false, true
}

// searchFloats is the first index i with a[i] >= x (len(a) if none).
func searchFloats(a []float64, x float64) int {
	lo, hi := 0, len(a)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if a[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// anyIn reports whether the sorted a holds a value in [lo, hi].
func anyIn(a []float64, lo, hi float64) bool {
	i := searchFloats(a, lo)
	return i < len(a) && a[i] <= hi
}

// shortNumber converts numbers of at most 19 characters without exponent
// whose digits fit 2^53, exactly as ParseFloat does (one correctly rounded
// division of exact operands); ok is false for any other text.
func shortNumber(v []byte) (float64, bool) {
	if len(v) > 19 || len(v) == 0 {
		return 0, false
	}
	i := 0
	if v[0] == '-' {
		i = 1
	}
	var mant uint64
	frac := -1 // digits after '.', -1 before it
	for ; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0:
			frac = 0
		default:
			return 0, false
		}
	}
	if mant > 1<<53 {
		return 0, false
	}
	x := float64(mant)
	if frac > 0 {
		x /= exactPow10[frac]
	}
	if v[0] == '-' {
		x = -x
	}
	return x, true
}

// belowOne reports whether the JSON number v certainly lies in [0, 1): it
// starts with 0 and has no exponent.
func belowOne(v []byte) bool {
	if v[0] != '0' {
		return false
	}
	for _, c := range v[1:] {
		if c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

// numberValue scans the JSON number at d[i] as numberEnd does (end is the
// index after it, or of the offending byte when ok is false) and also
// converts it: x is exact (x.ok) when it has at most 19 digits, they fit
// 2^53 and its decimal exponent is within ±22, where one correctly rounded
// operation gives strconv.ParseFloat's result. Scanning and converting in
// one pass spares numbers at fields with numeric conditions a second read.
func numberValue(d []byte, i int) (end int, ok bool, x numValue) {
	return numberIn(d, i, math.Inf(-1), math.Inf(1))
}

// numberIn is numberValue for a field where only numbers within [lo, hi]
// can matter: a number whose integer part already puts it outside is not
// converted, and x.out reports it.
func numberIn(d []byte, i int, lo, hi float64) (end int, ok bool, x numValue) {
	neg := false
	if i < len(d) && d[i] == '-' {
		neg = true
		i++
	}
	if i >= len(d) || d[i]-'0' > 9 {
		return i, false, x
	}
	intStart := i
	if d[i] == '0' {
		i++
	} else {
		i = digitsEnd(d, i+1)
	}
	intEnd, fracStart := i, i
	if i < len(d) && d[i] == '.' {
		fracStart = i + 1
		i = digitsEnd(d, fracStart)
		if i == fracStart {
			return i, false, x
		}
	}
	fracEnd := i
	exp := 0
	ip, haveIP := uint64(0), false
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		eneg := false
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			eneg = d[i] == '-'
			i++
		}
		s := i
		for ; i < len(d) && d[i]-'0' <= 9; i++ {
			if exp < 10000 {
				exp = exp*10 + int(d[i]-'0')
			}
		}
		if i == s {
			return i, false, x
		}
		if eneg {
			exp = -exp
		}
	} else if intEnd-intStart <= 15 {
		// Without exponent the value lies within [ip, ip+1] (ip+1: nines
		// that round up), negated for negative numbers.
		for _, c := range d[intStart:intEnd] {
			ip = ip*10 + uint64(c-'0')
		}
		haveIP = true
		fl, fh := float64(ip), float64(ip)+1
		if neg {
			fl, fh = -fh, -fl
		}
		if fh < lo || fl > hi {
			x.out = true
			return i, true, x
		}
	}
	nf := fracEnd - fracStart
	if (intEnd-intStart)+nf > 19 {
		return i, true, x
	}
	if !haveIP {
		ip = digitsValue(d, intStart, intEnd)
	}
	mant := ip*pow10u[nf] + digitsValue(d, fracStart, fracEnd)
	exp -= nf
	if mant > 1<<53 || exp < -22 || exp > 22 {
		return i, true, x
	}
	x.x = float64(mant)
	if exp < 0 {
		x.x /= exactPow10[-exp]
	} else {
		x.x *= exactPow10[exp]
	}
	if neg {
		x.x = -x.x
	}
	x.ok = true
	x.out = x.x < lo || x.x > hi
	return i, true, x
}

// digitsEnd returns the index of the first byte at or after d[i] that is
// not a decimal digit, testing eight bytes at a time where the data allows.
func digitsEnd(d []byte, i int) int {
	for i+8 <= len(d) {
		t := load64(d, i) ^ '0'*swarLow // digits become 0-9
		// Flag the bytes that are not digits: 10 or more, or high bit set.
		if m := (t&^swarHigh + (0x80-10)*swarLow | t) & swarHigh; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(d) && d[i]-'0' <= 9 {
		i++
	}
	return i
}

// numValue is the float64 value of a JSON number when it was converted
// while scanning (ok); otherwise the number's text is parsed when needed.
type numValue struct {
	x   float64
	ok  bool
	out bool // outside the bounds numberIn was given: cannot matter
}

// pow10u holds the powers of ten that fit a uint64.
var pow10u = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
	1e15, 1e16, 1e17, 1e18, 1e19}

// digitsValue is the value of the decimal digits d[s:e] (at most 19),
// converted eight at a time.
func digitsValue(d []byte, s, e int) uint64 {
	var v uint64
	for e-s >= 8 {
		v = v*1e8 + eightDigits(load64(d, s)-'0'*swarLow)
		s += 8
	}
	k := e - s
	switch {
	case k == 0:
	case s+8 <= len(d):
		// Load past the digits; the bytes after them (and any borrow they
		// cause) fall off the top: the digits become the low-order end of
		// a zero-padded group of eight.
		v = v*pow10u[k] + eightDigits((load64(d, s)-'0'*swarLow)<<(8*(8-k)))
	default:
		for _, c := range d[s:e] {
			v = v*10 + uint64(c-'0')
		}
	}
	return v
}

// eightDigits converts eight digit values (0-9, the first in the low byte)
// into their number, with three multiplications instead of eight.
func eightDigits(x uint64) uint64 {
	x = x*10 + x>>8 // bytes 0, 2, 4, 6: pairs of digits
	return ((x&0x000000FF000000FF)*(100+1000000<<32) + (x>>16&0x000000FF000000FF)*(1+10000<<32)) >> 32
}
