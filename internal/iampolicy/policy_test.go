package iampolicy

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want *Policy
	}{
		{
			name: "single statement object, SQS default policy",
			doc: `{"Version":"2008-10-17","Id":"arn:aws:sqs:us-east-1:111111111111:q/SQSDefaultPolicy",
				"Statement":{"Sid":"l1","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},
				"Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:111111111111:q"}}`,
			want: &Policy{Version: Version2008, ID: "arn:aws:sqs:us-east-1:111111111111:q/SQSDefaultPolicy", Statements: []Statement{{
				Sid: "l1", Effect: Allow, Principal: &Principals{AWS: []string{"arn:aws:iam::222222222222:root"}},
				Action: []string{"SQS:SendMessage"}, Resource: []string{"arn:aws:sqs:us-east-1:111111111111:q"},
			}}},
		},
		{
			name: "array, wildcard principal, NotAction, conditions with numbers and booleans",
			doc: `{"Version":"2012-10-17","Statement":[
				{"Effect":"Deny","Principal":"*","NotAction":["sqs:Get*"],"NotResource":"arn:aws:sqs:*:*:keep",
				 "Condition":{"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"s3:max-keys":[10,"20"]}}}]}`,
			want: &Policy{Version: Version2012, Statements: []Statement{{
				Effect: Deny, Principal: &Principals{All: true}, NotAction: []string{"sqs:Get*"},
				NotResource: []string{"arn:aws:sqs:*:*:keep"},
				Conditions: []Condition{
					{Operator: "Bool", Key: "aws:SecureTransport", Values: []string{"false"}},
					{Operator: "NumericLessThan", Key: "s3:max-keys", Values: []string{"10", "20"}},
				},
			}}},
		},
		{
			name: "service and mixed principals, AWS star",
			doc:  `{"Statement":[{"Effect":"Allow","Principal":{"Service":["events.amazonaws.com"],"AWS":["*","123456789012"]},"Action":"*"}]}`,
			want: &Policy{Version: Version2008, Statements: []Statement{{
				Effect: Allow, Principal: &Principals{All: true, AWS: []string{"123456789012"}, Service: []string{"events.amazonaws.com"}},
				Action: []string{"*"},
			}}},
		},
		{
			name: "set qualifiers and IfExists",
			doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*",
				"Condition":{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a*"]},"Null":{"aws:SourceArn":"false"}}}]}`,
			want: &Policy{Version: Version2012, Statements: []Statement{{
				Effect: Allow, Principal: &Principals{All: true}, Action: []string{"sqs:*"}, Resource: []string{"*"},
				Conditions: []Condition{
					{Operator: "ForAnyValue:StringLikeIfExists", Key: "aws:TagKeys", Values: []string{"a*"}},
					{Operator: "Null", Key: "aws:SourceArn", Values: []string{"false"}},
				},
			}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreUnexported(Condition{})); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, doc, reason string
	}{
		{"not json", `{"Statement":`, "Syntax errors in policy."},
		{"not an object", `[1]`, "Syntax errors in policy."},
		{"trailing data", `{"Statement":{"Effect":"Allow","Action":"*"}} {}`, "Syntax errors in policy."},
		{"bad version", `{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*"}}`, "The policy must contain a valid version string"},
		{"unknown top field", `{"Statements":[]}`, "Unknown field Statements"},
		{"no statement", `{"Version":"2012-10-17"}`, "Missing required field Statement"},
		{"empty statement list", `{"Statement":[]}`, "Policy statement must contain at least one statement."},
		{"no effect", `{"Statement":{"Action":"*"}}`, "Missing required field Effect"},
		{"bad effect", `{"Statement":{"Effect":"allow","Action":"*"}}`, "Invalid effect: allow"},
		{"unknown statement field", `{"Statement":{"Effect":"Allow","Action":"*","Actions":"x"}}`, "Unknown field Actions"},
		{"no action", `{"Statement":{"Effect":"Allow","Resource":"*"}}`, "Policy statement must contain actions."},
		{"empty action list", `{"Statement":{"Effect":"Allow","Action":[]}}`, "Policy statement must contain actions."},
		{"action and notaction", `{"Statement":{"Effect":"Allow","Action":"*","NotAction":"*"}}`, "Statement cannot contain both Action and NotAction"},
		{"action without vendor", `{"Statement":{"Effect":"Allow","Action":"SendMessage"}}`, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
		{"bad resource", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"queue"}}`, "Policy has invalid resource"},
		{"empty resource list", `{"Statement":{"Effect":"Allow","Action":"*","Resource":[]}}`, "Policy statement must contain resources."},
		{"principal string not star", `{"Statement":{"Effect":"Allow","Principal":"123456789012","Action":"*"}}`, "Invalid principal in policy"},
		{"principal wildcard arn", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/*"},"Action":"*"}}`, "Invalid principal in policy"},
		{"principal short account", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"1234"},"Action":"*"}}`, "Invalid principal in policy"},
		{"principal unknown kind", `{"Statement":{"Effect":"Allow","Principal":{"Users":"x"},"Action":"*"}}`, "Invalid principal in policy"},
		{"principal empty object", `{"Statement":{"Effect":"Allow","Principal":{},"Action":"*"}}`, "Invalid principal in policy"},
		{"principal and notprincipal", `{"Statement":{"Effect":"Deny","Principal":"*","NotPrincipal":"*","Action":"*"}}`, "Statement cannot contain both Principal and NotPrincipal"},
		{"duplicate sid", `{"Statement":[{"Sid":"a","Effect":"Allow","Action":"*"},{"Sid":"a","Effect":"Deny","Action":"*"}]}`, "Statement IDs (SID) in a single policy must be unique."},
		{"unknown operator", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"StringEqual":{"a":"b"}}}}`, "Invalid Condition type : StringEqual"},
		{"unknown qualifier", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"ForSomeValues:StringEquals":{"a":"b"}}}}`, "Invalid Condition type : ForSomeValues:StringEquals"},
		{"null with IfExists", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"NullIfExists":{"a":"true"}}}}`, "Invalid Condition type : NullIfExists"},
		{"empty operator block", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{}}}}`, "Condition StringEquals must contain at least one key."},
		{"bad number", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"NumericEquals":{"a":"x"}}}}`, "Invalid value x for condition NumericEquals"},
		{"bad date", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}}`, "Invalid value tomorrow for condition DateLessThan"},
		{"bad bool", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}}`, "Invalid value yes for condition Bool"},
		{"bad ip", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}}`, "Invalid value 10.0.0.0/33 for condition IpAddress"},
		{"object condition value", `{"Statement":{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{"a":{"b":1}}}}}`, "Syntax errors in policy."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse(%s) = %v, want a ValidationError", tc.doc, err)
			}
			if ve.Reason != tc.reason {
				t.Errorf("reason = %q, want %q", ve.Reason, tc.reason)
			}
		})
	}
}

func TestRequirePrincipals(t *testing.T) {
	p, err := Parse([]byte(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"},{"Effect":"Allow","Action":"*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var ve *ValidationError
	if err := p.RequirePrincipals(); !errors.As(err, &ve) || ve.Reason != "Missing required field Principal" {
		t.Errorf("RequirePrincipals = %v", err)
	}
	p.Statements = p.Statements[:1]
	if err := p.RequirePrincipals(); err != nil {
		t.Errorf("RequirePrincipals = %v, want nil", err)
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		`{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Principal":{"AWS":["111111111111","arn:aws:iam::222222222222:role/r"]},"Action":["sqs:Send*"],"Resource":"arn:aws:sqs:*:111111111111:q","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:events:*:*:rule/${aws:username}"}}}]}`,
		`{"Statement":{"Effect":"Deny","NotPrincipal":{"Service":"events.amazonaws.com"},"NotAction":"sqs:Get*","Condition":{"ForAllValues:StringNotLikeIfExists":{"k":["a?","*"]},"Null":{"x":true}}}}`,
		`{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]},"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"},"NumericLessThanEquals":{"n":1.5}}}}`,
		`{}`, `[]`, `"x"`, `{"Statement":[]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), "sqs:SendMessage", "arn:aws:sqs:us-east-1:111111111111:q")
	}
	f.Fuzz(func(t *testing.T, doc []byte, action, resource string) {
		p, err := Parse(doc)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse returned %T, want *ValidationError", err)
			}
			return
		}
		req := Request{
			Principal: Principal{Account: "111111111111", ARN: "arn:aws:sts::111111111111:assumed-role/r/s", RoleARN: "arn:aws:iam::111111111111:role/r"},
			Action:    action, Resource: resource,
			Context: map[string][]string{"aws:SourceArn": {resource}, "k": {"a1", "b"}, "aws:SourceIp": {"10.1.2.3"}},
		}
		d := Evaluate(p, req)
		if d != Allowed && d != ExplicitDeny && d != ImplicitDeny {
			t.Fatalf("Evaluate = %d", d)
		}
		// Evaluation is deterministic.
		if d2 := Evaluate(p, req); d2 != d {
			t.Fatalf("Evaluate not deterministic: %v then %v", d, d2)
		}
	})
}
