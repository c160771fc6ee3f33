package sqs_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/fogbank/fogbank/internal/protocol"
	sqssvc "github.com/fogbank/fogbank/internal/sqs"
)

const (
	acctB = "222222222222"
	acctC = "333333333333"
)

// denied is the message SQS gives a caller no queue policy admits.
func denied(caller, action, queue string) string {
	return "User: " + caller + " is not authorized to perform: sqs:" + strings.ToLower(action) + " on resource: " + queue +
		" because no resource-based policy allows the sqs:" + strings.ToLower(action) + " action"
}

func explicitlyDenied(caller, action, queue string) string {
	return "User: " + caller + " is not authorized to perform: sqs:" + strings.ToLower(action) + " on resource: " + queue +
		" with an explicit deny in a resource-based policy"
}

func rootOf(acct string) string { return "arn:aws:iam::" + acct + ":root" }

func TestCrossAccountNeedsQueuePolicy(t *testing.T) {
	env, a := start(t)
	cfgB := env.NewAccount(t, acctB)
	b := sqs.NewFromConfig(cfgB)
	c := sqs.NewFromConfig(env.NewAccount(t, acctC))
	qURL := createQueue(t, a, "shared", nil)
	qARN := queueArn(t, a, qURL)
	send := func(cl *sqs.Client) error {
		_, err := cl.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &qURL, MessageBody: aws.String("hi")})
		return err
	}

	// No policy: every operation of account B is refused.
	wantAPIError(t, send(b), "AccessDenied", denied(rootOf(acctB), "SendMessage", qARN))
	_, err := b.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &qURL})
	wantAPIError(t, err, "AccessDenied", denied(rootOf(acctB), "ReceiveMessage", qARN))
	_, err = b.GetQueueUrl(bg, &sqs.GetQueueUrlInput{QueueName: aws.String("shared"), QueueOwnerAWSAccountId: aws.String(env.Account)})
	wantAPIError(t, err, "AccessDenied", denied(rootOf(acctB), "GetQueueUrl", qARN))
	_, err = b.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: &qURL, Entries: []types.SendMessageBatchRequestEntry{{Id: aws.String("1"), MessageBody: aws.String("x")}}})
	wantAPIError(t, err, "AccessDenied", denied(rootOf(acctB), "SendMessage", qARN))
	_, err = b.DeleteQueue(bg, &sqs.DeleteQueueInput{QueueUrl: &qURL})
	wantAPIError(t, err, "AccessDenied", denied(rootOf(acctB), "DeleteQueue", qARN))

	// The JSON answer: 403, the coral type and the query code header.
	status, hdr, body := jsonCallAs(t, cfgB, env.URL, "SendMessage", `{"QueueUrl":"`+qURL+`","MessageBody":"x"}`)
	if status != http.StatusForbidden || hdr.Get("X-Amzn-Query-Error") != "AccessDenied;Sender" ||
		!strings.Contains(body, `"__type":"com.amazon.coral.service#AccessDeniedException"`) {
		t.Fatalf("json denial: %d %v %s", status, hdr, body)
	}
	// The query answer: 403, Sender, AccessDenied.
	status, qbody := queryCallAs(t, cfgB, env.URL, url.Values{"Action": {"SendMessage"}, "QueueUrl": {qURL}, "MessageBody": {"x"}})
	if status != http.StatusForbidden {
		t.Fatalf("query denial status %d: %s", status, qbody)
	}
	wantContains(t, qbody, "<Type>Sender</Type>", "<Code>AccessDenied</Code>", "<Message>"+denied(rootOf(acctB), "SendMessage", qARN)+"</Message>")

	// AddPermission grants B SendMessage (and so SendMessageBatch), nothing else.
	if _, err := a.AddPermission(bg, &sqs.AddPermissionInput{QueueUrl: &qURL, Label: aws.String("b-send"),
		AWSAccountIds: []string{acctB}, Actions: []string{"SendMessage"}}); err != nil {
		t.Fatal(err)
	}
	if err := send(b); err != nil {
		t.Fatalf("B send after AddPermission: %v", err)
	}
	if _, err := b.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: &qURL, Entries: []types.SendMessageBatchRequestEntry{{Id: aws.String("1"), MessageBody: aws.String("x")}}}); err != nil {
		t.Fatalf("B batch send after AddPermission: %v", err)
	}
	status, qbody = queryCallAs(t, cfgB, env.URL, url.Values{"Action": {"SendMessage"}, "QueueUrl": {qURL}, "MessageBody": {"x"}})
	if status != http.StatusOK {
		t.Fatalf("query send after AddPermission %d: %s", status, qbody)
	}
	_, err = b.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &qURL})
	wantAPIError(t, err, "AccessDenied", denied(rootOf(acctB), "ReceiveMessage", qARN))
	wantAPIError(t, send(c), "AccessDenied", denied(rootOf(acctC), "SendMessage", qARN))

	// Operations that cannot be shared stay the owner's even when the
	// policy grants everything.
	if _, err := a.AddPermission(bg, &sqs.AddPermissionInput{QueueUrl: &qURL, Label: aws.String("b-all"),
		AWSAccountIds: []string{acctB}, Actions: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	r, err := b.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &qURL, MaxNumberOfMessages: 10})
	if err != nil || len(r.Messages) == 0 {
		t.Fatalf("B receive with sqs:*: %v %v", r, err)
	}
	if _, err := b.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: &qURL, ReceiptHandle: r.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("B delete with sqs:*: %v", err)
	}
	if _, err := b.GetQueueUrl(bg, &sqs.GetQueueUrlInput{QueueName: aws.String("shared"), QueueOwnerAWSAccountId: aws.String(env.Account)}); err != nil {
		t.Fatalf("B GetQueueUrl with sqs:*: %v", err)
	}
	for name, call := range map[string]func() error{
		"SetQueueAttributes": func() error {
			_, err := b.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: &qURL, Attributes: map[string]string{"DelaySeconds": "1"}})
			return err
		},
		"AddPermission": func() error {
			_, err := b.AddPermission(bg, &sqs.AddPermissionInput{QueueUrl: &qURL, Label: aws.String("x"), AWSAccountIds: []string{acctC}, Actions: []string{"SendMessage"}})
			return err
		},
		"TagQueue": func() error {
			_, err := b.TagQueue(bg, &sqs.TagQueueInput{QueueUrl: &qURL, Tags: map[string]string{"a": "b"}})
			return err
		},
		"DeleteQueue": func() error {
			_, err := b.DeleteQueue(bg, &sqs.DeleteQueueInput{QueueUrl: &qURL})
			return err
		},
		"ListMessageMoveTasks": func() error {
			_, err := b.ListMessageMoveTasks(bg, &sqs.ListMessageMoveTasksInput{SourceArn: &qARN})
			return err
		},
	} {
		wantAPIError(t, call(), "AccessDenied", denied(rootOf(acctB), name, qARN))
	}

	// RemovePermission takes the grants back.
	for _, l := range []string{"b-send", "b-all"} {
		if _, err := a.RemovePermission(bg, &sqs.RemovePermissionInput{QueueUrl: &qURL, Label: aws.String(l)}); err != nil {
			t.Fatal(err)
		}
	}
	wantAPIError(t, send(b), "AccessDenied", denied(rootOf(acctB), "SendMessage", qARN))
}

