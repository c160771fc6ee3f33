package trail

import (
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/ids"
	"github.com/fogbank/fogbank/internal/service"
)

func TestFromCallAssumedRole(t *testing.T) {
	tr := New(nil, ids.New(1), nil)
	c := &service.Call{
		RequestID: "r1", Service: "sqs", Operation: "CreateQueue", Account: "111111111111", Region: "eu-west-1",
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), SourceIP: "127.0.0.1", UserAgent: "ua",
		Identity: service.Identity{Type: "AssumedRole", PrincipalID: "AROAX:s1", ARN: "arn:aws:sts::111111111111:assumed-role/R/s1",
			AccountID: "111111111111", AccessKeyID: "ASIAX", SessionToken: "tok", SessionIssuerARN: "arn:aws:iam::111111111111:role/R"},
		ErrorCode: "QueueAlreadyExists", Resources: []service.Resource{{Type: "AWS::SQS::Queue", Name: "arn:aws:sqs:eu-west-1:111111111111:q"}},
	}
	r := tr.FromCall(c)
	if r.EventSource != "sqs.amazonaws.com" || r.EventTime != "2026-01-02T03:04:05Z" || r.RecipientAccountID != "111111111111" {
		t.Errorf("record %+v", r)
	}
	si := r.UserIdentity.SessionContext.SessionIssuer
	if si == nil || si.UserName != "R" || si.PrincipalID != "AROAX" || si.AccountID != "111111111111" {
		t.Errorf("session issuer %+v", si)
	}
	if Username(r) != "s1" {
		t.Errorf("Username = %q", Username(r))
	}
	for key, val := range map[string]string{"EventName": "CreateQueue", "EventSource": "sqs.amazonaws.com", "AccessKeyId": "ASIAX",
		"ResourceType": "AWS::SQS::Queue", "ResourceName": "arn:aws:sqs:eu-west-1:111111111111:q", "ReadOnly": "false", "Username": "s1"} {
		if !matches(r, key, val) {
			t.Errorf("no match on %s=%s", key, val)
		}
		if matches(r, key, val+"x") {
			t.Errorf("match on %s=%sx", key, val)
		}
	}
}
