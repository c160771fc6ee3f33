package lambda

import (
	"encoding/json"
	"testing"
)

// BenchmarkRuleAuthorization measures the function-policy decision each
// EventBridge delivery to a function makes, parsing the policy on every
// call ("uncached") and with the service's policy cache ("cached"): a
// policy of three statements, the last one admitting the rule.
func BenchmarkRuleAuthorization(b *testing.B) {
	ref := fnRef{Account: "111111111111", Region: "us-east-1", Name: "f"}
	rule := "arn:aws:events:us-east-1:111111111111:rule/r"
	var fn fnRecord
	for i, st := range []map[string]any{
		{"Sid": "s3", "Effect": "Allow", "Principal": map[string]string{"Service": "s3.amazonaws.com"}, "Action": "lambda:InvokeFunction", "Resource": ref.arn()},
		{"Sid": "x", "Effect": "Allow", "Principal": map[string]string{"AWS": "arn:aws:iam::222222222222:root"}, "Action": "lambda:InvokeFunction", "Resource": ref.arn()},
		{"Sid": "eb", "Effect": "Allow", "Principal": map[string]string{"Service": eventsPrincipal}, "Action": "lambda:InvokeFunction", "Resource": ref.arn(),
			"Condition": map[string]any{"ArnLike": map[string]string{"AWS:SourceArn": rule}}},
	} {
		raw, _ := json.Marshal(st)
		fn.Policy = append(fn.Policy, policyStmt{Sid: string(rune('a' + i)), Statement: raw})
	}
	fn.PolicyRevision = "r1"
	for _, c := range []struct {
		name string
		pc   *policyCache
	}{{"uncached", nil}, {"cached", &policyCache{}}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, conds := rulePrincipal(rule, "", ref.Account)
				if !policyAllowsInvoke(c.pc, fn, ref, p, conds) {
					b.Fatal("denied")
				}
			}
		})
	}
}
