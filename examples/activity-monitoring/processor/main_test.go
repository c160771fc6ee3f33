package main

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestClassify(t *testing.T) {
	trail := func(name, params string) string {
		return `{"version":"0","id":"e1","detail-type":"AWS API Call via CloudTrail","source":"aws.sqs","account":"111111111111","region":"us-east-1",
"detail":{"eventSource":"sqs.amazonaws.com","eventName":"` + name + `","eventTime":"2026-01-01T00:00:00Z",
"userIdentity":{"arn":"arn:aws:iam::111111111111:user/dev"},"requestParameters":` + params + `}}`
	}
	public := `{"queueUrl":"http://h/111111111111/q1","attributes":{"Policy":"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"sqs:*\"}]}"}}`
	scoped := `{"queueUrl":"http://h/111111111111/q1","attributes":{"Policy":"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"222222222222\"}}]}"}}`
	denyAll := `{"queueUrl":"http://h/111111111111/q1","attributes":{"Policy":"{\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\"}]}"}}`
	tests := []struct {
		name, body string
		priority   bool
		severity   string
		resource   string
		wantErr    bool
	}{
		{"create is low", trail("CreateQueue", `{"queueName":"orders-1"}`), false, "LOW", "orders-1", false},
		{"priority is high", trail("AddPermission", `{"queueUrl":"http://h/111111111111/q1","label":"x"}`), true, "HIGH", "q1", false},
		{"public policy is critical", trail("SetQueueAttributes", public), true, "CRITICAL", "q1", false},
		{"scoped policy is high", trail("SetQueueAttributes", scoped), true, "HIGH", "q1", false},
		{"deny * is not public", trail("SetQueueAttributes", denyAll), true, "HIGH", "q1", false},
		{"lambda permission to everyone", trail("AddPermission", `{"functionName":"f","principal":"*"}`), true, "CRITICAL", "f", false},
		{"not JSON", `nope`, false, "", "", true},
		{"not a trail event", `{"detail-type":"Other"}`, false, "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := classify(events.SQSMessage{MessageId: "m", Body: tc.body}, tc.priority)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tc.wantErr {
				return
			}
			if f.Severity != tc.severity || f.Resource != tc.resource || f.Account != "111111111111" || f.SourceEventID != "e1" ||
				f.Principal != "arn:aws:iam::111111111111:user/dev" {
				t.Errorf("finding %+v", f)
			}
		})
	}
}
