package sqs_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/fogbank/fogbank/internal/testenv"
)

func TestDeadLetterAndMoveTask(t *testing.T) {
	_, c := start(t)
	dlq := createQueue(t, c, "dlq", nil)
	dlqArn := queueArn(t, c, dlq)
	src := createQueue(t, c, "src", map[string]string{"VisibilityTimeout": "0",
		"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"2"}`, dlqArn)})
	srcArn := queueArn(t, c, src)
	a, _ := c.GetQueueAttributes(bg, &sqs.GetQueueAttributesInput{QueueUrl: &src, AttributeNames: []types.QueueAttributeName{"RedrivePolicy"}})
	if want := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":2}`, dlqArn); a.Attributes["RedrivePolicy"] != want {
		t.Fatalf("RedrivePolicy %s, want %s", a.Attributes["RedrivePolicy"], want)
	}
	ls, err := c.ListDeadLetterSourceQueues(bg, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: &dlq})
	if err != nil || len(ls.QueueUrls) != 1 || ls.QueueUrls[0] != src {
		t.Fatalf("dead-letter sources %v %v", ls, err)
	}
	// Moving back requires the source to be a dead-letter queue.
	_, err = c.StartMessageMoveTask(bg, &sqs.StartMessageMoveTaskInput{SourceArn: &srcArn})
	wantAPIError(t, err, codeInvalidParam, "Source queue must be configured as a Dead Letter Queue.")

	for i := range 3 {
		c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &src, MessageBody: aws.String(fmt.Sprint("m", i))})
	}
	for range 2 {
		r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &src, MaxNumberOfMessages: 10})
		if len(r.Messages) != 3 {
			t.Fatalf("receive before maxReceiveCount: %d", len(r.Messages))
		}
	}
	// The third receive moves them to the dead-letter queue.
	if r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &src, MaxNumberOfMessages: 10}); len(r.Messages) != 0 {
		t.Fatalf("messages past maxReceiveCount delivered: %d", len(r.Messages))
	}
	var dead []types.Message
	testenv.Eventually(t, 5*time.Second, func() bool {
		r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &dlq, MaxNumberOfMessages: 10, VisibilityTimeout: 1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
		dead = append(dead, r.Messages...)
		return len(dead) == 3
	}, "3 messages in the dead-letter queue")
	if got := dead[0].Attributes["DeadLetterQueueSourceArn"]; got != srcArn {
		t.Fatalf("DeadLetterQueueSourceArn = %q", got)
	}
	for _, m := range dead {
		c.ChangeMessageVisibility(bg, &sqs.ChangeMessageVisibilityInput{QueueUrl: &dlq, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
	}

	// Errors of the move-task operations.
	_, err = c.StartMessageMoveTask(bg, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(defaultAccountARN + "nope")})
	wantAPIError(t, err, codeResourceNF, "The resource that you specified for the SourceArn parameter doesn't exist.")
	_, err = c.StartMessageMoveTask(bg, &sqs.StartMessageMoveTaskInput{SourceArn: &dlqArn, DestinationArn: aws.String(defaultAccountARN + "nope")})
	wantAPIError(t, err, codeResourceNF, "The resource that you specified for the DestinationArn parameter doesn't exist.")
	_, err = c.CancelMessageMoveTask(bg, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String("not-a-handle")})
	wantAPIError(t, err, codeInvalidParam, "Value for parameter TaskHandle is invalid.")

	// Redrive back to the source (no destination: each message's origin).
	st, err := c.StartMessageMoveTask(bg, &sqs.StartMessageMoveTaskInput{SourceArn: &dlqArn})
	if err != nil {
		t.Fatal(err)
	}
	if st.TaskHandle == nil || *st.TaskHandle == "" {
		t.Fatal("no task handle")
	}
	var list *sqs.ListMessageMoveTasksOutput
	testenv.Eventually(t, 5*time.Second, func() bool {
		list, err = c.ListMessageMoveTasks(bg, &sqs.ListMessageMoveTasksInput{SourceArn: &dlqArn})
		return err == nil && len(list.Results) == 1 && aws.ToString(list.Results[0].Status) == "COMPLETED"
	}, "move task completes")
	res := list.Results[0]
	if res.ApproximateNumberOfMessagesMoved != 3 || aws.ToInt64(res.ApproximateNumberOfMessagesToMove) != 3 || res.TaskHandle != nil || res.DestinationArn != nil {
		t.Fatalf("task result %+v", res)
	}
	var back []types.Message
	testenv.Eventually(t, 5*time.Second, func() bool {
		r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &src, MaxNumberOfMessages: 10, VisibilityTimeout: 60})
		back = append(back, r.Messages...)
		return len(back) == 3
	}, "messages back in the source queue")

	// A task to an explicit destination, cancelled while it runs slowly.
	other := createQueue(t, c, "other", nil)
	otherArn := queueArn(t, c, other)
	for i := range 10 {
		c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &dlq, MessageBody: aws.String(fmt.Sprint("x", i))})
	}
	st, err = c.StartMessageMoveTask(bg, &sqs.StartMessageMoveTaskInput{SourceArn: &dlqArn, DestinationArn: &otherArn, MaxNumberOfMessagesPerSecond: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.StartMessageMoveTask(bg, &sqs.StartMessageMoveTaskInput{SourceArn: &dlqArn})
	wantAPIError(t, err, codeInvalidParam, "There is already a task running. Only one active task is allowed for a source queue arn at a given time.")
	list, _ = c.ListMessageMoveTasks(bg, &sqs.ListMessageMoveTasksInput{SourceArn: &dlqArn, MaxResults: aws.Int32(10)})
	if len(list.Results) != 2 || aws.ToString(list.Results[0].Status) != "RUNNING" || aws.ToString(list.Results[0].TaskHandle) != *st.TaskHandle ||
		aws.ToInt32(list.Results[0].MaxNumberOfMessagesPerSecond) != 1 || aws.ToString(list.Results[0].DestinationArn) != otherArn {
		t.Fatalf("running task listing %+v", list.Results)
	}
	if _, err := c.CancelMessageMoveTask(bg, &sqs.CancelMessageMoveTaskInput{TaskHandle: st.TaskHandle}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() bool {
		list, _ = c.ListMessageMoveTasks(bg, &sqs.ListMessageMoveTasksInput{SourceArn: &dlqArn})
		return aws.ToString(list.Results[0].Status) == "CANCELLED"
	}, "task cancelled")
	if moved := list.Results[0].ApproximateNumberOfMessagesMoved; moved >= 10 {
		t.Fatalf("cancelled task moved %d of 10", moved)
	}
}

func TestMoveTaskDestinationDeleted(t *testing.T) {
	env, c := start(t)
	dlq := createQueue(t, c, "d2", nil)
	dlqArn := queueArn(t, c, dlq)
	createQueue(t, c, "s2", map[string]string{"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":1}`, dlqArn)})
	dst := createQueue(t, c, "t2", nil)
	dstArn := queueArn(t, c, dst)
	for i := range 5 {
		c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &dlq, MessageBody: aws.String(fmt.Sprint(i))})
	}
	if _, err := c.StartMessageMoveTask(bg, &sqs.StartMessageMoveTaskInput{SourceArn: &dlqArn, DestinationArn: &dstArn, MaxNumberOfMessagesPerSecond: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	c.DeleteQueue(bg, &sqs.DeleteQueueInput{QueueUrl: &dst})
	env.Server.Clock().Advance(3 * time.Second)
	var list *sqs.ListMessageMoveTasksOutput
	testenv.Eventually(t, 5*time.Second, func() bool {
		list, _ = c.ListMessageMoveTasks(bg, &sqs.ListMessageMoveTasksInput{SourceArn: &dlqArn})
		return aws.ToString(list.Results[0].Status) == "FAILED"
	}, "task fails")
	if aws.ToString(list.Results[0].FailureReason) != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Fatalf("failure reason %q", aws.ToString(list.Results[0].FailureReason))
	}
}

func TestFIFODeadLetter(t *testing.T) {
	_, c := start(t)
	std := createQueue(t, c, "std-dlq", nil)
	fdlq := createQueue(t, c, "f-dlq.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	_, err := c.CreateQueue(bg, &sqs.CreateQueueInput{QueueName: aws.String("f-src.fifo"), Attributes: map[string]string{"FifoQueue": "true",
		"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":1}`, queueArn(t, c, std))}})
	wantAPIError(t, err, codeInvalidParam, "")
	src := createQueue(t, c, "f-src.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "0",
		"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":1}`, queueArn(t, c, fdlq))})
	out, _ := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &src, MessageBody: aws.String("foobar"), MessageGroupId: aws.String("1")})
	c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &src})
	c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &src})
	r, _ := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &fdlq, WaitTimeSeconds: 2,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
	if len(r.Messages) != 1 || *r.Messages[0].MessageId != *out.MessageId {
		t.Fatalf("fifo dlq: %+v", r.Messages)
	}
	// Moved to a FIFO dead-letter queue, a message keeps its group and
	// gets its message id as deduplication id (SQS Developer Guide,
	// dead-letter queue redrive).
	a := r.Messages[0].Attributes
	if a["MessageGroupId"] != "1" || a["MessageDeduplicationId"] != *out.MessageId || a["ApproximateReceiveCount"] != "2" {
		t.Fatalf("fifo dlq attributes %v, want group 1, deduplication id %s, receive count 2", a, *out.MessageId)
	}
}

// TestDeadLetterKeepsReceiveCount follows AWS's recorded answer
// (test_dead_letter_queue_message_attributes): a message received once from
// a queue with maxReceiveCount 1 is moved by the next receive and reports
// ApproximateReceiveCount 2 on its first receive from the dead-letter queue
// (SQS counts receives "across all queues"), with its attributes, trace
// header and first-receive time kept and DeadLetterQueueSourceArn added.
func TestDeadLetterKeepsReceiveCount(t *testing.T) {
	env, c := start(t)
	dlq := createQueue(t, c, "count-dlq", nil)
	src := createQueue(t, c, "count-src", map[string]string{"VisibilityTimeout": "0",
		"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":1}`, queueArn(t, c, dlq))})
	srcArn := queueArn(t, c, src)
	trace := "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	if _, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &src, MessageBody: aws.String("message-1"),
		MessageAttributes:       map[string]types.MessageAttributeValue{"MyAttribute": {DataType: aws.String("String"), StringValue: aws.String("foobar")}},
		MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{"AWSTraceHeader": {DataType: aws.String("String"), StringValue: &trace}}}); err != nil {
		t.Fatal(err)
	}
	all := &sqs.ReceiveMessageInput{QueueUrl: &src, MaxNumberOfMessages: 10, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"},
		MessageAttributeNames: []string{"All"}}
	first, err := c.ReceiveMessage(bg, all)
	if err != nil || len(first.Messages) != 1 || first.Messages[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("receive from the source: %+v %v", first, err)
	}
	env.Server.Clock().Advance(2 * time.Second)
	if r, _ := c.ReceiveMessage(bg, all); len(r.Messages) != 0 {
		t.Fatalf("message past maxReceiveCount delivered: %v", bodies(r.Messages))
	}
	env.Server.Clock().Advance(2 * time.Second)
	all.QueueUrl = &dlq
	r, err := c.ReceiveMessage(bg, all)
	if err != nil || len(r.Messages) != 1 {
		t.Fatalf("receive from the dead-letter queue: %+v %v", r, err)
	}
	m, f := r.Messages[0], first.Messages[0]
	want := map[string]string{
		"ApproximateReceiveCount":          "2",
		"ApproximateFirstReceiveTimestamp": f.Attributes["ApproximateFirstReceiveTimestamp"],
		"SentTimestamp":                    f.Attributes["SentTimestamp"],
		"AWSTraceHeader":                   trace,
		"DeadLetterQueueSourceArn":         srcArn,
	}
	for k, v := range want {
		if m.Attributes[k] != v {
			t.Errorf("dead-lettered %s = %q, want %q", k, m.Attributes[k], v)
		}
	}
	if *m.MessageId != *f.MessageId || aws.ToString(m.MD5OfMessageAttributes) != aws.ToString(f.MD5OfMessageAttributes) ||
		aws.ToString(m.MessageAttributes["MyAttribute"].StringValue) != "foobar" {
		t.Errorf("dead-lettered message %+v, sent %+v", m, f)
	}
}
