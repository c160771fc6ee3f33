package sqs_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
)

const (
	codeNonExistent   = "AWS.SimpleQueueService.NonExistentQueue"
	msgNonExistent    = "The specified queue does not exist."
	codeInvalidParam  = "InvalidParameterValue"
	codeInvalidAttr   = "InvalidAttributeName"
	codeInvalidAttrV  = "InvalidAttributeValue"
	codeMissing       = "MissingParameter"
	codeQueueExists   = "QueueAlreadyExists"
	codeTooMany       = "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
	codeInvalidID     = "AWS.SimpleQueueService.InvalidBatchEntryId"
	codeNotDistinct   = "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
	codeEmptyBatch    = "AWS.SimpleQueueService.EmptyBatchRequest"
	codeReceiptInv    = "ReceiptHandleIsInvalid"
	codePurge         = "AWS.SimpleQueueService.PurgeQueueInProgress"
	codeResourceNF    = "ResourceNotFoundException"
	codeInvalidChars  = "InvalidMessageContents"
	codeBatchTooLong  = "AWS.SimpleQueueService.BatchRequestTooLong"
	attrAll           = types.QueueAttributeNameAll
	defaultAccountARN = "arn:aws:sqs:us-east-1:000000000000:"
)

func TestCreateQueueAndAttributes(t *testing.T) {
	env, c := start(t)
	url := createQueue(t, c, "attrs-q", map[string]string{"MessageRetentionPeriod": "604800", "ReceiveMessageWaitTimeSeconds": "10", "VisibilityTimeout": "20"})
	if want := env.URL + "/000000000000/attrs-q"; url != want {
		t.Fatalf("queue url = %s, want %s", url, want)
	}
	out, err := c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{attrAll}})
	if err != nil {
		t.Fatal(err)
	}
	got := out.Attributes
	for _, k := range []string{"CreatedTimestamp", "LastModifiedTimestamp"} {
		if got[k] == "" {
			t.Fatalf("missing %s in %v", k, got)
		}
		delete(got, k)
	}
	want := map[string]string{
		"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesDelayed": "0", "ApproximateNumberOfMessagesNotVisible": "0",
		"DelaySeconds": "0", "MaximumMessageSize": "1048576", "MessageRetentionPeriod": "604800",
		"QueueArn": defaultAccountARN + "attrs-q", "ReceiveMessageWaitTimeSeconds": "10", "SqsManagedSseEnabled": "true", "VisibilityTimeout": "20",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("attributes (-want +got):\n%s", d)
	}

	// Same attributes (or none): idempotent. Different: QueueAlreadyExists.
	if again := createQueue(t, c, "attrs-q", map[string]string{"VisibilityTimeout": "20"}); again != url {
		t.Fatalf("idempotent create gave %s", again)
	}
	createQueue(t, c, "attrs-q", nil)
	_, err = c.CreateQueue(bg, &sqs.CreateQueueInput{QueueName: aws.String("attrs-q"), Attributes: map[string]string{"VisibilityTimeout": "21"}})
	wantAPIError(t, err, codeQueueExists, "A queue already exists with the same name and a different value for attribute VisibilityTimeout")

	if _, err := c.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"MaximumMessageSize": "2048", "VisibilityTimeout": "69", "DelaySeconds": "420"}}); err != nil {
		t.Fatal(err)
	}
	out, err = c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"DelaySeconds", "MaximumMessageSize", "VisibilityTimeout"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"DelaySeconds": "420", "MaximumMessageSize": "2048", "VisibilityTimeout": "69"}, out.Attributes); d != "" {
		t.Fatalf("updated attributes (-want +got):\n%s", d)
	}
	// No names: no attributes.
	out, err = c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: &url})
	if err != nil || len(out.Attributes) != 0 {
		t.Fatalf("no names: %v %v", out.Attributes, err)
	}
	_, err = c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"Foobar"}})
	wantAPIError(t, err, codeInvalidAttr, "Unknown Attribute Foobar.")
}

