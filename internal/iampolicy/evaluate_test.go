package iampolicy

import (
	"fmt"
	"testing"
)

const (
	queueARN = "arn:aws:sqs:us-east-1:111111111111:orders"
	ruleARN  = "arn:aws:events:us-east-1:222222222222:rule/to-orders"
)

var (
	rootB    = Principal{Account: "222222222222", ARN: "arn:aws:iam::222222222222:root", Type: "Root"}
	userB    = Principal{Account: "222222222222", ARN: "arn:aws:iam::222222222222:user/alice", Type: "IAMUser"}
	sessionB = Principal{Account: "222222222222", ARN: "arn:aws:sts::222222222222:assumed-role/worker/s1",
		RoleARN: "arn:aws:iam::222222222222:role/worker", Type: "AssumedRole"}
	userC  = Principal{Account: "333333333333", ARN: "arn:aws:iam::333333333333:user/alice"}
	events = Principal{ServicePrincipal: "events.amazonaws.com"}
	anon   = Principal{}
)

// stmt builds a one-statement 2012-10-17 policy from statement JSON.
func stmt(t *testing.T, s string) *Policy {
	t.Helper()
	p, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[` + s + `]}`))
	if err != nil {
		t.Fatalf("Parse(%s): %v", s, err)
	}
	return p
}

func TestEvaluatePrincipalsActionsResources(t *testing.T) {
	send := func(p Principal) Request {
		return Request{Principal: p, Action: "sqs:SendMessage", Resource: queueARN}
	}
	tests := []struct {
		name   string
		policy string
		req    Request
		want   Decision
	}{
		{"account id matches any principal of the account", `{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"sqs:SendMessage","Resource":"*"}`, send(sessionB), Allowed},
		{"account root ARN matches users", `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"SQS:SendMessage","Resource":"*"}`, send(userB), Allowed},
		{"account principal, other account", `{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"sqs:SendMessage","Resource":"*"}`, send(userC), ImplicitDeny},
		{"user ARN exact", `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:user/alice"},"Action":"sqs:*","Resource":"*"}`, send(userB), Allowed},
		{"user ARN, same name other account", `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:user/alice"},"Action":"sqs:*","Resource":"*"}`, send(userC), ImplicitDeny},
		{"role ARN matches its sessions", `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/worker"},"Action":"sqs:*","Resource":"*"}`, send(sessionB), Allowed},
		{"role ARN does not match the account root", `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/worker"},"Action":"sqs:*","Resource":"*"}`, send(rootB), ImplicitDeny},
		{"session ARN exact", `{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::222222222222:assumed-role/worker/s1"},"Action":"sqs:*","Resource":"*"}`, send(sessionB), Allowed},
		{"star matches services", `{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}`, send(events), Allowed},
		{"AWS star matches services", `{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sqs:SendMessage","Resource":"*"}`, send(events), Allowed},
		{"star matches anonymous", `{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}`, send(anon), Allowed},
		{"account principal never matches anonymous", `{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"sqs:SendMessage","Resource":"*"}`, send(anon), ImplicitDeny},
		{"service principal", `{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"*"}`, send(events), Allowed},
		{"other service principal", `{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"*"}`, send(events), ImplicitDeny},
		{"account principal does not match a service", `{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"sqs:SendMessage","Resource":"*"}`, send(events), ImplicitDeny},
		{"NotPrincipal deny spares the listed", `{"Effect":"Deny","NotPrincipal":{"AWS":"222222222222"},"Action":"sqs:*","Resource":"*"}`, send(userB), ImplicitDeny},
		{"NotPrincipal deny hits others", `{"Effect":"Deny","NotPrincipal":{"AWS":"222222222222"},"Action":"sqs:*","Resource":"*"}`, send(userC), ExplicitDeny},
		{"action wildcard, case-insensitive", `{"Effect":"Allow","Principal":"*","Action":"SQS:send*","Resource":"*"}`, send(userB), Allowed},
		{"action ? wildcard", `{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessag?","Resource":"*"}`, send(userB), Allowed},
		{"other action", `{"Effect":"Allow","Principal":"*","Action":"sqs:ReceiveMessage","Resource":"*"}`, send(userB), ImplicitDeny},
		{"other service's action", `{"Effect":"Allow","Principal":"*","Action":"sns:SendMessage","Resource":"*"}`, send(userB), ImplicitDeny},
		{"NotAction excludes", `{"Effect":"Allow","Principal":"*","NotAction":"sqs:Send*","Resource":"*"}`, send(userB), ImplicitDeny},
		{"NotAction includes others", `{"Effect":"Allow","Principal":"*","NotAction":"sqs:Receive*","Resource":"*"}`, send(userB), Allowed},
		{"resource exact", `{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:sqs:us-east-1:111111111111:orders"}`, send(userB), Allowed},
		{"resource other queue", `{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:sqs:us-east-1:111111111111:order"}`, send(userB), ImplicitDeny},
		{"resource segment wildcards", `{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:sqs:*:111111111111:ord*"}`, send(userB), Allowed},
		{"resource wildcard does not cross segments", `{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:sqs:*:orders:*"}`, send(userB), ImplicitDeny},
		{"resource case-sensitive", `{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:sqs:us-east-1:111111111111:Orders"}`, send(userB), ImplicitDeny},
		{"NotResource", `{"Effect":"Allow","Principal":"*","Action":"*","NotResource":"arn:aws:sqs:*:*:orders"}`, send(userB), ImplicitDeny},
		{"no Resource: the attached resource", `{"Effect":"Allow","Principal":"*","Action":"*"}`, send(userB), Allowed},
		{"resource policy variable", `{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:sqs:*:*:${aws:username}"}`,
			Request{Principal: Principal{Account: "2", ARN: "arn:aws:iam::222222222222:user/orders"}, Action: "sqs:SendMessage", Resource: queueARN}, Allowed},
		{"resource policy variable missing", `{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:sqs:*:*:${aws:username}"}`, send(sessionB), ImplicitDeny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Evaluate(stmt(t, tc.policy), tc.req); got != tc.want {
				t.Errorf("Evaluate = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEvaluateDenyWins(t *testing.T) {
	p := stmt(t, `{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
		{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::222222222222:user/alice"},"Action":"sqs:SendMessage","Resource":"*"}`)
	if got := Evaluate(p, Request{Principal: userB, Action: "sqs:SendMessage", Resource: queueARN}); got != ExplicitDeny {
		t.Errorf("alice SendMessage = %v, want ExplicitDeny", got)
	}
	if got := Evaluate(p, Request{Principal: userB, Action: "sqs:ReceiveMessage", Resource: queueARN}); got != Allowed {
		t.Errorf("alice ReceiveMessage = %v, want Allow", got)
	}
	if got := Evaluate(nil, Request{Principal: userB, Action: "sqs:ReceiveMessage"}); got != ImplicitDeny {
		t.Errorf("nil policy = %v", got)
	}
}

func TestEvaluateConditions(t *testing.T) {
	ctx := map[string][]string{
		"aws:SourceArn":       {ruleARN},
		"aws:SourceAccount":   {"222222222222"},
		"aws:CurrentTime":     {"2025-06-01T12:00:00Z"},
		"aws:EpochTime":       {"1748779200"},
		"aws:SecureTransport": {"false"},
		"aws:SourceIp":        {"10.1.2.3"},
		"aws:TagKeys":         {"team", "env"},
		"n":                   {"5"},
		"b64":                 {"QmluYXJ5"},
	}
	tests := []struct {
		cond string
		want bool
	}{
		{`"StringEquals":{"aws:SourceAccount":"222222222222"}`, true},
		{`"StringEquals":{"AWS:SOURCEACCOUNT":"222222222222"}`, true}, // keys are case-insensitive
		{`"StringEquals":{"aws:SourceAccount":["1","222222222222"]}`, true},
		{`"StringEquals":{"aws:SourceAccount":"333333333333"}`, false},
		{`"StringNotEquals":{"aws:SourceAccount":"333333333333"}`, true},
		{`"StringNotEquals":{"aws:SourceAccount":["333333333333","222222222222"]}`, false},
		{`"StringNotEquals":{"aws:Missing":"x"}`, true},
		{`"StringEquals":{"aws:Missing":"x"}`, false},
		{`"StringEqualsIfExists":{"aws:Missing":"x"}`, true},
		{`"StringEqualsIfExists":{"aws:SourceAccount":"x"}`, false},
		{`"StringEqualsIgnoreCase":{"aws:SourceArn":"ARN:AWS:EVENTS:US-EAST-1:222222222222:RULE/TO-ORDERS"}`, true},
		{`"StringNotEqualsIgnoreCase":{"aws:SourceArn":"ARN:AWS:EVENTS:US-EAST-1:222222222222:RULE/TO-ORDERS"}`, false},
		{`"StringLike":{"aws:SourceArn":"arn:aws:events:*:222222222222:rule/*"}`, true},
		{`"StringLike":{"aws:SourceArn":"arn:aws:events:*:222222222222:rule/to-?rders"}`, true},
		{`"StringLike":{"aws:SourceArn":"ARN:aws:events:*"}`, false},
		{`"StringNotLike":{"aws:SourceArn":"arn:aws:events:*:333333333333:*"}`, true},
		{`"StringLike":{"aws:SourceArn":"${*}"}`, false}, // ${*} is a literal star
		{`"StringEquals":{"aws:SourceAccount":"${aws:PrincipalAccount}"}`, true},
		{`"StringEquals":{"aws:SourceAccount":"${aws:Nope, '222222222222'}"}`, true},
		{`"StringEquals":{"aws:SourceAccount":"${aws:Nope}"}`, false},
		{`"ArnEquals":{"aws:SourceArn":"arn:aws:events:us-east-1:222222222222:rule/to-orders"}`, true},
		{`"ArnLike":{"aws:SourceArn":"arn:aws:events:*:*:rule/*"}`, true},
		{`"ArnLike":{"aws:SourceArn":"arn:aws:events:*:rule/*"}`, false},
		{`"ArnNotEquals":{"aws:SourceArn":"arn:aws:events:us-east-1:222222222222:rule/other"}`, true},
		{`"ArnNotLike":{"aws:SourceArn":"arn:aws:events:*:222222222222:*"}`, false},
		{`"ArnLikeIfExists":{"aws:Missing":"arn:*"}`, true},
		{`"Bool":{"aws:SecureTransport":"false"}`, true},
		{`"Bool":{"aws:SecureTransport":true}`, false},
		{`"Bool":{"aws:Missing":"false"}`, false},
		{`"NumericEquals":{"n":"5"}`, true},
		{`"NumericEquals":{"n":5.0}`, true},
		{`"NumericNotEquals":{"n":"5"}`, false},
		{`"NumericLessThan":{"n":"6"}`, true},
		{`"NumericLessThan":{"n":"5"}`, false},
		{`"NumericLessThanEquals":{"n":"5"}`, true},
		{`"NumericGreaterThan":{"n":"4.5"}`, true},
		{`"NumericGreaterThanEquals":{"n":"6"}`, false},
		{`"NumericGreaterThan":{"aws:SourceArn":"1"}`, false}, // not a number
		{`"DateLessThan":{"aws:CurrentTime":"2025-06-02T00:00:00Z"}`, true},
		{`"DateGreaterThan":{"aws:CurrentTime":"2025-06-02"}`, false},
		{`"DateEquals":{"aws:CurrentTime":"1748779200"}`, true},
		{`"DateNotEquals":{"aws:CurrentTime":"1748779200"}`, false},
		{`"DateLessThanEquals":{"aws:EpochTime":"2025-06-01T12:00:00Z"}`, true},
		{`"DateGreaterThanEquals":{"aws:CurrentTime":"2025-06-01T14:00:00+02:00"}`, true},
		{`"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}`, true},
		{`"IpAddress":{"aws:SourceIp":["192.168.0.0/16","10.1.2.3"]}`, true},
		{`"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}`, false},
		{`"BinaryEquals":{"b64":"QmluYXJ5"}`, true},
		{`"Null":{"aws:Missing":"true"}`, true},
		{`"Null":{"aws:SourceArn":"true"}`, false},
		{`"Null":{"aws:SourceArn":"false"}`, true},
		{`"ForAnyValue:StringEquals":{"aws:TagKeys":["env","x"]}`, true},
		{`"ForAnyValue:StringEquals":{"aws:TagKeys":["x"]}`, false},
		{`"ForAnyValue:StringEquals":{"aws:Missing":["x"]}`, false},
		{`"ForAllValues:StringEquals":{"aws:TagKeys":["env","team","x"]}`, true},
		{`"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}`, false},
		{`"ForAllValues:StringEquals":{"aws:Missing":["env"]}`, true},
		{`"ForAllValues:StringLike":{"aws:TagKeys":["*e*"]}`, true},
		{`"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env"]}`, true},
		{`"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env","team"]}`, false},
		{`"ForAllValues:StringNotEquals":{"aws:TagKeys":["x"]}`, true},
		{`"ForAllValues:StringNotEquals":{"aws:TagKeys":["team"]}`, false},
		{`"StringEquals":{"aws:TagKeys":"env"}`, true}, // plain operator on a multi-valued key: any value
		{`"StringEquals":{"aws:SourceAccount":"222222222222"},"ArnLike":{"aws:SourceArn":"arn:aws:events:*:*:rule/x"}`, false},
		{`"StringEquals":{"aws:SourceAccount":"222222222222","aws:SourceArn":"` + ruleARN + `"}`, true},
		{`"StringEquals":{"aws:PrincipalType":"AWSService","aws:PrincipalServiceName":"events.amazonaws.com"},"Bool":{"aws:PrincipalIsAWSService":"true"}`, true},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			p := stmt(t, `{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*","Condition":{`+tc.cond+`}}`)
			// aws:PrincipalAccount is derived: use a principal of account B
			// for the variable case, the service principal otherwise.
			pr := events
			if tc.cond == `"StringEquals":{"aws:SourceAccount":"${aws:PrincipalAccount}"}` {
				pr = userB
			}
			got := Evaluate(p, Request{Principal: pr, Action: "sqs:SendMessage", Resource: queueARN, Context: ctx}) == Allowed
			if got != tc.want {
				t.Errorf("condition {%s} = %v, want %v", tc.cond, got, tc.want)
			}
		})
	}
}

