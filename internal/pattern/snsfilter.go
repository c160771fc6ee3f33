package pattern

import (
	"errors"
	"strconv"
)

// FilterScope says what an SNS filter policy is applied to.
type FilterScope string

// The SNS filter policy scopes.
const (
	ScopeMessageAttributes FilterScope = "MessageAttributes"
	ScopeMessageBody       FilterScope = "MessageBody"
)

// ParseFilterScope validates a FilterPolicyScope attribute value; "" means
// the default, MessageAttributes. The error text is SNS's InvalidParameter
// message.
func ParseFilterScope(s string) (FilterScope, error) {
	switch FilterScope(s) {
	case "", ScopeMessageAttributes:
		return ScopeMessageAttributes, nil
	case ScopeMessageBody:
		return ScopeMessageBody, nil
	}
	return "", errors.New("Invalid parameter: FilterPolicyScope: Invalid value [" + s + "]. Please use either MessageBody or MessageAttributes")
}

// SNS limits on a filter policy.
const (
	snsMaxKeys        = 5
	snsMaxCombination = 150
)

// FilterPolicyError is an SNS filter policy that SNS would reject.
// Error returns the InvalidParameter message SNS gives for
// SetSubscriptionAttributes; SubscribeMessage the one for Subscribe.
type FilterPolicyError struct {
	// Reason is the engine's explanation, e.g. "Filter policy is too complex".
	Reason string
	// Line and Column locate syntax-level errors as SNS reports them (zero: none).
	Line, Column int
	// Scope is true for the MessageAttributes-scope nesting error, which SNS
	// reports without the "FilterPolicy: " label.
	Scope bool

	loc string
}

func (e *FilterPolicyError) detail() string {
	if e.Scope {
		return e.Reason
	}
	return "FilterPolicy: " + e.Reason + e.loc
}

// Error returns "Invalid parameter: FilterPolicy: <reason>[location]".
func (e *FilterPolicyError) Error() string { return "Invalid parameter: " + e.detail() }

// SubscribeMessage returns the message SNS gives when the policy comes with
// Subscribe: "Invalid parameter: Attributes Reason: FilterPolicy: …".
func (e *FilterPolicyError) SubscribeMessage() string {
	return "Invalid parameter: Attributes Reason: " + e.detail()
}

// MessageAttribute is one SNS message attribute as filter policies see it.
type MessageAttribute struct {
	// Type is the DataType: "String", "Number", "String.Array" or "Binary"
	// (custom suffixes such as "Number.float" are allowed).
	Type string
	// Value is the string value (for Binary, ignored).
	Value string
}

// FilterPolicy is a compiled SNS subscription filter policy. It is immutable
// and safe for concurrent use.
type FilterPolicy struct {
	scope FilterScope
	sn    *snapshot
}

// NewFilterPolicy validates and compiles an SNS filter policy for scope
// (ScopeMessageAttributes when empty). Errors are *FilterPolicyError.
func NewFilterPolicy(policy []byte, scope FilterScope) (*FilterPolicy, error) {
	if scope == "" {
		scope = ScopeMessageAttributes
	}
	c, cerr := compilePattern(policy, dialectSNS)
	if cerr != nil {
		e := &FilterPolicyError{Reason: cerr.reason, Line: cerr.line, Column: cerr.column}
		if cerr.line != 0 {
			ip := toEventBridgeError(cerr, policy)
			e.loc = ip.Location()
		}
		return nil, e
	}
	if scope == ScopeMessageAttributes && c.nested {
		return nil, &FilterPolicyError{Reason: "Filter policy scope MessageAttributes does not support nested filter policy", Scope: true}
	}
	total := 0
	for _, b := range c.branches {
		if len(b.fields) > snsMaxKeys {
			return nil, &FilterPolicyError{Reason: "Filter policy can not have more than " + strconv.Itoa(snsMaxKeys) + " keys"}
		}
		// SNS counts each key's values weighted by its nesting level and
		// multiplies across keys, summing over $or branches.
		n := 1
		for _, f := range b.fields {
			n *= f.depth * len(f.preds)
			if n > snsMaxCombination {
				break
			}
		}
		total += n
		if total > snsMaxCombination {
			return nil, &FilterPolicyError{Reason: "Filter policy is too complex"}
		}
	}
	return &FilterPolicy{scope: scope, sn: buildSnapshot([]ruleEntry{{"p", c}})}, nil
}

// Scope returns the scope the policy was compiled for.
func (p *FilterPolicy) Scope() FilterScope { return p.scope }

// MatchBody reports whether a message body matches a MessageBody-scope
// policy. A body that is not a JSON object matches nothing.
func (p *FilterPolicy) MatchBody(body []byte) bool {
	out, err := p.sn.match(&scratch{}, nil, body)
	return err == nil && len(out) == 1
}

// MatchAttributes reports whether message attributes match a
// MessageAttributes-scope policy. String values are strings, Number values
// numbers, String.Array values JSON arrays whose elements are each tried;
// Binary attributes are ignored, as SNS does.
func (p *FilterPolicy) MatchAttributes(attrs map[string]MessageAttribute) bool {
	sn := p.sn
	st := &scratch{}
	st.reset(sn)
	for name, a := range attrs {
		n := sn.root.descend([]byte(name))
		if n == nil {
			continue
		}
		v := []byte(a.Value)
		switch baseType(a.Type) {
		case "Number":
			w := walker{data: v, sn: sn, st: st}
			if w.number() && w.pos == len(v) {
				if n.field >= 0 {
					st.leaf(sn, n, leafNumber, v, true, numValue{})
				}
				continue
			}
			if n.field >= 0 {
				st.leaf(sn, n, leafString, v, true, numValue{})
			}
		case "String.Array":
			check := walker{data: v, sn: sn, st: st}
			check.ws()
			if check.pos < len(v) && v[check.pos] == '[' {
				check.value(nil)
				check.ws()
				if check.err == nil && check.pos == len(v) {
					w := walker{data: v, sn: sn, st: st}
					w.ws()
					w.value(n)
					continue
				}
			}
			// not a JSON array (SNS refuses these at publish): match as text
			if n.field >= 0 {
				st.leaf(sn, n, leafString, v, true, numValue{})
			}
		case "Binary":
		default:
			if n.field >= 0 {
				st.leaf(sn, n, leafString, v, true, numValue{})
			}
		}
	}
	return len(sn.collect(st, nil)) == 1
}

func baseType(t string) string {
	for i := 0; i < len(t); i++ {
		if t[i] == '.' {
			if t[:i] == "String" && t[i+1:] == "Array" {
				return "String.Array"
			}
			return t[:i]
		}
	}
	return t
}