func TestCreateQueueValidation(t *testing.T) {
	_, c := start(t)
	long := strings.Repeat("a", 81)
	cases := []struct {
		name, queue string
		attrs       map[string]string
		code, msg   string
	}{
		{"bad chars", "bad name", nil, codeInvalidParam, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"},
		{"too long", long, nil, codeInvalidParam, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"},
		{"fifo suffix on standard", "std.fifo", nil, codeInvalidParam, ""},
		{"fifo without suffix", "nofifo", map[string]string{"FifoQueue": "true"}, codeInvalidParam, "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."},
		{"FifoQueue false", "std1", map[string]string{"FifoQueue": "false"}, codeInvalidAttr, "Unknown Attribute FifoQueue."},
		{"content dedup on standard", "std2", map[string]string{"ContentBasedDeduplication": "true"}, codeInvalidAttr, "Unknown Attribute ContentBasedDeduplication."},
		{"dedup scope on standard", "std3", map[string]string{"DeduplicationScope": "queue"}, codeInvalidAttr, "You can specify the DeduplicationScope only when FifoQueue is set to true."},
		{"throughput on standard", "std4", map[string]string{"FifoThroughputLimit": "perQueue"}, codeInvalidAttr, "You can specify the FifoThroughputLimit only when FifoQueue is set to true."},
		{"unknown attribute", "std5", map[string]string{"Bogus": "1"}, codeInvalidAttr, "Unknown Attribute Bogus."},
		{"visibility range", "std6", map[string]string{"VisibilityTimeout": "43201"}, codeInvalidAttrV, "Invalid value for the parameter VisibilityTimeout."},
		{"delay range", "std7", map[string]string{"DelaySeconds": "901"}, codeInvalidAttrV, "Invalid value for the parameter DelaySeconds."},
		{"size range", "std8", map[string]string{"MaximumMessageSize": "1023"}, codeInvalidAttrV, ""},
		{"retention range", "std9", map[string]string{"MessageRetentionPeriod": "59"}, codeInvalidAttrV, ""},
		{"wait range", "std10", map[string]string{"ReceiveMessageWaitTimeSeconds": "21"}, codeInvalidAttrV, ""},
		{"policy not json", "std11", map[string]string{"Policy": "{"}, codeInvalidAttrV, "Invalid value for the parameter Policy."},
		{"redrive missing count", "std12", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:x"}`}, codeInvalidAttrV, ""},
		{"redrive target missing", "std13", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:nope","maxReceiveCount":2}`}, codeInvalidParam, ""},
		{"sse exclusive", "std14", map[string]string{"KmsMasterKeyId": "k", "SqsManagedSseEnabled": "true"}, codeInvalidAttr, "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateQueue(bg, &sqs.CreateQueueInput{QueueName: aws.String(tc.queue), Attributes: tc.attrs})
			wantAPIError(t, err, tc.code, tc.msg)
		})
	}
	_, err := c.CreateQueue(bg, &sqs.CreateQueueInput{QueueName: aws.String("")})
	if err == nil {
		t.Fatal("empty queue name accepted")
	}
}

func TestSetQueueAttributesErrors(t *testing.T) {
	_, c := start(t)
	std := createQueue(t, c, "set-std", nil)
	fifo := createQueue(t, c, "set-fifo.fifo", map[string]string{"FifoQueue": "true"})
	_, err := c.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: &std, Attributes: map[string]string{"FifoQueue": "true"}})
	wantAPIError(t, err, codeInvalidAttr, "Unknown Attribute FifoQueue.")
	if _, err := c.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: &fifo, Attributes: map[string]string{"FifoQueue": "true"}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: &fifo, Attributes: map[string]string{"FifoQueue": "false"}})
	wantAPIError(t, err, codeInvalidAttrV, "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.")
	_, err = c.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: &std, Attributes: map[string]string{"QueueArn": "x"}})
	wantAPIError(t, err, codeInvalidAttr, "Unknown Attribute QueueArn.")

	// SSE: KMS settings turn SQS-managed SSE off; both at once is an error.
	if _, err := c.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: &std, Attributes: map[string]string{"KmsMasterKeyId": "testKeyId", "KmsDataKeyReusePeriodSeconds": "6000", "SqsManagedSseEnabled": "false"}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: &std, AttributeNames: []types.QueueAttributeName{"KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"KmsDataKeyReusePeriodSeconds": "6000", "KmsMasterKeyId": "testKeyId", "SqsManagedSseEnabled": "false"}, out.Attributes); d != "" {
		t.Fatalf("sse attributes (-want +got):\n%s", d)
	}
	// FIFO attributes: content-based deduplication can be changed.
	if _, err := c.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: &fifo, Attributes: map[string]string{"ContentBasedDeduplication": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}}); err != nil {
		t.Fatal(err)
	}
	out, err = c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: &fifo, AttributeNames: []types.QueueAttributeName{attrAll}})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"} {
		if out.Attributes[k] != v {
			t.Fatalf("%s = %q, want %q", k, out.Attributes[k], v)
		}
	}
	// A policy without statements is refused (AWS answers so when a tool
	// removes the last statement, cloud-custodian#1816); an empty Policy
	// removes it.
	if _, err := c.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: &std, Attributes: map[string]string{"Policy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage"}]}`}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: &std, Attributes: map[string]string{"Policy": `{"Version":"2012-10-17","Statement":[]}`}})
	wantAPIError(t, err, "InvalidAttributeValue", "Invalid value for the parameter Policy.")
	if _, err := c.SetQueueAttributes(bg, &sqs.SetQueueAttributesInput{QueueUrl: &std, Attributes: map[string]string{"Policy": ""}}); err != nil {
		t.Fatal(err)
	}
	out, _ = c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: &std, AttributeNames: []types.QueueAttributeName{attrAll}})
	if _, ok := out.Attributes["Policy"]; ok {
		t.Fatal("empty Policy did not remove it")
	}
}

func TestGetQueueURLListDelete(t *testing.T) {
	env, c := start(t)
	var urls []string
	for i := range 5 {
		urls = append(urls, createQueue(t, c, fmt.Sprintf("list-a-%d", i), nil))
	}
	createQueue(t, c, "list-b", nil)
	out, err := c.GetQueueUrl(bg, &sqs.GetQueueUrlInput{QueueName: aws.String("list-a-3")})
	if err != nil || *out.QueueUrl != urls[3] {
		t.Fatalf("get queue url: %v %v", out, err)
	}
	_, err = c.GetQueueUrl(bg, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
	wantAPIError(t, err, codeNonExistent, msgNonExistent)

	all, err := c.ListQueues(bg, &sqs.ListQueuesInput{})
	if err != nil || len(all.QueueUrls) != 6 || all.NextToken != nil {
		t.Fatalf("list all: %v %v", all, err)
	}
	pref, _ := c.ListQueues(bg, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("list-a")})
	if d := cmp.Diff(urls, pref.QueueUrls); d != "" {
		t.Fatalf("prefix (-want +got):\n%s", d)
	}
	var paged []string
	p := sqs.NewListQueuesPaginator(c, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("list-a"), MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		pg, err := p.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		paged = append(paged, pg.QueueUrls...)
	}
	if pages != 3 || len(paged) != 5 {
		t.Fatalf("pagination: %d pages, %v", pages, paged)
	}
	_, err = c.ListQueues(bg, &sqs.ListQueuesInput{MaxResults: aws.Int32(1001)})
	wantAPIError(t, err, codeInvalidParam, "")

	// Another account sees none of these.
	other := sqs.NewFromConfig(env.NewAccount(t, "111111111111"))
	o, err := other.ListQueues(bg, &sqs.ListQueuesInput{})
	if err != nil || len(o.QueueUrls) != 0 {
		t.Fatalf("other account lists %v %v", o, err)
	}

	if _, err := c.DeleteQueue(bg, &sqs.DeleteQueueInput{QueueUrl: &urls[0]}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &urls[0], MessageBody: aws.String("x")})
	wantAPIError(t, err, codeNonExistent, msgNonExistent)
	_, err = c.DeleteQueue(bg, &sqs.DeleteQueueInput{QueueUrl: &urls[0]})
	wantAPIError(t, err, codeNonExistent, msgNonExistent)
	// The name of a deleted queue is reserved for 60 seconds.
	_, err = c.CreateQueue(bg, &sqs.CreateQueueInput{QueueName: aws.String("list-a-0")})
	wantAPIError(t, err, "AWS.SimpleQueueService.QueueDeletedRecently", "You must wait 60 seconds after deleting a queue before you can create another with the same name.")
	env.Server.Clock().Advance(59 * time.Second)
	_, err = c.CreateQueue(bg, &sqs.CreateQueueInput{QueueName: aws.String("list-a-0")})
	wantAPIError(t, err, "AWS.SimpleQueueService.QueueDeletedRecently", "")
	env.Server.Clock().Advance(time.Second)
	createQueue(t, c, "list-a-0", nil)
	// A queue created again under the name starts empty.
	createQueue(t, c, "list-a-1", nil)
	c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &urls[1], MessageBody: aws.String("x")})
	c.DeleteQueue(bg, &sqs.DeleteQueueInput{QueueUrl: &urls[1]})
	env.Server.Clock().Advance(time.Minute)
	createQueue(t, c, "list-a-1", nil)
	r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &urls[1]})
	if len(r.Messages) != 0 {
		t.Fatal("recreated queue kept messages")
	}
	// The sqs.<region>.<host> URL form addresses the same queue.
	alt := strings.Replace(urls[2], "127.0.0.1", "sqs.us-east-1.localhost", 1)
	if _, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &alt, MessageBody: aws.String("x")}); err != nil {
		t.Fatalf("regional url form: %v", err)
	}
}

func TestTags(t *testing.T) {
	_, c := start(t)
	out, err := c.CreateQueue(bg, &sqs.CreateQueueInput{QueueName: aws.String("tags"), Tags: map[string]string{"a": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	url := *out.QueueUrl
	if _, err := c.TagQueue(bg, &sqs.TagQueueInput{QueueUrl: &url, Tags: map[string]string{"tag1": "value1", "tag2": "value2", "tag3": ""}}); err != nil {
		t.Fatal(err)
	}
	l, err := c.ListQueueTags(bg, &sqs.ListQueueTagsInput{QueueUrl: &url})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"a": "1", "tag1": "value1", "tag2": "value2", "tag3": ""}, l.Tags); d != "" {
		t.Fatalf("tags (-want +got):\n%s", d)
	}
	if _, err := c.UntagQueue(bg, &sqs.UntagQueueInput{QueueUrl: &url, TagKeys: []string{"a", "tag1", "tag3", "missing"}}); err != nil {
		t.Fatal(err)
	}
	l, _ = c.ListQueueTags(bg, &sqs.ListQueueTagsInput{QueueUrl: &url})
	if d := cmp.Diff(map[string]string{"tag2": "value2"}, l.Tags); d != "" {
		t.Fatalf("after untag (-want +got):\n%s", d)
	}
	many := map[string]string{}
	for i := range 51 {
		many[fmt.Sprint("k", i)] = "v"
	}
	_, err = c.TagQueue(bg, &sqs.TagQueueInput{QueueUrl: &url, Tags: many})
	wantAPIError(t, err, codeInvalidParam, "")
	_, err = c.ListQueueTags(bg, &sqs.ListQueueTagsInput{QueueUrl: aws.String("http://x/000000000000/none")})
	wantAPIError(t, err, codeNonExistent, msgNonExistent)
}

func TestPermissions(t *testing.T) {
	_, c := start(t)
	url := createQueue(t, c, "perm", nil)
	arn := defaultAccountARN + "perm"
	policy := func() map[string]any {
		t.Helper()
		out, err := c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"Policy"}})
		if err != nil {
			t.Fatal(err)
		}
		p, ok := out.Attributes["Policy"]
		if !ok {
			return nil
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(p), &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	if _, err := c.AddPermission(bg, &sqs.AddPermissionInput{QueueUrl: &url, Label: aws.String("crossaccountpermission"),
		AWSAccountIds: []string{"000000000000", "668614515564"}, Actions: []string{"ReceiveMessage"}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"Version": "2008-10-17", "Id": arn + "/SQSDefaultPolicy", "Statement": []any{map[string]any{
		"Sid": "crossaccountpermission", "Effect": "Allow",
		"Principal": map[string]any{"AWS": []any{"arn:aws:iam::000000000000:root", "arn:aws:iam::668614515564:root"}},
		"Action":    "SQS:ReceiveMessage", "Resource": arn}}}
	if d := cmp.Diff(want, policy()); d != "" {
		t.Fatalf("policy (-want +got):\n%s", d)
	}
	_, err := c.AddPermission(bg, &sqs.AddPermissionInput{QueueUrl: &url, Label: aws.String("crossaccountpermission"),
		AWSAccountIds: []string{"668614515564"}, Actions: []string{"ReceiveMessage"}})
	wantAPIError(t, err, codeInvalidParam, "Value crossaccountpermission for parameter Label is invalid. Reason: Already exists.")
	if _, err := c.AddPermission(bg, &sqs.AddPermissionInput{QueueUrl: &url, Label: aws.String("second"),
		AWSAccountIds: []string{"000000000000"}, Actions: []string{"SendMessage", "DeleteMessage"}}); err != nil {
		t.Fatal(err)
	}
	if n := len(policy()["Statement"].([]any)); n != 2 {
		t.Fatalf("%d statements", n)
	}
	if _, err := c.RemovePermission(bg, &sqs.RemovePermissionInput{QueueUrl: &url, Label: aws.String("crossaccountpermission")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemovePermission(bg, &sqs.RemovePermissionInput{QueueUrl: &url, Label: aws.String("second")}); err != nil {
		t.Fatal(err)
	}
	if p := policy(); p != nil {
		t.Fatalf("policy left after removing all statements: %v", p)
	}
	_, err = c.RemovePermission(bg, &sqs.RemovePermissionInput{QueueUrl: &url, Label: aws.String("second")})
	wantAPIError(t, err, codeInvalidParam, "Value second for parameter Label is invalid. Reason: can't find label.")
	_, err = c.AddPermission(bg, &sqs.AddPermissionInput{QueueUrl: &url, Label: aws.String("x"), AWSAccountIds: []string{"000000000000"}, Actions: []string{"CreateQueue"}})
	wantAPIError(t, err, codeInvalidParam, "")
}

func TestPurgeQueue(t *testing.T) {
	env, c := start(t)
	url := createQueue(t, c, "purge", nil)
	for i := range 3 {
		c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(fmt.Sprint("m", i))})
	}
	c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url})
	if _, err := c.PurgeQueue(bg, &sqs.PurgeQueueInput{QueueUrl: &url}); err != nil {
		t.Fatal(err)
	}
	_, err := c.PurgeQueue(bg, &sqs.PurgeQueueInput{QueueUrl: &url})
	wantAPIError(t, err, codePurge, "Only one PurgeQueue operation on purge is allowed every 60 seconds.")
	env.Server.Clock().Advance(61 * time.Second)
	r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if len(r.Messages) != 0 {
		t.Fatalf("purged queue returned %d messages (in-flight ones included)", len(r.Messages))
	}
	if _, err := c.PurgeQueue(bg, &sqs.PurgeQueueInput{QueueUrl: &url}); err != nil {
		t.Fatalf("purge after 60s: %v", err)
	}
	// Purge also forgets FIFO deduplication ids.
	f := createQueue(t, c, "purge.fifo", map[string]string{"FifoQueue": "true"})
	send := func(body string) {
		if _, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &f, MessageBody: aws.String(body), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d")}); err != nil {
			t.Fatal(err)
		}
	}
	send("one")
	c.PurgeQueue(bg, &sqs.PurgeQueueInput{QueueUrl: &f})
	send("two")
	r, _ = c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &f})
	if len(r.Messages) != 1 || *r.Messages[0].Body != "two" {
		t.Fatalf("after purge: %+v", r.Messages)
	}
}