func TestDerivedContext(t *testing.T) {
	tests := []struct {
		p    Principal
		cond string
	}{
		{sessionB, `"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::222222222222:role/worker"},"StringEquals":{"aws:PrincipalType":"AssumedRole","aws:PrincipalAccount":"222222222222"}`},
		{userB, `"StringEquals":{"aws:PrincipalType":"User","aws:username":"alice"},"Bool":{"aws:PrincipalIsAWSService":"false"}`},
		{rootB, `"StringEquals":{"aws:PrincipalType":"Account"}`},
		{anon, `"StringEquals":{"aws:PrincipalType":"Anonymous"},"Null":{"aws:PrincipalArn":"true"}`},
	}
	for _, tc := range tests {
		p := stmt(t, `{"Effect":"Allow","Principal":"*","Action":"*","Condition":{`+tc.cond+`}}`)
		if got := Evaluate(p, Request{Principal: tc.p, Action: "sqs:SendMessage", Resource: queueARN}); got != Allowed {
			t.Errorf("%+v with {%s} = %v, want Allow", tc.p, tc.cond, got)
		}
	}
	// A value the caller supplies is not overwritten.
	p := stmt(t, `{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"999999999999"}}}`)
	req := Request{Principal: userB, Action: "sqs:SendMessage", Resource: queueARN, Context: map[string][]string{"aws:principalaccount": {"999999999999"}}}
	if got := Evaluate(p, req); got != Allowed {
		t.Errorf("explicit context = %v, want Allow", got)
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"a*b", "ab", true},
		{"a*b", "axxb", true},
		{"a*b", "axxbc", false},
		{"a*b*c", "abxbc", true},
		{"?", "", false},
		{"?", "é", true},
		{"a?c", "abc", true},
		{"**", "x", true},
		{"", "", true},
		{"", "x", false},
	}
	for _, tc := range tests {
		p, _ := compile(tc.pat, false, evalContext{})
		if got := p.match(tc.s, false); got != tc.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tc.pat, tc.s, got, tc.want)
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	p, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[
		{"Sid":"events","Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + queueARN + `","Condition":{"ArnEquals":{"aws:SourceArn":"` + ruleARN + `"}}},
		{"Sid":"acct","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:root","333333333333"]},"Action":["SQS:SendMessage","SQS:ReceiveMessage"],"Resource":"` + queueARN + `"}]}`))
	if err != nil {
		b.Fatal(err)
	}
	req := Request{Principal: events, Action: "sqs:SendMessage", Resource: queueARN, Context: map[string][]string{"aws:SourceArn": {ruleARN}}}
	b.ReportAllocs()
	for b.Loop() {
		if Evaluate(p, req) != Allowed {
			b.Fatal("not allowed")
		}
	}
}
