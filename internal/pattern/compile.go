package pattern

import (
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// dialect selects the pattern language accepted: EventBridge's, or SNS filter
// policies (an older engine with fewer anything-but forms and no wildcard).
type dialect uint8

const (
	dialectEventBridge dialect = iota
	dialectSNS
)

// predKind is the kind of one alternative in a field's list of values.
type predKind uint8

const (
	pkExact       predKind = iota // text: typed key (see typedKey)
	pkPrefix                      // text: prefix of a string value
	pkPrefixFold                  // text: folded prefix
	pkSuffix                      // text: suffix
	pkSuffixFold                  // text: folded suffix
	pkFold                        // text: folded whole value (equals-ignore-case)
	pkWildcard                    // glob
	pkNumeric                     // rng
	pkCIDR                        // ip range
	pkExists                      // exists: true
	pkAbsent                      // exists: false
	pkAnythingBut                 // ab
)

// Typed keys distinguish JSON types in exact-match tables: a string value
// "300" never equals the number 300.
const (
	keyString = 's'
	keyNumber = 'n'
	keyTrue   = 't'
	keyFalse  = 'f'
	keyNull   = 'z'
)

// pred is one compiled alternative.
type pred struct {
	kind predKind
	text string
	glob *glob
	rng  numRange
	ip   ipRange
	ab   *anythingBut
}

// anythingBut is the excluded set of an anything-but alternative: a value
// matches when it is present and matches none of the exclusions.
type anythingBut struct {
	kind   predKind // pkExact (typed keys), pkPrefix, pkSuffix, pkFold, pkWildcard
	values []string
	globs  []*glob
}

// fieldSpec is one field of a branch: the OR of its alternatives.
type fieldSpec struct {
	path   string
	depth  int // nesting level of the path in the pattern (1 = top level)
	preds  []pred
	absent bool // one alternative is exists:false
}

// branch is one conjunction of fields; a pattern matches when any of its
// branches matches ($or expands into several branches).
type branch struct {
	fields []fieldSpec // sorted by path
}

// compiled is a validated pattern.
type compiled struct {
	branches []branch
	nested   bool // some field is inside a nested object
}

// orKeyword introduces alternatives.
const orKeyword = "$or"

// reservedInOr are names that cannot be field names inside $or: AWS's
// engine reserves its operators, the numeric comparison signs and the names
// it keeps for future operators.
var reservedInOr = map[string]bool{
	"anything-but": true, "cidr": true, "equals-ignore-case": true, "exactly": true, "exists": true,
	"numeric": true, "prefix": true, "suffix": true, "wildcard": true,
	"=": true, "<": true, "<=": true, ">": true, ">=": true,
	"regex": true, "not-wildcard": true, "not-equals-ignore-case": true,
	"date-after": true, "date-on-or-after": true, "date-before": true, "date-on-or-before": true, "in-date-range": true,
	"ip-address-in-range": true, "ip-address-not-in-range": true,
}

type compiler struct {
	lx      *lexer
	dialect dialect
	path    []string
	nested  bool
}

// workBranch is a branch under construction: last definition of a path wins,
// as in AWS's engine.
type workBranch map[string]*fieldSpec

func copyBranches(in []workBranch) []workBranch {
	out := make([]workBranch, len(in))
	for i, b := range in {
		nb := make(workBranch, len(b))
		for k, v := range b {
			nb[k] = v
		}
		out[i] = nb
	}
	return out
}

// compilePattern validates and compiles a pattern in the given dialect.
func compilePattern(src []byte, d dialect) (*compiled, *compileError) {
	c := &compiler{lx: newLexer(src), dialect: d}
	rules, err := c.run()
	if err != nil {
		return nil, err
	}
	out := &compiled{nested: c.nested}
	for _, wb := range rules {
		var b branch
		for _, f := range wb {
			b.fields = append(b.fields, *f)
		}
		sort.Slice(b.fields, func(i, j int) bool { return b.fields[i].path < b.fields[j].path })
		out.branches = append(out.branches, b)
	}
	if err := checkWildcardComplexity(out); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *compiler) barf(reason string) *compileError {
	return c.lx.fail(reason)
}

func (c *compiler) run() ([]workBranch, *compileError) {
	t := c.lx.next()
	if c.lx.err != nil {
		return nil, c.lx.err
	}
	if t != tokStartObject {
		return nil, c.barf("Filter is not an object")
	}
	var rules []workBranch
	if err := c.object(&rules, false); err != nil {
		return nil, err
	}
	return rules, nil
}

func (c *compiler) extendedName(step string) string {
	if len(c.path) == 0 {
		return step
	}
	return strings.Join(c.path, ".") + "." + step
}

func (c *compiler) object(rules *[]workBranch, insideOr bool) *compileError {
	present := false
	for {
		t := c.lx.next()
		if c.lx.err != nil {
			return c.lx.err
		}
		if t == tokEndObject {
			break
		}
		present = true
		step := c.lx.text
		if step == orKeyword {
			if err := c.or(rules); err != nil {
				return err
			}
			continue
		}
		if insideOr && reservedInOr[step] {
			return c.barf(step + " is Ruler reserved fieldName which cannot be used inside " + orKeyword + ".")
		}
		switch c.lx.next() {
		case tokStartObject:
			c.nested = true
			c.path = append(c.path, step)
			if err := c.object(rules, insideOr); err != nil {
				return err
			}
			c.path = c.path[:len(c.path)-1]
		case tokStartArray:
			if err := c.writeRules(rules, c.extendedName(step), len(c.path)+1); err != nil {
				return err
			}
		default:
			if c.lx.err != nil {
				return c.lx.err
			}
			return c.barf("\"" + step + "\" must be an object or an array")
		}
	}
	if !present {
		return c.barf("Empty objects are not allowed")
	}
	return nil
}

func (c *compiler) or(rules *[]workBranch) *compileError {
	current := copyBranches(*rules)
	*rules = (*rules)[:0]
	t := c.lx.next()
	if c.lx.err != nil {
		return c.lx.err
	}
	if t != tokStartArray {
		return c.barf("It must be an Array followed with " + orKeyword + ".")
	}
	n := 0
	for {
		t = c.lx.next()
		if c.lx.err != nil {
			return c.lx.err
		}
		if t == tokEndArray {
			break
		}
		n++
		if t != tokStartObject {
			return c.barf("Only JSON object is allowed in array of " + orKeyword + " relationship.")
		}
		alt := copyBranches(current)
		if len(alt) == 0 {
			alt = append(alt, workBranch{})
		}
		if err := c.object(&alt, true); err != nil {
			return err
		}
		*rules = append(*rules, alt...)
		if len(*rules) > maxBranches {
			return &compileError{reason: tooManyBranches}
		}
	}
	if n < 2 {
		return c.barf("There must have at least 2 Objects in " + orKeyword + " relationship.")
	}
	return nil
}

// maxBranches bounds $or expansion so that a hostile pattern cannot make
// compilation exponential. AWS documents no number; its own limit shows as a
// generic complexity error, which we reuse.
const maxBranches = 1 << 12

const tooManyBranches = "Rule is too complex - try using fewer $or relationships"

func (c *compiler) writeRules(rules *[]workBranch, name string, depth int) *compileError {
	f := &fieldSpec{path: name, depth: depth}
	for {
		t := c.lx.next()
		if c.lx.err != nil {
			return c.lx.err
		}
		if t == tokEndArray {
			break
		}
		switch t {
		case tokStartObject:
			p, err := c.matchExpression()
			if err != nil {
				return err
			}
			if p.kind == pkAbsent {
				f.absent = true
			}
			f.preds = append(f.preds, p)
		case tokString:
			s := c.lx.getText()
			if r, ok := ipLiteralRange(s); ok {
				f.preds = append(f.preds, pred{kind: pkCIDR, ip: r})
			} else {
				f.preds = append(f.preds, pred{kind: pkExact, text: typedKey(keyString, s)})
			}
		case tokInt, tokFloat:
			f.preds = append(f.preds, pred{kind: pkExact, text: numberKey(c.lx.getText())})
		case tokNull:
			f.preds = append(f.preds, pred{kind: pkExact, text: string(rune(keyNull))})
		case tokTrue:
			f.preds = append(f.preds, pred{kind: pkExact, text: string(rune(keyTrue))})
		case tokFalse:
			f.preds = append(f.preds, pred{kind: pkExact, text: string(rune(keyFalse))})
		default:
			return c.barf("Match value must be String, number, true, false, or null")
		}
	}
	if len(f.preds) == 0 {
		return c.barf("Empty arrays are not allowed")
	}
	if len(*rules) == 0 {
		*rules = append(*rules, workBranch{})
	}
	for _, r := range *rules {
		r[name] = f
	}
	return nil
}

func typedKey(kind byte, s string) string {
	return string(rune(kind)) + s
}

// numberKey is the exact-match key of a JSON number: equal numbers in any
// notation (300, 300.0, 3e2) get the same key.
func numberKey(text string) string {
	return string(canonicalNumber(make([]byte, 0, len(text)+4), []byte(text), true))
}

func (c *compiler) expectEndObject() *compileError {
	if c.lx.next() != tokEndObject {
		if c.lx.err != nil {
			return c.lx.err
		}
		return c.barf("Only one key allowed in match expression")
	}
	return nil
}

func (c *compiler) matchExpression() (pred, *compileError) {
	lx := c.lx
	if lx.next() != tokField {
		if lx.err != nil {
			return pred{}, lx.err
		}
		return pred{}, c.barf("Match expression name not found")
	}
	name := lx.text
	sns := c.dialect == dialectSNS
	switch name {
	case "exactly": // AWS's engine spells the explicit exact match "exactly"
		if sns {
			break
		}
		if lx.next() != tokString {
			return pred{}, c.barfTok("exact match pattern must be a string")
		}
		p := pred{kind: pkExact, text: typedKey(keyString, lx.getText())}
		return p, c.expectEndObject()
	case "prefix", "suffix":
		t := lx.next()
		if t == tokStartObject && !sns {
			return c.foldAffix(name)
		}
		if t != tokString {
			return pred{}, c.barfTok(name + " match pattern must be a string")
		}
		kind := pkPrefix
		if name == "suffix" {
			kind = pkSuffix
		}
		p := pred{kind: kind, text: lx.getText()}
		return p, c.expectEndObject()
	case "numeric":
		if lx.next() != tokStartArray {
			return pred{}, c.barfTok("Value of numeric must be an array.")
		}
		p, err := c.numeric()
		if err != nil {
			return pred{}, err
		}
		if lx.next() != tokEndObject {
			return pred{}, c.barfTok("Too many elements in numeric expression")
		}
		return p, nil
	case "anything-but":
		return c.anythingBut()
	case "exists":
		t := lx.next()
		var p pred
		switch t {
		case tokTrue:
			p = pred{kind: pkExists}
		case tokFalse:
			p = pred{kind: pkAbsent}
		default:
			return pred{}, c.barfTok("exists match pattern must be either true or false.")
		}
		return p, c.expectEndObject()
	case "cidr":
		if lx.next() != tokString {
			return pred{}, c.barfTok("prefix match pattern must be a string")
		}
		r, msg := parseCIDR(lx.getText())
		if msg != "" {
			return pred{}, &compileError{reason: msg}
		}
		return pred{kind: pkCIDR, ip: r}, c.expectEndObject()
	case "equals-ignore-case":
		if lx.next() != tokString {
			return pred{}, c.barfTok("equals-ignore-case match pattern must be a string")
		}
		p := pred{kind: pkFold, text: fold(lx.getText())}
		return p, c.expectEndObject()
	case "wildcard":
		if sns {
			break
		}
		if lx.next() != tokString {
			return pred{}, c.barfTok("wildcard match pattern must be a string")
		}
		g, msg := parseGlob(lx.getText())
		if msg != "" {
			return pred{}, c.barf(msg)
		}
		return pred{kind: pkWildcard, glob: g}, c.expectEndObject()
	}
	return pred{}, c.barf("Unrecognized match type " + name)
}

// barfTok reports an error located after the current token, as AWS does when
// a token has the wrong type (the lazily read string is not consumed).
func (c *compiler) barfTok(reason string) *compileError {
	if c.lx.err != nil {
		return c.lx.err
	}
	return c.barf(reason)
}

func (c *compiler) foldAffix(name string) (pred, *compileError) {
	lx := c.lx
	title := "Prefix"
	kind := pkPrefixFold
	if name == "suffix" {
		title, kind = "Suffix", pkSuffixFold
	}
	if lx.next() != tokField {
		return pred{}, c.barfTok(title + " expression name not found")
	}
	if op := lx.text; op != "equals-ignore-case" {
		return pred{}, c.barf("Unsupported " + name + " pattern: " + op)
	}
	if lx.next() != tokString {
		return pred{}, c.barfTok("equals-ignore-case match pattern must be a string")
	}
	p := pred{kind: kind, text: fold(lx.getText())}
	if err := c.expectEndObject(); err != nil {
		return pred{}, err
	}
	return p, c.expectEndObject()
}

func (c *compiler) anythingBut() (pred, *compileError) {
	lx := c.lx
	sns := c.dialect == dialectSNS
	kind := pkExact
	t := lx.next()
	wrapped := false
	if t == tokStartObject {
		wrapped = true
		if lx.next() != tokField {
			return pred{}, c.barfTok("Anything-But expression name not found")
		}
		op := lx.text
		switch {
		case op == "equals-ignore-case":
			kind = pkFold
		case op == "prefix":
			kind = pkPrefix
		case op == "suffix" && !sns:
			kind = pkSuffix
		case op == "wildcard" && !sns:
			kind = pkWildcard
		default:
			return pred{}, c.barf("Unsupported anything-but pattern: " + op)
		}
		t = lx.next()
		if sns && kind == pkPrefix {
			// SNS runs AWS's older engine: a single prefix string only.
			if t != tokString {
				return pred{}, c.barfTok("prefix match pattern must be a string")
			}
			s := lx.getText()
			if s == "" {
				return pred{}, c.barf("Null prefix/suffix not allowed")
			}
			if err := c.expectEndObject(); err != nil {
				return pred{}, err
			}
			if err := c.expectEndObject(); err != nil {
				return pred{}, err
			}
			return pred{kind: pkAnythingBut, ab: &anythingBut{kind: pkPrefix, values: []string{s}}}, nil
		}
	}
	if t != tokStartArray && t != tokString && !t.numeric() {
		return pred{}, c.barfTok("Value of anything-but must be an array or single string/number value.")
	}
	ab := &anythingBut{kind: kind}
	if t == tokStartArray {
		if err := c.anythingButList(ab); err != nil {
			return pred{}, err
		}
	} else if err := c.anythingButValue(ab, t); err != nil {
		return pred{}, err
	}
	if lx.next() != tokEndObject {
		return pred{}, c.barfTok("Too many elements in numeric expression")
	}
	if wrapped && lx.next() != tokEndObject {
		return pred{}, c.barfTok("Too many elements in numeric expression")
	}
	return pred{kind: pkAnythingBut, ab: ab}, nil
}

func (c *compiler) anythingButWrongType(kind predKind) *compileError {
	switch kind {
	case pkFold:
		return c.barfTok("Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.")
	case pkWildcard:
		return c.barfTok("wildcard match pattern must be a string")
	}
	return c.barfTok("prefix/suffix match pattern must be a string")
}

func (c *compiler) addAnythingButString(ab *anythingBut, s string) *compileError {
	switch ab.kind {
	case pkExact:
		ab.values = append(ab.values, typedKey(keyString, s))
	case pkFold:
		ab.values = append(ab.values, fold(s))
	case pkPrefix, pkSuffix:
		if s == "" {
			return c.barf("Null prefix/suffix not allowed")
		}
		ab.values = append(ab.values, s)
	case pkWildcard:
		ab.values = append(ab.values, s)
	}
	return nil
}

func (c *compiler) anythingButValue(ab *anythingBut, t tok) *compileError {
	lx := c.lx
	if ab.kind == pkExact {
		switch t {
		case tokString:
			ab.values = append(ab.values, typedKey(keyString, lx.getText()))
		default:
			// AWS raises this one outside the JSON parser: no location.
			text := lx.getText()
			if _, msg := comparable(text); msg != "" {
				return &compileError{reason: msg}
			}
			ab.values = append(ab.values, numberKey(text))
		}
		return nil
	}
	if t != tokString {
		return c.anythingButWrongType(ab.kind)
	}
	if err := c.addAnythingButString(ab, lx.getText()); err != nil {
		return err
	}
	return c.finishWildcards(ab)
}

func (c *compiler) finishWildcards(ab *anythingBut) *compileError {
	if ab.kind != pkWildcard {
		return nil
	}
	for _, v := range ab.values {
		g, msg := parseGlob(v)
		if msg != "" {
			return c.barf(msg)
		}
		ab.globs = append(ab.globs, g)
	}
	return nil
}

// rewrap marks an error that AWS catches inside list handling and throws
// again, which repeats the location in its message.
func rewrap(err *compileError) *compileError {
	if err != nil && err.line != 0 {
		err.repeat = 2
	}
	return err
}

func (c *compiler) anythingButList(ab *anythingBut) *compileError {
	lx := c.lx
	hasNumber, hasString := false, false
	for {
		t := lx.next()
		if lx.err != nil {
			return lx.err
		}
		if t == tokEndArray {
			break
		}
		if ab.kind == pkExact {
			switch {
			case t == tokString:
				ab.values = append(ab.values, typedKey(keyString, lx.getText()))
				hasString = true
			case t.numeric():
				text := lx.getText()
				if _, msg := comparable(text); msg != "" {
					return c.barf(msg)
				}
				ab.values = append(ab.values, numberKey(text))
				hasNumber = true
			default:
				return rewrap(c.barfTok("Inside anything but list, start|null|boolean is not supported."))
			}
			continue
		}
		if t != tokString {
			return rewrap(c.anythingButWrongType(ab.kind))
		}
		if err := c.addAnythingButString(ab, lx.getText()); err != nil {
			return rewrap(err)
		}
	}
	if ab.kind == pkExact && hasNumber == hasString {
		return c.barf("Inside anything but list, either all values are number or string, mixed type is not supported")
	}
	return c.finishWildcards(ab)
}

// numeric parses the body of a numeric expression after its '['.
func (c *compiler) numeric() (pred, *compileError) {
	lx := c.lx
	t := lx.next()
	if lx.err != nil {
		return pred{}, lx.err
	}
	if t != tokString {
		return pred{}, c.barf("Invalid member in numeric match: " + lx.getText())
	}
	op := lx.getText()
	t = lx.next()
	if lx.err != nil {
		return pred{}, lx.err
	}
	value := func(label string) (float64, *compileError) {
		if !t.numeric() {
			return 0, c.barf("Value of " + label + " must be numeric")
		}
		v, msg := comparable(lx.getText())
		if msg != "" {
			return 0, c.barf(msg)
		}
		return v, nil
	}
	end := func() *compileError {
		if lx.next() != tokEndArray {
			return c.barfTok("Too many elements in numeric expression")
		}
		return nil
	}
	inf := math.Inf(1)
	switch op {
	case "=":
		v, err := value("equals")
		if err != nil {
			return pred{}, err
		}
		return pred{kind: pkNumeric, rng: numRange{lo: v, hi: v}}, end()
	case "<", "<=":
		v, err := value(op)
		if err != nil {
			return pred{}, err
		}
		return pred{kind: pkNumeric, rng: numRange{lo: -inf, loOpen: true, hi: v, hiOpen: op == "<"}}, end()
	case ">", ">=":
		lo, err := value(op)
		if err != nil {
			return pred{}, err
		}
		r := numRange{lo: lo, loOpen: op == ">", hi: inf, hiOpen: true}
		t = lx.next()
		if lx.err != nil {
			return pred{}, lx.err
		}
		if t == tokEndArray {
			return pred{kind: pkNumeric, rng: r}, nil
		}
		if t != tokString {
			return pred{}, c.barf("Bad value in numeric range: " + lx.getText())
		}
		op2 := lx.getText()
		if op2 != "<" && op2 != "<=" {
			return pred{}, c.barf("Bad numeric range operator: " + op2)
		}
		t = lx.next()
		if lx.err != nil {
			return pred{}, lx.err
		}
		hi, err := value(op2)
		if err != nil {
			return pred{}, err
		}
		if lx.next() != tokEndArray {
			return pred{}, c.barfTok("Too many terms in numeric range expression")
		}
		if lo >= hi {
			return pred{}, c.barf("Bottom must be less than top")
		}
		r.hi, r.hiOpen = hi, op2 == "<"
		return pred{kind: pkNumeric, rng: r}, nil
	}
	return pred{}, c.barf("Unrecognized numeric range operator: " + op)
}

// fiveBillion bounds the numbers that numeric matching supports.
const fiveBillion = 5e9

// comparable converts a pattern number for numeric matching, returning AWS's
// error text when it is out of range.
func comparable(text string) (float64, string) {
	v, err := strconv.ParseFloat(text, 64)
	if err != nil && !isRangeErr(err) {
		return 0, "Invalid number: " + text
	}
	if v < -fiveBillion || v > fiveBillion || math.IsNaN(v) {
		return 0, "Value must be between -5.0E9 and 5.0E9, inclusive"
	}
	return v, ""
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// numRange is an interval of numbers; infinite ends are open.
type numRange struct {
	lo, hi         float64
	loOpen, hiOpen bool
}

func (r numRange) contains(v float64) bool {
	if v < r.lo || (v == r.lo && r.loOpen) {
		return false
	}
	if v > r.hi || (v == r.hi && r.hiOpen) {
		return false
	}
	return true
}

// ipRange is an inclusive range of addresses of one family, as AWS's cidr
// operator builds it: from the address as written up to the top of its mask.
type ipRange struct {
	lo, hi netip.Addr
	bits   int // mask bits
}

func (r ipRange) contains(a netip.Addr) bool {
	return a.BitLen() == r.lo.BitLen() && r.lo.Compare(a) <= 0 && a.Compare(r.hi) <= 0
}

// parseIPLiteral accepts what AWS treats as an IP address literal: a dotted
// IPv4 quad or an IPv6 address (no zone). IPv4-mapped IPv6 becomes IPv4.
func parseIPLiteral(s string) (netip.Addr, bool) {
	if len(s) < 2 || len(s) > 45 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// ipLiteralRange is the single-address range of an exact-match string that
// is an IP literal: AWS compares such values as addresses.
func ipLiteralRange(s string) (ipRange, bool) {
	a, ok := parseIPLiteral(s)
	if !ok {
		return ipRange{}, false
	}
	return ipRange{lo: a, hi: a, bits: a.BitLen()}, true
}

// parseCIDR parses a cidr operand, returning AWS's error text on failure
// (these errors carry no location in AWS's answers).
func parseCIDR(s string) (ipRange, string) {
	parts := strings.Split(s, "/")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if len(parts) != 2 {
		return ipRange{}, "Malformed CIDR, one '/' required"
	}
	bits, err := strconv.ParseInt(parts[1], 10, 32)
	if err != nil {
		return ipRange{}, "Malformed CIDR, mask bits must be an integer"
	}
	if bits < 0 {
		return ipRange{}, "Malformed CIDR, mask bits must not be negative"
	}
	a, ok := parseIPLiteral(parts[0])
	if !ok {
		return ipRange{}, "Nonstandard IP address: " + parts[0]
	}
	if a.Is4() && bits > 31 {
		return ipRange{}, "IPv4 mask bits must be < 32"
	}
	if a.Is6() && bits > 127 {
		return ipRange{}, "IPv6 mask bits must be < 128"
	}
	b := a.AsSlice()
	host := len(b)*8 - int(bits)
	for i := len(b) - 1; i >= 0 && host > 0; i-- {
		if host >= 8 {
			b[i] = 0xff
		} else {
			b[i] |= byte(1<<host - 1)
		}
		host -= 8
	}
	hi, _ := netip.AddrFromSlice(b)
	return ipRange{lo: a, hi: hi, bits: int(bits)}, ""
}
