package cron

import (
	"errors"
	"testing"
	"time"
)

func TestParseValidity(t *testing.T) {
	// Expressions AWS accepted or rejected (test_events_schedule.snapshot.json).
	valid := []string{
		"rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(2 hours)", "rate(1 day)", "rate(7 days)",
		"cron(0 10 * * ? *)", "cron(15 12 * * ? *)", "cron(0 18 ? * MON-FRI *)", "cron(0 8 1 * ? *)",
		"cron(0/15 * * * ? *)", "cron(0/10 * ? * MON-FRI *)", "cron(0/5 8-17 ? * MON-FRI *)",
		"cron(0/30 20-23 ? * MON-FRI *)", "cron(0/30 0-2 ? * MON-FRI *)", "cron(0 2 ? * SAT *)",
		"cron(0 12 * * ? *)", "cron(5,35 14 * * ? *)", "cron(15 10 ? * 6L 2002-2005)",
		"cron(0 2 ? * SAT#3 *)", "cron(* * ? * SAT#3 *)", "cron(0/5 5 ? JAN 1-5 2022)", "cron(0 20 * * ? *)",
		"cron(0 0 L * ? *)", "cron(0 0 15W * ? *)",
	}
	invalid := []string{
		"cron(INVALID)", "cron(0 dummy ? * MON-FRI *)", "cron(7 20 * * NOT *)", "cron(71 8 1 * ? *)",
		"cron(0 1 * * * *)", "rate(0 minutes)", "rate(1 minutes)", "rate(5 minute)", "rate(5 weeks)",
		"rate(-1 minutes)", "rate(five minutes)", "every 5 minutes", "cron(0 1 ? * ? *)", "cron(0 24 * * ? *)",
		"cron(0 1 * 13 ? *)", "cron(0 1 * * ? 1969)",
	}
	for _, s := range valid {
		if _, err := Parse(s); err != nil {
			t.Errorf("Parse(%q) = %v, want ok", s, err)
		}
	}
	for _, s := range invalid {
		if _, err := Parse(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want ErrInvalid", s, err)
		}
	}
}

func TestNext(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct{ expr, from, want string }{
		{"cron(0 10 * * ? *)", "2024-03-01 09:59", "2024-03-01 10:00"},
		{"cron(0 10 * * ? *)", "2024-03-01 10:00", "2024-03-02 10:00"},
		{"cron(0/15 * * * ? *)", "2024-03-01 10:07", "2024-03-01 10:15"},
		{"cron(0 18 ? * MON-FRI *)", "2024-03-01 18:00", "2024-03-04 18:00"}, // Fri → Mon
		{"cron(0 8 1 * ? *)", "2024-03-01 09:00", "2024-04-01 08:00"},
		{"cron(5,35 14 * * ? *)", "2024-03-01 14:06", "2024-03-01 14:35"},
		{"cron(0 2 ? * SAT#3 *)", "2024-03-01 00:00", "2024-03-16 02:00"},
		{"cron(15 10 ? * 6L 2002-2005)", "2002-01-01 00:00", "2002-01-25 10:15"},
		{"cron(0 0 L * ? *)", "2024-02-01 00:00", "2024-02-29 00:00"},
		{"cron(0 0 LW * ? *)", "2024-03-01 00:00", "2024-03-29 00:00"}, // Mar 31 is a Sunday
		{"cron(0 0 1W * ? *)", "2024-06-01 00:00", "2024-06-03 00:00"}, // Jun 1 is a Saturday
		{"cron(0/30 20-23 ? * MON-FRI *)", "2024-03-01 23:31", "2024-03-04 20:00"},
		{"rate(5 minutes)", "2024-03-01 10:07", "2024-03-01 10:12"},
	}
	for _, tc := range tests {
		s, err := Parse(tc.expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.expr, err)
		}
		if got := s.Next(at(tc.from)); !got.Equal(at(tc.want)) {
			t.Errorf("%s.Next(%s) = %s, want %s", tc.expr, tc.from, got.Format("2006-01-02 15:04 Mon"), tc.want)
		}
	}
	s, _ := Parse("cron(0/5 5 ? JAN 1-5 2022)")
	if got := s.Next(at("2023-01-01 00:00")); !got.IsZero() {
		t.Errorf("past-year cron Next = %v, want zero", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"rate(5 minutes)", "cron(0 10 * * ? *)", "cron(0 2 ? * SAT#3 *)", "cron(0 0 LW * ? *)", "cron(1-5/2,7 * ? JAN-MAR 2L 2030)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sch, err := Parse(s)
		if err != nil {
			return
		}
		from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		if n := sch.Next(from); !n.IsZero() && !n.After(from) {
			t.Fatalf("%s: Next(%v) = %v not after", s, from, n)
		}
	})
}
