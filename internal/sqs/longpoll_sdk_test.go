package sqs_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TestLongPollManyWaiters checks that with several long polls waiting on
// one queue every message sent reaches a waiting poll within its wait,
// whether the messages come one per send or several in one batch, and that
// no message is handed out twice. How promptly a send wakes a poll is
// measured by BenchmarkLongPollWake and BenchmarkLongPollWakeMany, not
// asserted here (timing assertions flake on shared machines and engines).
func TestLongPollManyWaiters(t *testing.T) {
	tests := []struct {
		name    string
		waiters int
		batches []int // messages per SendMessageBatch
	}{
		{"one send per waiter", 4, []int{1, 1, 1, 1}},
		{"one batch for all waiters", 4, []int{4}},
		{"fewer messages than waiters", 4, []int{2}},
	}
	_, c := start(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := createQueue(t, c, fmt.Sprint("herd-", i), nil)
			type res struct {
				body string
				err  error
			}
			done := make(chan res, tt.waiters)
			for range tt.waiters {
				go func() {
					r, err := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 3})
					switch {
					case err != nil:
						done <- res{err: err}
					case len(r.Messages) == 0:
						done <- res{}
					default:
						done <- res{body: *r.Messages[0].Body}
					}
				}()
			}
			time.Sleep(300 * time.Millisecond) // let the polls start waiting
			total := 0
			for _, n := range tt.batches {
				var entries []types.SendMessageBatchRequestEntry
				for range n {
					entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("m", total)), MessageBody: aws.String(fmt.Sprint("body-", total))})
					total++
				}
				if _, err := c.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: entries}); err != nil {
					t.Fatal(err)
				}
			}
			seen := map[string]bool{}
			for range tt.waiters {
				select {
				case r := <-done:
					if r.err != nil {
						t.Fatal(r.err)
					}
					if r.body == "" {
						continue // an empty poll, after its wait
					}
					if seen[r.body] {
						t.Fatalf("%s delivered twice", r.body)
					}
					seen[r.body] = true
				case <-time.After(10 * time.Second):
					t.Fatal("long polls did not return")
				}
			}
			if len(seen) != total {
				t.Fatalf("%d of %d messages received: %v", len(seen), total, seen)
			}
		})
	}
}
