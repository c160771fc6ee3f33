package events_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/fogbank/fogbank/internal/storage"
	"github.com/fogbank/fogbank/internal/testenv"
)

// Benchmarks of issue 5, each beside its baseline measured in the same run
// on the same storage (docs/benchmarks.md, "EventBridge benchmarks"):
//
//	go test -run '^$' -bench . -benchtime 200x ./internal/events/

var detail1K = `{"k":"%s","pad":"` + strings.Repeat("x", 1000) + `"}`

func must[T any](v T, err error) func(testing.TB) T {
	return func(b testing.TB) T {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
}

// appendCeiling measures the storage's append ceiling: 8 writers each
// appending batches of 10 × 1 KiB to their own queue (what group commit
// can merge), in appends/s.
func appendCeiling(b *testing.B, env *testenv.Env) float64 {
	b.Helper()
	q := env.Server.Backend().Queues()
	reqs := make([]storage.SendRequest, 10)
	for i := range reqs {
		reqs[i] = storage.SendRequest{Body: []byte(fmt.Sprintf(detail1K, "x"))}
	}
	const writers, batches = 8, 60
	var wg sync.WaitGroup
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range batches {
				if _, err := q.Send(context.Background(), fmt.Sprintf("events/bench/ceiling/%d", w), env.Server.Clock().Now(), reqs); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(writers*batches*len(reqs)) / time.Since(start).Seconds()
}

// invocations sums fogbank_events_invocations_total over every rule.
func invocations(b *testing.B, env *testenv.Env) float64 {
	fams, err := env.Server.Registry().Gather()
	if err != nil {
		b.Fatal(err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() == "fogbank_events_invocations_total" {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// pendingTasks counts the delivery tasks left in EventBridge's shard queues
// (the default 16, "events/shard/NN"): queued, in flight or not yet
// acknowledged.
func pendingTasks(b *testing.B, env *testenv.Env) int64 {
	q := env.Server.Backend().Queues()
	now := env.Server.Clock().Now()
	var n int64
	for i := range 16 {
		st, err := q.Stats(context.Background(), fmt.Sprintf("events/shard/%02d", i), now)
		if err != nil {
			b.Fatal(err)
		}
		n += st.Visible + st.InFlight + st.Delayed
	}
	return n
}

// BenchmarkPutEventsThroughput: PutEvents of 10 × 1 KiB entries from 8
// clients onto a bus with 1,000 rules, each event matching exactly one rule
// whose target is an SQS queue; events/s counted until every delivery is in
// the queue, as a ratio to the storage's append ceiling.
func BenchmarkPutEventsThroughput(b *testing.B) {
	env := testenv.Start(b)
	ctx := context.Background()
	eb := eventbridge.NewFromConfig(env.Config)
	sq := sqs.NewFromConfig(env.Config)
	must(eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("bench")}))(b)
	must(sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("sink")}))(b)
	qArn := "arn:aws:sqs:us-east-1:" + env.Account + ":sink"
	const rules = 1000
	for i := range rules {
		name := fmt.Sprintf("r%04d", i)
		must(eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String("bench"),
			EventPattern: aws.String(fmt.Sprintf(`{"detail":{"k":["v%d"]}}`, i))}))(b)
		must(eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: aws.String("bench"),
			Targets: []types.Target{{Id: aws.String("q"), Arn: aws.String(qArn)}}}))(b)
	}
	ceiling := appendCeiling(b, env)
	before := invocations(b, env)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				entries := make([]types.PutEventsRequestEntry, 10)
				for i := range entries {
					entries[i] = types.PutEventsRequestEntry{EventBusName: aws.String("bench"), Source: aws.String("bench"), DetailType: aws.String("d"),
						Detail: aws.String(fmt.Sprintf(detail1K, fmt.Sprintf("v%d", (int(n)*10+i)%rules)))}
				}
				out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
				if err != nil || out.FailedEntryCount != 0 {
					b.Errorf("PutEvents: %v %+v", err, out)
					return
				}
			}
		}()
	}
	wg.Wait()
	accepted := time.Since(start)
	want := before + float64(10*b.N)
	deadline := time.Now().Add(5 * time.Minute)
	// Done when every delivery task is finished and the invocations count
	// confirms it. The storage check goes first (gathering the whole
	// registry, with 1,000 rules' series and SQS gauges that scan the
	// growing sink queue, every 5 ms took a quarter of the CPU the
	// deliveries need), and polls are spaced by three times their own cost
	// so that watching never takes more than a quarter of a core.
	for {
		t0 := time.Now()
		if pendingTasks(b, env) == 0 && invocations(b, env) >= want {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %.0f of %d deliveries after 5 minutes", invocations(b, env)-before, 10*b.N)
		}
		time.Sleep(max(5*time.Millisecond, 3*time.Since(t0)))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	rate := float64(10*b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(float64(10*b.N)/accepted.Seconds(), "accepted-events/s")
	b.ReportMetric(ceiling, "ceiling-appends/s")
	b.ReportMetric(rate/ceiling, "ratio")
}

// BenchmarkPutEventsLatency: PutEvents of 1 entry → rule → API destination
// (a warm loopback HTTP server), one at a time; p50/p99 from the PutEvents
// call to the request arriving, beside the baseline: storage publish →
// consume p50 plus two loopback HTTP round trips.
func BenchmarkPutEventsLatency(b *testing.B) {
	env := testenv.Start(b)
	ctx := context.Background()
	eb := eventbridge.NewFromConfig(env.Config)
	arrived := make(chan time.Time, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- time.Now()
	}))
	defer srv.Close()
	conn := must(eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{Name: aws.String("c"), AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("x-key"), ApiKeyValue: aws.String("v")}}}))(b)
	dest := must(eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String("d"), ConnectionArn: conn.ConnectionArn,
		InvocationEndpoint: aws.String(srv.URL + "/hook"), HttpMethod: types.ApiDestinationHttpMethodPost, InvocationRateLimitPerSecond: aws.Int32(300)}))(b)
	must(eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["bench"]}`)}))(b)
	must(eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{{Id: aws.String("d"),
		Arn: dest.ApiDestinationArn, RoleArn: aws.String("arn:aws:iam::" + env.Account + ":role/r")}}}))(b)
	in := &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("bench"), DetailType: aws.String("d"), Detail: aws.String(`{"n":1}`)}}}
	one := func() time.Duration {
		start := time.Now()
		must(eb.PutEvents(ctx, in))(b)
		select {
		case at := <-arrived:
			return at.Sub(start)
		case <-time.After(10 * time.Second):
			b.Fatal("no delivery in 10 s")
			return 0
		}
	}
	for range 20 { // warm up: connections, caches
		one()
	}

	// Baselines: storage publish → consume, loopback HTTP round trip.
	q := env.Server.Backend().Queues()
	var pubCons, rtt []time.Duration
	for range 200 {
		t0 := time.Now()
		must(q.Send(ctx, "events/bench/latency", env.Server.Clock().Now(), []storage.SendRequest{{Body: []byte(`{"n":1}`)}}))(b)
		msgs := must(q.Receive(ctx, "events/bench/latency", env.Server.Clock().Now(), storage.ReceiveOptions{Max: 1, Visibility: time.Minute}))(b)
		if len(msgs) != 1 {
			b.Fatalf("baseline receive got %d", len(msgs))
		}
		pubCons = append(pubCons, time.Since(t0))
		must(0, q.Delete(ctx, "events/bench/latency", msgs[0].Receipt))(b)
	}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer echo.Close()
	for range 500 {
		t0 := time.Now()
		resp := must(http.Post(echo.URL, "application/json", strings.NewReader(`{"n":1}`)))(b)
		resp.Body.Close()
		rtt = append(rtt, time.Since(t0))
	}

	b.ResetTimer()
	lat := make([]time.Duration, 0, b.N)
	for range b.N {
		lat = append(lat, one())
	}
	b.StopTimer()
	base := pct(pubCons, 50) + 2*pct(rtt, 50)
	b.ReportMetric(ms(pct(lat, 50)), "p50-ms")
	b.ReportMetric(ms(pct(lat, 99)), "p99-ms")
	b.ReportMetric(ms(pct(pubCons, 50)), "storage-pubcons-p50-ms")
	b.ReportMetric(ms(pct(rtt, 50)), "rtt-p50-ms")
	b.ReportMetric(float64(pct(lat, 50))/float64(base), "p50-ratio")
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
