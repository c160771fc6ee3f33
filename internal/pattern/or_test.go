package pattern

import (
	"errors"
	"testing"
)

// $or, as AWS's engine (event-ruler's JSON rule compiler) defines it: each
// object of a "$or" array forks the rule into a branch; the fields beside the
// "$or" (before or after it, at any level) are ANDed with every branch;
// several "$or" multiply out; a field named again inside a branch, or after
// the "$or", replaces the earlier definition in the branches it reaches.
func TestOrSemantics(t *testing.T) {
	// The examples of event-ruler's README ("Rule examples with $or").
	normal := `{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"namespace":["AWS/EC2","AWS/ES"]}]}`
	parallel := `{"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"namespace":["AWS/EC2","AWS/ES"]}],` +
		`"detail":{"$or":[{"source":["aws.cloudwatch"]},{"detail-type":["CloudWatch Alarm State Change"]}]}}`
	andInside := `{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},` +
		`{"metricType":["MetricType"],"namespace":["AWS/EC2","AWS/ES"]},{"scope":["Service"]}]}`
	nested := `{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},` +
		`{"metricType":["MetricType"],"namespace":["AWS/EC2","AWS/ES"],"$or":[{"metricId":[1234]},{"spaceId":[1000]}]},{"scope":["Service"]}]}`
	cases := []struct {
		name, pat, event string
		want             bool
	}{
		{"normal: source and metricName", normal, `{"source":"aws.cloudwatch","metricName":"ReadLatency"}`, true},
		{"normal: source and namespace", normal, `{"source":"aws.cloudwatch","namespace":"AWS/ES"}`, true},
		{"normal: branch without sibling", normal, `{"metricName":"ReadLatency"}`, false},
		{"normal: sibling without branch", normal, `{"source":"aws.cloudwatch","scope":"Service"}`, false},
		{"parallel: one of each", parallel, `{"namespace":"AWS/EC2","detail":{"detail-type":"CloudWatch Alarm State Change"}}`, true},
		{"parallel: first only", parallel, `{"namespace":"AWS/EC2","metricName":"CPUUtilization"}`, false},
		{"parallel: second only", parallel, `{"detail":{"source":"aws.cloudwatch"}}`, false},
		{"and inside: both", andInside, `{"source":"aws.cloudwatch","metricType":"MetricType","namespace":"AWS/EC2"}`, true},
		{"and inside: half", andInside, `{"source":"aws.cloudwatch","metricType":"MetricType"}`, false},
		{"and inside: third", andInside, `{"source":"aws.cloudwatch","scope":"Service"}`, true},
		{"nested: inner or", nested, `{"source":"aws.cloudwatch","metricType":"MetricType","namespace":"AWS/ES","spaceId":1000}`, true},
		{"nested: inner or missing", nested, `{"source":"aws.cloudwatch","metricType":"MetricType","namespace":"AWS/ES"}`, false},
		{"nested: inner or alone", nested, `{"source":"aws.cloudwatch","metricId":1234}`, false},
		// Siblings after the $or join every branch too.
		{"sibling after", `{"$or":[{"a":["1"]},{"b":["2"]}],"x":["1"]}`, `{"b":"2","x":"1"}`, true},
		{"sibling after missing", `{"$or":[{"a":["1"]},{"b":["2"]}],"x":["1"]}`, `{"b":"2"}`, false},
		{"nested sibling after", `{"$or":[{"a":["1"]},{"b":["2"]}],"c":{"d":["1"]}}`, `{"a":"1","c":{"d":"1"}}`, true},
		{"nested sibling after missing", `{"$or":[{"a":["1"]},{"b":["2"]}],"c":{"d":["1"]}}`, `{"a":"1"}`, false},
		{"or inside object", `{"detail":{"$or":[{"c":[{"numeric":[">",0,"<=",5]}]},{"d":[{"numeric":["<",10]}]}]}}`, `{"detail":{"c":0,"d":9}}`, true},
		// A field defined beside the $or and again in a branch: the later definition wins in that branch.
		{"redefined in branch", `{"a":["x"],"$or":[{"a":["y"]},{"b":["z"]}]}`, `{"a":"y"}`, true},
		{"redefined in branch, outer value", `{"a":["x"],"$or":[{"a":["y"]},{"b":["z"]}]}`, `{"a":"x"}`, false},
		{"redefined in branch, other branch", `{"a":["x"],"$or":[{"a":["y"]},{"b":["z"]}]}`, `{"a":"x","b":"z"}`, true},
		{"redefined after", `{"$or":[{"a":["y"]},{"b":["z"]}],"a":["x"]}`, `{"a":"y"}`, false},
		{"redefined after, new value", `{"$or":[{"a":["y"]},{"b":["z"]}],"a":["x"]}`, `{"a":"x"}`, true},
		// "$or" in an event is an ordinary name; patterns use it only as the operator.
		{"or as event key", `{"$or":[{"a":["1"]},{"b":["2"]}]}`, `{"$or":{"a":"1"}}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Test([]byte(c.pat), []byte(c.event))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("Test(%s, %s) = %v, want %v", c.pat, c.event, got, c.want)
			}
			cp, cerr := compilePattern([]byte(c.pat), dialectEventBridge)
			leaves, ok := refFlatten([]byte(c.event))
			if cerr != nil || !ok {
				t.Fatal(cerr, ok)
			}
			if ref := refMatch(cp, leaves); ref != c.want {
				t.Errorf("reference matcher says %v", ref)
			}
		})
	}
}

func TestOrErrors(t *testing.T) {
	cases := []struct{ pat, reason string }{
		{`{"$or":[{"a":["1"]}]}`, `There must have at least 2 Objects in $or relationship.`},
		{`{"$or":[]}`, `There must have at least 2 Objects in $or relationship.`},
		{`{"$or":{"a":["1"]}}`, `It must be an Array followed with $or.`},
		{`{"$or":["a",{"b":["1"]}]}`, `Only JSON object is allowed in array of $or relationship.`},
		{`{"$or":[{"a":["1"]},{}]}`, `Empty objects are not allowed`},
		{`{"$or":[{"a":["1"]},{"b":"1"}]}`, `"b" must be an object or an array`},
		{`{"$or":[{"numeric":[">",1]},{"b":["1"]}]}`, `numeric is Ruler reserved fieldName which cannot be used inside $or.`},
		{`{"$or":[{"a":["1"]},{"x":{"exactly":["1"]}}]}`, `exactly is Ruler reserved fieldName which cannot be used inside $or.`},
		{`{"$or":[{">=":["1"]},{"b":["1"]}]}`, `>= is Ruler reserved fieldName which cannot be used inside $or.`},
		{`{"$or":[{"a":["1"]},{"regex":["1"]}]}`, `regex is Ruler reserved fieldName which cannot be used inside $or.`},
		{`{"$or":[{"a":["1"]},{"$or":[{"ip-address-in-range":["1"]},{"c":["1"]}]}]}`, `ip-address-in-range is Ruler reserved fieldName which cannot be used inside $or.`},
		{`{"$or":[{"a":[{"exact":"1"}]},{"b":["1"]}]}`, `Unrecognized match type exact`},
	}
	for _, c := range cases {
		err := Validate([]byte(c.pat))
		var ipe *InvalidPatternError
		if !errors.As(err, &ipe) || ipe.Reason != c.reason {
			t.Errorf("Validate(%s) = %v, want reason %q", c.pat, err, c.reason)
		}
	}
	// Outside $or the reserved names are ordinary field names, and
	// "exactly" is the explicit exact match.
	for _, p := range []string{`{"regex":["1"]}`, `{">=":{"a":["1"]}}`, `{"a":[{"exactly":"1"}]}`} {
		if err := Validate([]byte(p)); err != nil {
			t.Errorf("Validate(%s) = %v", p, err)
		}
	}
	if ok, err := Test([]byte(`{"a":[{"exactly":"1"}]}`), []byte(`{"a":"1"}`)); !ok || err != nil {
		t.Errorf("exactly: %v %v", ok, err)
	}
}
