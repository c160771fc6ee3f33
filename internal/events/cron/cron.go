package cron

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid reports an expression EventBridge rejects.
var ErrInvalid = errors.New("cron: invalid schedule expression")

// Schedule is a parsed schedule expression. It is immutable.
type Schedule interface {
	// Next returns the first fire time strictly after t (UTC, minute
	// precision), or the zero time when there is none (a cron whose years
	// have all passed).
	Next(t time.Time) time.Time
	// String returns the expression as given.
	String() string
}

// Parse parses "rate(...)" or "cron(...)".
func Parse(expr string) (Schedule, error) {
	switch {
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		return parseRate(expr)
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		return parseCron(expr)
	}
	return nil, fmt.Errorf("%w: %q", ErrInvalid, expr)
}

// Rate fires every Every, starting from the time the rule was created or
// enabled (the caller anchors it: Next(t) returns t+Every).
type Rate struct {
	Every time.Duration
	src   string
}

// Next returns t + Every.
func (r Rate) Next(t time.Time) time.Time { return t.Add(r.Every) }

// String returns the expression.
func (r Rate) String() string { return r.src }

func parseRate(expr string) (Schedule, error) {
	body := strings.TrimSpace(expr[len("rate(") : len(expr)-1])
	parts := strings.Fields(body)
	if len(parts) != 2 {
		return nil, fmt.Errorf("%w: %q", ErrInvalid, expr)
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil || n <= 0 || parts[0][0] == '+' {
		return nil, fmt.Errorf("%w: %q: bad value", ErrInvalid, expr)
	}
	unit := parts[1]
	var d time.Duration
	switch strings.TrimSuffix(unit, "s") {
	case "minute":
		d = time.Minute
	case "hour":
		d = time.Hour
	case "day":
		d = 24 * time.Hour
	default:
		return nil, fmt.Errorf("%w: %q: bad unit", ErrInvalid, expr)
	}
	// AWS requires the singular for 1 and the plural otherwise.
	if (n == 1) != !strings.HasSuffix(unit, "s") {
		return nil, fmt.Errorf("%w: %q: unit must be singular for 1 and plural otherwise", ErrInvalid, expr)
	}
	return Rate{Every: time.Duration(n) * d, src: expr}, nil
}

// Cron is a parsed cron(...) expression.
type Cron struct {
	src     string
	minutes [60]bool
	hours   [24]bool
	months  [13]bool // 1..12
	years   map[int]bool
	anyYear bool

	// day of month
	domAny   bool // '?' — use day of week
	dom      [32]bool
	domLast  bool
	domLastW bool
	domW     int // nearest weekday to this day (0: none)

	// day of week, 1=SUN..7=SAT
	dowAny  bool
	dow     [8]bool
	dowLast int // last <weekday> of month (0: none)
	dowNth  [2]int
}

var monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
var dayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

func parseCron(expr string) (Schedule, error) {
	fields := strings.Fields(expr[len("cron(") : len(expr)-1])
	bad := func(why string) error { return fmt.Errorf("%w: %q: %s", ErrInvalid, expr, why) }
	if len(fields) != 6 {
		return nil, bad("want 6 fields")
	}
	c := &Cron{src: expr}
	if err := setField(fields[0], 0, 59, nil, c.minutes[:]); err != nil {
		return nil, bad("minutes: " + err.Error())
	}
	if err := setField(fields[1], 0, 23, nil, c.hours[:]); err != nil {
		return nil, bad("hours: " + err.Error())
	}
	if err := setField(fields[3], 1, 12, monthNames, c.months[:]); err != nil {
		return nil, bad("month: " + err.Error())
	}
	domQ, dowQ := fields[2] == "?", fields[4] == "?"
	if domQ == dowQ {
		return nil, bad("exactly one of day-of-month and day-of-week must be ?")
	}
	if domQ {
		c.domAny = true
		if err := c.parseDOW(fields[4]); err != nil {
			return nil, bad("day-of-week: " + err.Error())
		}
	} else {
		c.dowAny = true
		if err := c.parseDOM(fields[2]); err != nil {
			return nil, bad("day-of-month: " + err.Error())
		}
	}
	if fields[5] == "*" {
		c.anyYear = true
	} else {
		ys := make([]bool, 2200)
		if err := setField(fields[5], 1970, 2199, nil, ys); err != nil {
			return nil, bad("year: " + err.Error())
		}
		c.years = map[int]bool{}
		for y, ok := range ys {
			if ok {
				c.years[y] = true
			}
		}
	}
	return c, nil
}

func (c *Cron) parseDOM(f string) error {
	switch {
	case f == "L":
		c.domLast = true
		return nil
	case f == "LW":
		c.domLastW = true
		return nil
	case strings.HasSuffix(f, "W"):
		n, err := strconv.Atoi(strings.TrimSuffix(f, "W"))
		if err != nil || n < 1 || n > 31 {
			return errors.New("bad W day")
		}
		c.domW = n
		return nil
	}
	return setField(f, 1, 31, nil, c.dom[:])
}

func (c *Cron) parseDOW(f string) error {
	if i := strings.IndexByte(f, '#'); i >= 0 {
		d, err := value(f[:i], 1, 7, dayNames)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(f[i+1:])
		if err != nil || n < 1 || n > 5 {
			return errors.New("bad # occurrence")
		}
		c.dowNth = [2]int{d, n}
		return nil
	}
	if f == "L" {
		c.dowLast = 7
		return nil
	}
	if strings.HasSuffix(f, "L") {
		d, err := value(strings.TrimSuffix(f, "L"), 1, 7, dayNames)
		if err != nil {
			return err
		}
		c.dowLast = d
		return nil
	}
	return setField(f, 1, 7, dayNames, c.dow[:])
}

func value(s string, lo, hi int, names map[string]int) (int, error) {
	if v, ok := names[strings.ToUpper(s)]; ok && names != nil {
		return v, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || s == "" || s[0] == '+' || s[0] == '-' {
		return 0, fmt.Errorf("bad value %q", s)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("value %d out of range %d-%d", n, lo, hi)
	}
	return n, nil
}

// setField parses a comma list of *, n, a-b, */s, n/s, a-b/s.
func setField(f string, lo, hi int, names map[string]int, set []bool) error {
	if f == "" {
		return errors.New("empty field")
	}
	for _, part := range strings.Split(f, ",") {
		step := 1
		if i := strings.IndexByte(part, '/'); i >= 0 {
			s, err := strconv.Atoi(part[i+1:])
			if err != nil || s <= 0 {
				return fmt.Errorf("bad step in %q", part)
			}
			step = s
			part = part[:i]
		}
		from, to := lo, hi
		switch {
		case part == "*":
		case strings.Contains(part, "-"):
			i := strings.IndexByte(part, '-')
			a, err := value(part[:i], lo, hi, names)
			if err != nil {
				return err
			}
			b, err := value(part[i+1:], lo, hi, names)
			if err != nil {
				return err
			}
			from, to = a, b
		default:
			a, err := value(part, lo, hi, names)
			if err != nil {
				return err
			}
			from = a
			if step == 1 {
				to = a
			}
		}
		if from > to {
			// A wrapping range such as FRI-MON or 22-2.
			for v := from; v <= hi; v += step {
				set[v] = true
			}
			for v := lo; v <= to; v += step {
				set[v] = true
			}
			continue
		}
		for v := from; v <= to; v += step {
			set[v] = true
		}
	}
	return nil
}

// String returns the expression.
func (c *Cron) String() string { return c.src }

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func nearestWeekday(y int, m time.Month, d int) int {
	last := daysIn(y, m)
	if d > last {
		d = last
	}
	wd := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()
	switch wd {
	case time.Saturday:
		if d == 1 {
			return 3
		}
		return d - 1
	case time.Sunday:
		if d == last {
			return d - 2
		}
		return d + 1
	}
	return d
}

func (c *Cron) dayMatches(day time.Time) bool {
	y, m, d := day.Date()
	if !c.anyYear && !c.years[y] {
		return false
	}
	if !c.months[m] {
		return false
	}
	if !c.domAny {
		switch {
		case c.domLast:
			return d == daysIn(y, m)
		case c.domLastW:
			return d == nearestWeekday(y, m, daysIn(y, m))
		case c.domW > 0:
			return d == nearestWeekday(y, m, c.domW)
		}
		return c.dom[d]
	}
	wd := int(day.Weekday()) + 1 // 1=SUN
	switch {
	case c.dowLast > 0:
		return wd == c.dowLast && d+7 > daysIn(y, m)
	case c.dowNth[0] > 0:
		return wd == c.dowNth[0] && (d-1)/7+1 == c.dowNth[1]
	}
	return c.dow[wd]
}

// Next returns the first matching minute strictly after t.
func (c *Cron) Next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Minute).Add(time.Minute)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	first := true
	for limit := 0; limit < 366*230; limit++ {
		if !c.anyYear {
			if !c.hasYearAtOrAfter(day.Year()) {
				return time.Time{}
			}
		}
		if c.dayMatches(day) {
			for h := 0; h < 24; h++ {
				if !c.hours[h] {
					continue
				}
				if first && h < t.Hour() {
					continue
				}
				for mi := 0; mi < 60; mi++ {
					if !c.minutes[mi] {
						continue
					}
					cand := day.Add(time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute)
					if !cand.Before(t) {
						return cand
					}
				}
			}
		}
		first = false
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}
}

func (c *Cron) hasYearAtOrAfter(y int) bool {
	for yy := range c.years {
		if yy >= y {
			return true
		}
	}
	return false
}