func TestQueuePolicyDocument(t *testing.T) {
	env, a := start(t)
	b := sqs.NewFromConfig(env.NewAccount(t, acctB))
	qURL := createQueue(t, a, "policy", nil)
	qARN := queueArn(t, a, qURL)
	setPolicy := func(doc string) {
		t.Helper()
		if _, err := a.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: &qURL, Attributes: map[string]string{"Policy": doc}}); err != nil {
			t.Fatalf("set policy: %v", err)
		}
	}
	// Allow B to send and receive, but not to delete, and only over a
	// condition that holds (plain HTTP here).
	setPolicy(`{"Version":"2012-10-17","Statement":[
		{"Sid":"b","Effect":"Allow","Principal":{"AWS":"` + acctB + `"},"Action":["sqs:SendMessage","sqs:ReceiveMessage","sqs:DeleteMessage"],"Resource":"` + qARN + `",
		 "Condition":{"Bool":{"aws:SecureTransport":"false"}}},
		{"Sid":"nodelete","Effect":"Deny","Principal":"*","Action":"sqs:DeleteMessage*","Resource":"` + qARN + `"}]}`)
	if _, err := b.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &qURL, MessageBody: aws.String("from b")}); err != nil {
		t.Fatalf("B send: %v", err)
	}
	r, err := b.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &qURL})
	if err != nil || len(r.Messages) != 1 {
		t.Fatalf("B receive: %v %v", r, err)
	}
	_, err = b.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: &qURL, ReceiptHandle: r.Messages[0].ReceiptHandle})
	wantAPIError(t, err, "AccessDenied", explicitlyDenied(rootOf(acctB), "DeleteMessage", qARN))
	// The explicit deny applies to the owner as well.
	_, err = a.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: &qURL, ReceiptHandle: r.Messages[0].ReceiptHandle})
	wantAPIError(t, err, "AccessDenied", explicitlyDenied(rootOf(env.Account), "DeleteMessage", qARN))
	// Other owner operations are not affected by the policy.
	if _, err := a.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: &qURL}); err != nil {
		t.Fatalf("owner GetQueueAttributes: %v", err)
	}

	// A condition that does not hold admits nobody from B.
	setPolicy(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"` + rootOf(acctB) + `"},"Action":"sqs:*",
		"Condition":{"StringEquals":{"aws:SourceAccount":"` + acctB + `"}}}}`)
	_, err = b.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &qURL, MessageBody: aws.String("x")})
	wantAPIError(t, err, "AccessDenied", denied(rootOf(acctB), "SendMessage", qARN))

	// Invalid documents are refused with SQS's single message.
	for _, doc := range []string{
		`{"Statement":[{"Effect":"Allow","Action":"sqs:*"}]}`,                          // no principal
		`{"Statement":[{"Effect":"Permit","Principal":"*","Action":"sqs:*"}]}`,         // bad effect
		`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"12"},"Action":"sqs:*"}]}`, // bad principal
		`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"SendMessage"}]}`,    // no vendor
		`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:*","Condition":{"StringEqualz":{"a":"b"}}}]}`,
		`not json`,
	} {
		_, err := a.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: &qURL, Attributes: map[string]string{"Policy": doc}})
		wantAPIError(t, err, "InvalidAttributeValue", "Invalid value for the parameter Policy.")
	}
	_, err = a.CreateQueue(bg, &sqs.CreateQueueInput{QueueName: aws.String("bad-policy"), Attributes: map[string]string{"Policy": `{"Statement":[]}`}})
	wantAPIError(t, err, "InvalidAttributeValue", "Invalid value for the parameter Policy.")
}

