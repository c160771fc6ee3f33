package pattern

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fogbank/fogbank/internal/conformance"
)

type snsRecorded struct {
	test, key, message string
}

func loadSNSErrors(t *testing.T) []snsRecorded {
	t.Helper()
	dir := conformance.Dir(t, "sns-filter-policy")
	snap := conformance.Snapshot(t, filepath.Join(dir, "test_sns_filter_policy.snapshot.json"))
	var out []snsRecorded
	for key, content := range snap {
		test := key[strings.LastIndex(key, "::")+2:]
		for k, rc := range content {
			var e struct{ Error struct{ Message string } }
			if json.Unmarshal(rc, &e) == nil && e.Error.Message != "" {
				out = append(out, snsRecorded{test, k, e.Error.Message})
			}
		}
	}
	return out
}

// snsPolicies are the policies of the recorded SNS errors whose message does
// not quote the policy, as the recording test sent them.
var snsPolicies = map[string]struct {
	policy string
	scope  FilterScope
}{
	"error-condition-bad-cidr-str":         {`{"key":[{"cidr":"bad-filter"}]}`, ""},
	"error-condition-bad-cidr-str-slash":   {`{"key":[{"cidr":"bad-filter/64"}]}`, ""},
	"error-condition-bad-cidr-str-slash-2": {`{"key":[{"cidr":"bad-/64filter"}]}`, ""},
	"error-condition-bad-cidr-v4":          {`{"key":[{"cidr":"xx.11.xx/8"}]}`, ""},
	"error-condition-bad-cidr-v6":          {`{"key":[{"cidr":"xxxx:db8:1234:1a00::/64"}]}`, ""},
	"error-complexity-in-one-condition":    {`{"key":[` + values("value", 151) + `]}`, ""},
	"error-complexity-in-two-conditions":   {`{"key1":[` + values("value", 100) + `],"key2":[` + values("value", 51) + `]}`, ""},
	"error-complexity-too-many-fields": {`{"key1":["value1"],"key2":["value2"],"key3":["value3"],"key4":["value4"],` +
		`"key5":["value5"],"key6":["value6"]}`, ""},
	"sub-filter-policy-nested-error": {`{"object":{"key":[{"prefix":"auto-"}]}}`, ScopeMessageAttributes},
	"error-complexity-or-flat": {`{"source":["aws.cloudwatch","aws.events","aws.test","aws.test2"],"$or":[` +
		`{"metricName":["CPUUtilization","ReadLatency","t1","t2","t3","t4"]},` +
		`{"metricType":["MetricType","TestType","TestType2","TestType3"],"$or":[{"metricId":[1234,4321,5678,9012]},{"spaceId":[1,2,3,4]}]}]}`, ScopeMessageAttributes},
	"error-complexity-or-nested": {`{"$or":[{"metricName":["CPUUtilization","ReadLatency","TestValue"]},{"namespace":["AWS/EC2","AWS/ES"]}],` +
		`"detail":{"scope":["Service","Test"],"$or":[{"source":["aws.cloudwatch"]},{"type":["CloudWatch Alarm State Change","TestValue","TestValue2"]}]}}`, ScopeMessageBody},
	"sub-filter-policy-nested-error-too-many-combinations": {`{"key_a":{"key_b":{"key_c":["value_one","value_two","value_three","value_four"]}},` +
		`"key_d":{"key_e":["value_one","value_two","value_three"]},"key_f":["value_one","value_two","value_three"]}`, ScopeMessageBody},
	"sub-filter-policy-max-attr-keys": {`{"key_a":["value_one"],"key_b":["value_two"],"key_c":["value_three"],"key_d":["value_four"],` +
		`"key_e":["value_five"],"key_f":["value_six"]}`, ScopeMessageBody},
}

func values(prefix string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `"` + prefix + itoa(i) + `"`
	}
	return strings.Join(parts, ",")
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestConformanceSNSErrors(t *testing.T) {
	recs := loadSNSErrors(t)
	checked := 0
	for _, rec := range recs {
		t.Run(rec.test+"/"+rec.key, func(t *testing.T) {
			if rec.key == "sub-attrs-filter-scope-error" {
				_, err := ParseFilterScope("RandomValue")
				if err == nil || err.Error() != rec.message {
					t.Errorf("ParseFilterScope: %v, want %q", err, rec.message)
				}
				checked++
				return
			}
			policy, scope := "", FilterScope("")
			if src, ok := conformance.QuotedSource(rec.message); ok {
				policy = src
				if rec.test == "test_sub_filter_policy_nested_property_constraints" {
					scope = ScopeMessageBody
				}
			} else if p, ok := snsPolicies[rec.key]; ok {
				policy, scope = p.policy, p.scope
			} else {
				t.Fatalf("no policy known for %s", rec.key)
			}
			_, err := NewFilterPolicy([]byte(policy), scope)
			var fe *FilterPolicyError
			if !errors.As(err, &fe) {
				t.Fatalf("NewFilterPolicy(%s) = %v, want %q", policy, err, rec.message)
			}
			got := fe.SubscribeMessage()
			if strings.HasPrefix(rec.message, "Invalid parameter: FilterPolicy") || strings.HasPrefix(rec.message, "Invalid parameter: Filter policy scope") {
				got = fe.Error()
			}
			if got != rec.message {
				t.Errorf("NewFilterPolicy(%s)\n got %q\nwant %q", policy, got, rec.message)
			}
			checked++
		})
	}
	if checked < 40 {
		t.Errorf("checked %d recorded SNS errors, want at least 40", checked)
	}
}

