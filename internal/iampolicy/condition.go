package iampolicy

import (
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// baseOp is a condition operator without its set qualifier, IfExists
// suffix and negation.
type baseOp int

const (
	opStringEquals baseOp = iota + 1
	opStringEqualsIgnoreCase
	opStringLike
	opNumericEquals
	opNumericLessThan
	opNumericLessThanEquals
	opNumericGreaterThan
	opNumericGreaterThanEquals
	opDateEquals
	opDateLessThan
	opDateLessThanEquals
	opDateGreaterThan
	opDateGreaterThanEquals
	opBool
	opBinaryEquals
	opIPAddress
	opArnLike
	opNull
)

type setQualifier int

const (
	setNone setQualifier = iota
	setForAnyValue
	setForAllValues
)

// operators maps an operator name (without qualifier and IfExists) to its
// base operator and whether it is negated.
var operators = map[string]struct {
	op     baseOp
	negate bool
}{
	"StringEquals":              {opStringEquals, false},
	"StringNotEquals":           {opStringEquals, true},
	"StringEqualsIgnoreCase":    {opStringEqualsIgnoreCase, false},
	"StringNotEqualsIgnoreCase": {opStringEqualsIgnoreCase, true},
	"StringLike":                {opStringLike, false},
	"StringNotLike":             {opStringLike, true},
	"NumericEquals":             {opNumericEquals, false},
	"NumericNotEquals":          {opNumericEquals, true},
	"NumericLessThan":           {opNumericLessThan, false},
	"NumericLessThanEquals":     {opNumericLessThanEquals, false},
	"NumericGreaterThan":        {opNumericGreaterThan, false},
	"NumericGreaterThanEquals":  {opNumericGreaterThanEquals, false},
	"DateEquals":                {opDateEquals, false},
	"DateNotEquals":             {opDateEquals, true},
	"DateLessThan":              {opDateLessThan, false},
	"DateLessThanEquals":        {opDateLessThanEquals, false},
	"DateGreaterThan":           {opDateGreaterThan, false},
	"DateGreaterThanEquals":     {opDateGreaterThanEquals, false},
	"Bool":                      {opBool, false},
	"BinaryEquals":              {opBinaryEquals, false},
	"IpAddress":                 {opIPAddress, false},
	"NotIpAddress":              {opIPAddress, true},
	"ArnEquals":                 {opArnLike, false},
	"ArnLike":                   {opArnLike, false},
	"ArnNotEquals":              {opArnLike, true},
	"ArnNotLike":                {opArnLike, true},
	"Null":                      {opNull, false},
}

// parseConditions reads a Condition element.
func parseConditions(raw json.RawMessage, version string) ([]Condition, error) {
	var blocks map[string]json.RawMessage
	if err := strictUnmarshal(raw, &blocks); err != nil || blocks == nil {
		return nil, invalid("Syntax errors in policy.")
	}
	var out []Condition
	for _, name := range sortedKeys(blocks) {
		c := Condition{Operator: name}
		rest := name
		if q, r, ok := strings.Cut(name, ":"); ok {
			switch q {
			case "ForAnyValue":
				c.set = setForAnyValue
			case "ForAllValues":
				c.set = setForAllValues
			default:
				return nil, invalid("Invalid Condition type : %s", name)
			}
			rest = r
		}
		if r, ok := strings.CutSuffix(rest, "IfExists"); ok {
			c.ifExists = true
			rest = r
		}
		def, ok := operators[rest]
		if !ok || (def.op == opNull && (c.ifExists || c.set != setNone)) {
			return nil, invalid("Invalid Condition type : %s", name)
		}
		c.op, c.negate, c.nullCheck = def.op, def.negate, def.op == opNull
		var keys map[string]json.RawMessage
		if err := strictUnmarshal(blocks[name], &keys); err != nil || keys == nil {
			return nil, invalid("Syntax errors in policy.")
		}
		if len(keys) == 0 {
			return nil, invalid("Condition %s must contain at least one key.", name)
		}
		for _, key := range sortedKeys(keys) {
			vals, ok := scalarList(keys[key])
			if !ok || key == "" {
				return nil, invalid("Syntax errors in policy.")
			}
			cc := c
			cc.Key, cc.Values = key, vals
			if err := cc.checkValues(version); err != nil {
				return nil, err
			}
			out = append(out, cc)
		}
	}
	return out, nil
}

// checkValues validates the literal values of typed operators.
func (c *Condition) checkValues(version string) error {
	for _, v := range c.Values {
		if version == Version2012 && strings.Contains(v, "${") {
			continue // checked after substitution
		}
		ok := true
		switch c.op {
		case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
			_, ok = parseNumber(v)
		case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
			_, ok = parseDate(v)
		case opBool, opNull:
			_, ok = parseBool(v)
		case opIPAddress:
			_, ok = parsePrefix(v)
		case opBinaryEquals:
			_, err := base64.StdEncoding.DecodeString(v)
			ok = err == nil
		}
		if !ok {
			return invalid("Invalid value %s for condition %s", v, c.Operator)
		}
	}
	return nil
}

// eval evaluates the condition against the request context.
func (c *Condition) eval(ctx evalContext, version string) bool {
	reqVals, present := ctx.get(c.Key)
	if c.nullCheck {
		want, _ := parseBool(c.Values[0])
		return want == !present
	}
	if !present {
		switch {
		case c.ifExists:
			return true
		case c.set == setForAllValues:
			return true // vacuously true
		case c.set == setForAnyValue:
			return false
		}
		return c.negate
	}
	// Resolve policy variables in the condition values.
	pvals := make([]pattern, 0, len(c.Values))
	for _, v := range c.Values {
		p, ok := compile(v, version == Version2012, ctx)
		if !ok {
			continue // a missing variable makes that value match nothing
		}
		pvals = append(pvals, p)
	}
	matchOne := func(rv string) bool {
		for _, p := range pvals {
			if c.match(rv, p) {
				return true
			}
		}
		return false
	}
	switch c.set {
	case setForAnyValue:
		for _, rv := range reqVals {
			if matchOne(rv) != c.negate {
				return true
			}
		}
		return false
	case setForAllValues:
		for _, rv := range reqVals {
			if matchOne(rv) == c.negate {
				return false
			}
		}
		return true
	}
	hit := false
	for _, rv := range reqVals {
		if matchOne(rv) {
			hit = true
			break
		}
	}
	return hit != c.negate
}

// match applies the base operator to one request value and one policy
// value.
func (c *Condition) match(rv string, p pattern) bool {
	switch c.op {
	case opStringEquals:
		return rv == p.literal()
	case opStringEqualsIgnoreCase:
		return strings.EqualFold(rv, p.literal())
	case opStringLike:
		return p.match(rv, false)
	case opArnLike:
		return p.matchARN(rv)
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		a, ok1 := parseNumber(rv)
		b, ok2 := parseNumber(p.literal())
		if !ok1 || !ok2 {
			return false
		}
		return compareOp(c.op, cmpFloat(a, b))
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		a, ok1 := parseDate(rv)
		b, ok2 := parseDate(p.literal())
		if !ok1 || !ok2 {
			return false
		}
		return compareOp(c.op, a.Compare(b))
	case opBool:
		a, ok1 := parseBool(rv)
		b, ok2 := parseBool(p.literal())
		return ok1 && ok2 && a == b
	case opBinaryEquals:
		return rv == p.literal()
	case opIPAddress:
		addr, err := netip.ParseAddr(rv)
		pre, ok := parsePrefix(p.literal())
		return err == nil && ok && pre.Contains(addr.Unmap())
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareOp(op baseOp, c int) bool {
	switch op {
	case opNumericEquals, opDateEquals:
		return c == 0
	case opNumericLessThan, opDateLessThan:
		return c < 0
	case opNumericLessThanEquals, opDateLessThanEquals:
		return c <= 0
	case opNumericGreaterThan, opDateGreaterThan:
		return c > 0
	case opNumericGreaterThanEquals, opDateGreaterThanEquals:
		return c >= 0
	}
	return false
}

func parseNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// parseDate accepts ISO 8601 date-times and dates and epoch seconds.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parsePrefix accepts a CIDR block or a single address.
func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}
