package sqs_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/fogbank/fogbank/internal/server"
	"github.com/fogbank/fogbank/internal/storage"
	"github.com/fogbank/fogbank/internal/testenv"
)

// Benchmarks: each SQS figure beside a baseline measured in the same run on
// the same storage engine (see docs/benchmarks.md, "SQS benchmarks").
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/sqs/

var body1K = strings.Repeat("x", 1024)

func reportMsgs(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkRawStorageBatch10 is the baseline of the batched cycle: storage
// Send 10 + Receive 10 + Delete 10, no HTTP.
func BenchmarkRawStorageBatch10(b *testing.B) {
	env, _ := start(b)
	q := env.Server.Backend().Queues()
	clk := env.Server.Clock()
	reqs := make([]storage.SendRequest, 10)
	for i := range reqs {
		reqs[i] = storage.SendRequest{Body: []byte(body1K)}
	}
	b.ResetTimer()
	for range b.N {
		if _, err := q.Send(bg, "sqs/bench/raw", clk.Now(), reqs); err != nil {
			b.Fatal(err)
		}
		msgs, err := q.Receive(bg, "sqs/bench/raw", clk.Now(), storage.ReceiveOptions{Max: 10, Visibility: time.Minute})
		if err != nil || len(msgs) != 10 {
			b.Fatalf("receive %d %v", len(msgs), err)
		}
		for _, m := range msgs {
			if err := q.Delete(bg, "sqs/bench/raw", m.Receipt); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportMsgs(b, 10)
}

// BenchmarkSDKBatch10 is SendMessageBatch 10 + ReceiveMessage 10 +
// DeleteMessageBatch 10 of 1 KiB messages through the SDK over HTTP.
func BenchmarkSDKBatch10(b *testing.B) {
	_, c := start(b)
	url := createQueue(b, c, "bench-batch", nil)
	b.ResetTimer()
	for range b.N {
		batchCycle(b, c, url)
	}
	reportMsgs(b, 10)
}

// batchCycle is SendMessageBatch 10 + ReceiveMessage 10 +
// DeleteMessageBatch 10 of 1 KiB messages on url.
func batchCycle(b *testing.B, c *sqs.Client, url string) {
	entries := make([]types.SendMessageBatchRequestEntry, 10)
	for i := range entries {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(body1K)}
	}
	if _, err := c.SendMessageBatch(bg, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: entries}); err != nil {
		b.Fatal(err)
	}
	r, err := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
	if err != nil || len(r.Messages) != 10 {
		b.Fatalf("receive %v %v", r, err)
	}
	del := make([]types.DeleteMessageBatchRequestEntry, len(r.Messages))
	for i, m := range r.Messages {
		del[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle}
	}
	if _, err := c.DeleteMessageBatch(bg, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: del}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDurabilityCost runs the batched cycle with 4 concurrent clients
// (each on its own queue) on embedded storage with fsync before every
// acknowledgement (sync=full, the default) and without (sync=off), in the
// same run: the cost of durability. It is meaningful on SQLite only (the
// other back ends ignore the setting).
func BenchmarkDurabilityCost(b *testing.B) {
	for _, mode := range []string{"full", "off"} {
		b.Run("sync="+mode, func(b *testing.B) {
			_, c := start(b, testenv.WithConfig(func(cfg *server.Config) { cfg.Sync = mode }))
			var n atomic.Int64
			b.SetParallelism(2) // 2 × GOMAXPROCS clients
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				url := createQueue(b, c, fmt.Sprintf("bench-sync-%d", n.Add(1)), nil)
				for pb.Next() {
					batchCycle(b, c, url)
				}
			})
			reportMsgs(b, 10)
		})
	}
}

// BenchmarkRawStorageSingle is the baseline of the unbatched cycle.
func BenchmarkRawStorageSingle(b *testing.B) {
	env, _ := start(b)
	q := env.Server.Backend().Queues()
	clk := env.Server.Clock()
	reqs := []storage.SendRequest{{Body: []byte(body1K)}}
	b.ResetTimer()
	for range b.N {
		if _, err := q.Send(bg, "sqs/bench/raw1", clk.Now(), reqs); err != nil {
			b.Fatal(err)
		}
		msgs, err := q.Receive(bg, "sqs/bench/raw1", clk.Now(), storage.ReceiveOptions{Max: 1, Visibility: time.Minute})
		if err != nil || len(msgs) != 1 {
			b.Fatalf("receive %d %v", len(msgs), err)
		}
		if err := q.Delete(bg, "sqs/bench/raw1", msgs[0].Receipt); err != nil {
			b.Fatal(err)
		}
	}
	reportMsgs(b, 1)
}