// TestConformanceSNSDelivery replays the publishes of the recorded SNS
// delivery tests: the recorded deliveries are the matches, the publishes the
// recording asserted were filtered out are the non-matches.
func TestConformanceSNSDelivery(t *testing.T) {
	conformance.Dir(t, "sns-filter-policy")
	num := func(v string) MessageAttribute { return MessageAttribute{Type: "Number", Value: v} }
	str := func(v string) MessageAttribute { return MessageAttribute{Type: "String", Value: v} }
	arr := func(v string) MessageAttribute { return MessageAttribute{Type: "String.Array", Value: v} }
	attrCases := []struct {
		policy string
		attrs  map[string]MessageAttribute
		want   bool
	}{
		{`{"attr1":[{"numeric":[">",0,"<=",100]}]}`, map[string]MessageAttribute{"attr1": num("99")}, true},
		{`{"attr1":[{"numeric":[">",0,"<=",100]}]}`, map[string]MessageAttribute{"attr1": num("111")}, false},
		{`{"attr1":[null,{"anything-but":"whatever"}]}`, nil, false},
		{`{"store":[{"exists":true}]}`, map[string]MessageAttribute{"store": num("99"), "def": num("99")}, true},
		{`{"store":[{"exists":true}]}`, map[string]MessageAttribute{"attr1": num("111")}, false},
		{`{"store":[{"exists":false}]}`, map[string]MessageAttribute{"def": num("99")}, true},
		{`{"store":[{"exists":false}]}`, map[string]MessageAttribute{"store": num("99"), "def": num("99")}, false},
		{`{"store":["value1"]}`, map[string]MessageAttribute{"store": str("value1")}, true},
		{`{"store":["value1"]}`, map[string]MessageAttribute{"store": arr(`["value1","value2"]`)}, true},
		{`{"store":["value1"]}`, map[string]MessageAttribute{"store": arr(`["value2","value3"]`)}, false},
	}
	for _, c := range attrCases {
		p, err := NewFilterPolicy([]byte(c.policy), ScopeMessageAttributes)
		if err != nil {
			t.Fatalf("%s: %v", c.policy, err)
		}
		if got := p.MatchAttributes(c.attrs); got != c.want {
			t.Errorf("%s on %v = %v, want %v", c.policy, c.attrs, got, c.want)
		}
	}
	bodyCases := []struct {
		policy string
		body   string
		want   bool
	}{
		{bodyPolicy, `{"object": {"key": "auto-test"}}`, true},
		{bodyPolicy, `{"object": {"key": "hardcodedvalue"}}`, true},
		{bodyPolicy, `{"object": {"key": "test-auto"}}`, false},
		{bodyPolicy, `{"object": {"key": "auto-test"}, "test": "just-exists"}`, false},
		{bodyPolicy, `{"object": {"key": "auto-test", "nested_key": "just-exists"}}`, false},
		{bodyPolicy, `{"object": {"test": "auto-test"}}`, false},
		{bodyPolicy, `{"test": "auto-test"}`, false},
		{bodyPolicy, `Regular string message`, false},
		{bodyPolicy, `"Regular string message"`, false},
		{`{"object.nested": ["string.value"]}`, `{"object": {"nested": "string.value"}}`, true},
		{`{"object.nested": ["string.value"]}`, `{"object.nested": "string.value"}`, true},
		{`{"object.nested.test": ["string.value"]}`, `{"object": {"nested": {"test": "string.value"}}}`, true},
		{`{"object.nested.test": ["string.value"]}`, `{"object.nested.test": "string.value"}`, true},
		{`{"object.nested.test": ["string.value"]}`, `{"object.nested": {"test": "string.value"}}`, true},
		{`{"object.nested.test": ["string.value"]}`, `{"object": {"nested.test": "string.value"}}`, true},
	}
	for _, c := range bodyCases {
		p, err := NewFilterPolicy([]byte(c.policy), ScopeMessageBody)
		if err != nil {
			t.Fatalf("%s: %v", c.policy, err)
		}
		if got := p.MatchBody([]byte(c.body)); got != c.want {
			t.Errorf("%s on %s = %v, want %v", c.policy, c.body, got, c.want)
		}
	}
}

const bodyPolicy = `{"object": {"key": [{"prefix": "auto-"}, "hardcodedvalue"], "nested_key": [{"exists": false}]}, "test": [{"exists": false}]}`

func TestSNSDialect(t *testing.T) {
	cases := []struct {
		policy string
		err    string // SetSubscriptionAttributes message; "" = valid
	}{
		{`{"key":[{"anything-but":{"prefix":"test-"}}]}`, ""},
		{`{"key":[{"anything-but":["test","test2"]}]}`, ""},
		{`{"key":[{"wildcard":"a*"}]}`, `Invalid parameter: FilterPolicy: Unrecognized match type wildcard` + "\n" + ` at [Source: (String)"{"key":[{"wildcard":"a*"}]}"; line: 1, column: 22]`},
		{`{"a":["1"],"$or":[{"b":["1"]},{"c":["1"]}]}`, ""},
		{`{"key":["a","b","c"],"k2":[` + values("v", 50) + `]}`, ""},
		{`{"key":["a","b","c","d"],"k2":[` + values("v", 50) + `]}`, "Invalid parameter: FilterPolicy: Filter policy is too complex"},
	}
	for _, c := range cases {
		_, err := NewFilterPolicy([]byte(c.policy), ScopeMessageAttributes)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.err {
			t.Errorf("NewFilterPolicy(%s)\n got %q\nwant %q", c.policy, got, c.err)
		}
	}
}
