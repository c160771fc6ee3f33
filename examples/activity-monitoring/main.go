package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	o := options{Out: os.Stdout}
	var sources string
	flag.StringVar(&o.Endpoint, "endpoint", envOr("AWS_ENDPOINT_URL", "http://localhost:4566"), "Fogbank endpoint (env AWS_ENDPOINT_URL)")
	flag.StringVar(&o.Region, "region", envOr("AWS_REGION", envOr("AWS_DEFAULT_REGION", "us-east-1")), "region (env AWS_REGION)")
	flag.StringVar(&o.Central, "central", "999999999999", "central (monitoring) account id")
	flag.StringVar(&sources, "sources", "111111111111,222222222222,333333333333", "comma-separated source account ids")
	flag.DurationVar(&o.Timeout, "timeout", 3*time.Minute, "give up after this long (includes building the processor)")
	flag.Parse()
	o.Sources = strings.Split(sources, ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "activity-monitoring: FAILED:", err)
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// options configure one run of the example.
type options struct {
	Endpoint string
	Region   string
	Central  string
	Sources  []string
	Timeout  time.Duration
	Out      io.Writer
}

// run sets up the architecture, drives the workload and waits for the
// findings; nil means every expected finding arrived and nothing else did.
func run(ctx context.Context, o options) error {
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if len(o.Sources) == 0 || o.Sources[0] == "" {
		return fmt.Errorf("no source accounts")
	}
	runID := newRunID()
	say := func(format string, args ...any) { fmt.Fprintf(o.Out, format+"\n", args...) }
	say("activity monitoring against %s (%s), run %s", o.Endpoint, o.Region, runID)

	admin := newAdmin(o.Endpoint)
	central, err := admin.account(ctx, o.Central, "", o)
	if err != nil {
		return err
	}
	var sources []*account
	for _, id := range o.Sources {
		a, err := admin.account(ctx, id, "", o)
		if err != nil {
			return err
		}
		sources = append(sources, a)
	}
	for _, a := range append([]*account{central}, sources...) {
		who, err := a.whoami(ctx)
		if err != nil {
			return err
		}
		say("  account %s: signed in as %s", a.id, who)
	}

	say("building the processor function ...")
	code, err := buildProcessor(ctx)
	if err != nil {
		return err
	}
	c, err := setupCentral(ctx, central, o.Sources, code, say)
	if err != nil {
		return err
	}
	for _, a := range sources {
		if err := setupSource(ctx, a, c.busARN, say); err != nil {
			return err
		}
	}

	say("workload: API calls in the source accounts (user %q)", workloadUser)
	var work []*workload
	for i, a := range sources {
		dev, err := admin.account(ctx, a.id, workloadUser, o)
		if err != nil {
			return err
		}
		w := newWorkload(i, dev, runID, o.Sources[(i+1)%len(o.Sources)])
		if err := w.run(ctx, say); err != nil {
			return err
		}
		work = append(work, w)
	}

	t := newTally(work)
	say("waiting for findings on %s ...", c.findingsURL)
	if err := watchFindings(ctx, central, c.findingsURL, t, say); err != nil {
		return err
	}
	for _, w := range work {
		if err := w.trailSummary(ctx, say); err != nil {
			return err
		}
	}
	say("OK: %d findings as expected (%s)", t.expected(), t.summary())
	return nil
}
