package sqs_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/fogbank/fogbank/internal/testenv"
)

// queryCall sends a signed awsQuery request (as the AWS CLI and older SDKs
// do) to target (the endpoint or a queue URL) and returns status and body.
func queryCall(t *testing.T, env *testenv.Env, target string, params url.Values) (int, string) {
	t.Helper()
	return queryCallAs(t, env.Config, target, params)
}

// queryCallAs is queryCall signed with cfg's credentials.
func queryCallAs(t *testing.T, cfg aws.Config, target string, params url.Values) (int, string) {
	t.Helper()
	if params.Get("Version") == "" {
		params.Set("Version", "2012-11-05")
	}
	body := params.Encode()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	signRequest(t, cfg, req, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// signRequest signs req (with body) for SQS with cfg's credentials.
func signRequest(t *testing.T, cfg aws.Config, req *http.Request, body string) {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	creds, err := cfg.Credentials.Retrieve(bg)
	if err != nil {
		t.Fatal(err)
	}
	if err := v4.NewSigner().SignHTTP(bg, creds, req, hex.EncodeToString(sum[:]), "sqs", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}

func wantContains(t *testing.T, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Fatalf("response lacks %q:\n%s", p, body)
		}
	}
}

func TestQueryProtocol(t *testing.T) {
	env, _ := start(t)
	st, body := queryCall(t, env, env.URL, url.Values{"Action": {"CreateQueue"}, "QueueName": {"qq"}, "Attribute.1.Name": {"VisibilityTimeout"}, "Attribute.1.Value": {"40"},
		"Tag.1.Key": {"team"}, "Tag.1.Value": {"a"}})
	qurl := env.URL + "/000000000000/qq"
	if st != 200 {
		t.Fatalf("create: %d %s", st, body)
	}
	wantContains(t, body, `<CreateQueueResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">`, "<CreateQueueResult><QueueUrl>"+qurl+"</QueueUrl></CreateQueueResult>", "<RequestId>")

	st, body = queryCall(t, env, env.URL, url.Values{"Action": {"SendMessage"}, "QueueUrl": {qurl}, "MessageBody": {"hello <&>"},
		"MessageAttribute.1.Name": {"Foo"}, "MessageAttribute.1.Value.DataType": {"String"}, "MessageAttribute.1.Value.StringValue": {"Bar"},
		"MessageAttribute.2.Name": {"Bin"}, "MessageAttribute.2.Value.DataType": {"Binary"}, "MessageAttribute.2.Value.BinaryValue": {"AAEC"}})
	if st != 200 {
		t.Fatalf("send: %d %s", st, body)
	}
	wantContains(t, body, "<SendMessageResult><MD5OfMessageBody>", "<MD5OfMessageAttributes>", "<MessageId>")

	// The queue URL as the request target, without QueueUrl.
	st, body = queryCall(t, env, qurl, url.Values{"Action": {"ReceiveMessage"}, "AttributeName.1": {"All"}, "MessageAttributeName.1": {"All"}})
	if st != 200 {
		t.Fatalf("receive: %d %s", st, body)
	}
	wantContains(t, body, "<ReceiveMessageResult><Message><MessageId>", "<Body>hello &lt;&amp;&gt;</Body>",
		"<Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute>",
		"<MessageAttribute><Name>Bin</Name><Value><BinaryValue>AAEC</BinaryValue><DataType>Binary</DataType></Value></MessageAttribute>",
		"<MessageAttribute><Name>Foo</Name><Value><StringValue>Bar</StringValue><DataType>String</DataType></Value></MessageAttribute>")

	_, body = queryCall(t, env, env.URL, url.Values{"Action": {"GetQueueAttributes"}, "QueueUrl": {qurl}, "AttributeName.1": {"VisibilityTimeout"}, "AttributeName.2": {"QueueArn"}})
	wantContains(t, body, "<Attribute><Name>QueueArn</Name><Value>arn:aws:sqs:us-east-1:000000000000:qq</Value></Attribute>", "<Attribute><Name>VisibilityTimeout</Name><Value>40</Value></Attribute>")
	_, body = queryCall(t, env, env.URL, url.Values{"Action": {"ListQueueTags"}, "QueueUrl": {qurl}})
	wantContains(t, body, "<Tag><Key>team</Key><Value>a</Value></Tag>")
	_, body = queryCall(t, env, env.URL, url.Values{"Action": {"ListQueues"}})
	wantContains(t, body, "<ListQueuesResult><QueueUrl>"+qurl+"</QueueUrl></ListQueuesResult>")

	_, body = queryCall(t, env, env.URL, url.Values{"Action": {"SendMessageBatch"}, "QueueUrl": {qurl},
		"SendMessageBatchRequestEntry.1.Id": {"a"}, "SendMessageBatchRequestEntry.1.MessageBody": {"one"},
		"SendMessageBatchRequestEntry.2.Id": {"b"}, "SendMessageBatchRequestEntry.2.MessageBody": {"\x01"}})
	wantContains(t, body, "<SendMessageBatchResultEntry><Id>a</Id><MessageId>", "<BatchResultErrorEntry><Id>b</Id><SenderFault>true</SenderFault><Code>InvalidMessageContents</Code>")

	// Errors: the legacy codes, the wsdl wording, Sender faults.
	st, body = queryCall(t, env, env.URL, url.Values{"Action": {"GetQueueAttributes"}, "QueueUrl": {env.URL + "/000000000000/none"}, "AttributeName.1": {"All"}})
	if st != 400 {
		t.Fatalf("status %d", st)
	}
	wantContains(t, body, "<ErrorResponse", "<Type>Sender</Type>", "<Code>AWS.SimpleQueueService.NonExistentQueue</Code>",
		"<Message>The specified queue does not exist for this wsdl version.</Message>")
	_, body = queryCall(t, env, qurl, url.Values{"Action": {"SendMessage"}})
	wantContains(t, body, "<Code>MissingParameter</Code>", "<Message>The request must contain the parameter MessageBody.</Message>")
	_, body = queryCall(t, env, qurl, url.Values{"Action": {"FooBar"}})
	wantContains(t, body, "<Code>InvalidAction</Code>", "<Message>The action FooBar is not valid for this endpoint.</Message>")
	_, body = queryCall(t, env, qurl, url.Values{"Action": {"ListQueues"}})
	wantContains(t, body, "<Code>InvalidAction</Code>", "The action ListQueues is not valid for this endpoint.")
	_, body = queryCall(t, env, qurl, url.Values{"Action": {"ReceiveMessage"}, "MaxNumberOfMessages": {"11"}})
	wantContains(t, body, "<Code>InvalidParameterValue</Code>", "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.")
	_, body = queryCall(t, env, qurl, url.Values{"Action": {"ReceiveMessage"}, "MaxNumberOfMessages": {"ten"}})
	wantContains(t, body, "<Code>InvalidParameterValue</Code>", "Value ten for parameter MaxNumberOfMessages is invalid.")
	st, body = queryCall(t, env, qurl, url.Values{"Action": {"DeleteQueue"}})
	if st != 200 {
		t.Fatalf("delete via queue url: %d %s", st, body)
	}
	_ = aws.String
}