func TestInternalSenderNeedsQueuePolicy(t *testing.T) {
	env, a := start(t)
	b := env.Server.Backend()
	svc := sqssvc.New(sqssvc.Deps{Meta: b.Meta(), Queues: b.Queues(), Clock: env.Server.Clock()})
	qURL := createQueue(t, a, "target", nil)
	qARN := queueArn(t, a, qURL)
	ruleB := "arn:aws:events:us-east-1:" + acctB + ":rule/to-a"
	fromB := sqssvc.Sender{Account: acctB, ServicePrincipal: "events.amazonaws.com", SourceARN: ruleB}
	sendFrom := func(from sqssvc.Sender) error {
		_, err := svc.SendInternal(bg, sqssvc.InternalMessage{QueueARN: qARN, Body: "ev", From: from})
		return err
	}

	// A rule in the queue's own account delivers without a policy; one in
	// another account does not.
	if err := sendFrom(sqssvc.Sender{Account: env.Account, ServicePrincipal: "events.amazonaws.com", SourceARN: "arn:aws:events:us-east-1:" + env.Account + ":rule/r"}); err != nil {
		t.Fatalf("same-account delivery: %v", err)
	}
	err := sendFrom(fromB)
	wantProtoError(t, err, "AccessDeniedException")
	if pe, _ := errors.AsType[*protocol.Error](err); pe.QueryCode != "AccessDenied" || pe.HTTPStatus() != http.StatusForbidden ||
		pe.Message != denied("events.amazonaws.com", "SendMessage", qARN) {
		t.Fatalf("denial = %+v", pe)
	}

	// The usual EventBridge queue policy: the service principal, limited to
	// the rule by aws:SourceArn.
	if _, err := a.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: &qURL, Attributes: map[string]string{"Policy": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"` + qARN + `",
		 "Condition":{"ArnEquals":{"aws:SourceArn":"` + ruleB + `"}}}]}`}}); err != nil {
		t.Fatal(err)
	}
	if err := sendFrom(fromB); err != nil {
		t.Fatalf("delivery after policy: %v", err)
	}
	other := fromB
	other.SourceARN = "arn:aws:events:us-east-1:" + acctB + ":rule/other"
	wantProtoError(t, sendFrom(other), "AccessDeniedException")
	// An execution role of account B is an AWS principal of B: the
	// service-principal statement does not admit it, an account grant does.
	withRole := fromB
	withRole.RoleARN = "arn:aws:iam::" + acctB + ":role/eb-deliver"
	wantProtoError(t, sendFrom(withRole), "AccessDeniedException")
	if _, err := a.AddPermission(bg, &sqs.AddPermissionInput{QueueUrl: &qURL, Label: aws.String("b"), AWSAccountIds: []string{acctB}, Actions: []string{"SendMessage"}}); err != nil {
		t.Fatal(err)
	}
	if err := sendFrom(withRole); err != nil {
		t.Fatalf("role delivery after AddPermission: %v", err)
	}
	// The zero Sender (callers that do not say who sends) is trusted.
	if err := sendFrom(sqssvc.Sender{}); err != nil {
		t.Fatalf("zero sender: %v", err)
	}
}

// jsonCallAs sends a signed awsJson 1.0 request and returns status,
// headers and body.
func jsonCallAs(t *testing.T, cfg aws.Config, target, op, doc string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS."+op)
	signRequest(t, cfg, req, doc)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// A policy naming a role admits that role's sessions (from AssumeRole) and
// nobody else of its account.
func TestQueuePolicyRolePrincipal(t *testing.T) {
	env, a := start(t)
	cfgB := env.NewAccount(t, acctB)
	assume := func(role string) *sqs.Client {
		t.Helper()
		out, err := sts.NewFromConfig(cfgB).AssumeRole(bg, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + acctB + ":role/" + role), RoleSessionName: aws.String("s1")})
		if err != nil {
			t.Fatal(err)
		}
		c := out.Credentials
		return sqs.NewFromConfig(env.ConfigFor(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)))
	}
	reader, writer := assume("reader"), assume("writer")
	qURL := createQueue(t, a, "roles", nil)
	qARN := queueArn(t, a, qURL)
	if _, err := a.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: &qURL, Attributes: map[string]string{"Policy": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acctB + `:role/writer"},"Action":"sqs:SendMessage","Resource":"` + qARN + `"}]}`}}); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &qURL, MessageBody: aws.String("x")}); err != nil {
		t.Fatalf("writer session: %v", err)
	}
	_, err := reader.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &qURL, MessageBody: aws.String("x")})
	wantAPIError(t, err, "AccessDenied", denied("arn:aws:sts::"+acctB+":assumed-role/reader/s1", "SendMessage", qARN))
	_, err = sqs.NewFromConfig(cfgB).SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &qURL, MessageBody: aws.String("x")})
	wantAPIError(t, err, "AccessDenied", denied(rootOf(acctB), "SendMessage", qARN))
}