// BenchmarkSDKSingle is SendMessage + ReceiveMessage + DeleteMessage; it
// also reports the p50 latency of SendMessage and ReceiveMessage.
func BenchmarkSDKSingle(b *testing.B) {
	_, c := start(b)
	url := createQueue(b, c, "bench-single", nil)
	sends := make([]time.Duration, 0, b.N)
	recvs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: &body1K}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		r, err := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url})
		if err != nil || len(r.Messages) != 1 {
			b.Fatalf("receive %v %v", r, err)
		}
		t2 := time.Now()
		sends, recvs = append(sends, t1.Sub(t0)), append(recvs, t2.Sub(t1))
		if _, err := c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: r.Messages[0].ReceiptHandle}); err != nil {
			b.Fatal(err)
		}
	}
	reportMsgs(b, 1)
	b.ReportMetric(float64(pct(sends, 50).Microseconds()), "send-p50-µs")
	b.ReportMetric(float64(pct(recvs, 50).Microseconds()), "recv-p50-µs")
}

// BenchmarkLongPollWake measures how long after a SendMessage returns a
// waiting long poll returns with the message (p50 and p99). The
// DeleteMessage that follows each receive is outside the measured span.
func BenchmarkLongPollWake(b *testing.B) {
	_, c := start(b)
	url := createQueue(b, c, "bench-poll", nil)
	lags := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		got := make(chan time.Time, 1)
		deleted := make(chan struct{}, 1)
		go func() {
			r, err := c.ReceiveMessage(bg, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 20})
			if err != nil || len(r.Messages) != 1 {
				got <- time.Time{}
				return
			}
			got <- time.Now() // the poll's response is in: the receiver is awake
			c.DeleteMessage(bg, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: r.Messages[0].ReceiptHandle})
			deleted <- struct{}{}
		}()
		time.Sleep(2 * time.Millisecond) // let the poll start waiting
		if _, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("wake")}); err != nil {
			b.Fatal(err)
		}
		sent := time.Now()
		at := <-got
		if at.IsZero() {
			b.Fatal("long poll failed")
		}
		lags = append(lags, max(at.Sub(sent), 0))
		<-deleted // the next iteration starts on an empty queue
	}
	b.ReportMetric(float64(pct(lags, 50).Microseconds()), "wake-p50-µs")
	b.ReportMetric(float64(pct(lags, 99).Microseconds()), "wake-p99-µs")
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// BenchmarkLongPollWakeMany is BenchmarkLongPollWake with 16 long polls
// waiting on the queue: how long after a SendMessage returns one of them
// returns with the message (p50 and p99).
func BenchmarkLongPollWakeMany(b *testing.B) {
	const polls = 16
	_, c := start(b)
	url := createQueue(b, c, "bench-poll-many", nil)
	ctx, cancel := context.WithCancel(bg)
	got := make(chan time.Time, polls)
	var wg sync.WaitGroup
	for range polls {
		wg.Go(func() {
			for ctx.Err() == nil {
				r, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 20})
				if err != nil || len(r.Messages) == 0 {
					continue
				}
				got <- time.Now()
				c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: r.Messages[0].ReceiptHandle})
			}
		})
	}
	defer func() { cancel(); wg.Wait() }()
	time.Sleep(100 * time.Millisecond) // let the polls start waiting
	lags := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		time.Sleep(2 * time.Millisecond)
		if _, err := c.SendMessage(bg, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("wake")}); err != nil {
			b.Fatal(err)
		}
		sent := time.Now()
		lags = append(lags, max((<-got).Sub(sent), 0))
	}
	b.StopTimer()
	b.ReportMetric(float64(pct(lags, 50).Microseconds()), "wake-p50-µs")
	b.ReportMetric(float64(pct(lags, 99).Microseconds()), "wake-p99-µs")
}
