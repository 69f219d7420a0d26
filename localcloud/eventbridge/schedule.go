package eventbridge

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// schedule is a parsed ScheduleExpression: rate(...) or cron(...), both
// evaluated in UTC as EventBridge does.
type schedule struct {
	rate time.Duration
	cron *cronSpec
}

// parseSchedule parses rate(value unit) and cron(min hour dom month dow
// year).
func parseSchedule(expr string) (*schedule, error) {
	switch {
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		d, err := parseRate(expr[len("rate(") : len(expr)-1])
		if err != nil {
			return nil, err
		}
		return &schedule{rate: d}, nil
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		c, err := parseCron(expr[len("cron(") : len(expr)-1])
		if err != nil {
			return nil, err
		}
		return &schedule{cron: c}, nil
	}
	return nil, fmt.Errorf("%q is neither rate(...) nor cron(...)", expr)
}

func parseRate(s string) (time.Duration, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, fmt.Errorf("rate %q must be \"value unit\"", s)
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("rate value %q must be a positive integer", f[0])
	}
	unit := f[1]
	singular := strings.TrimSuffix(unit, "s")
	if (n == 1) != (unit == singular) {
		return 0, fmt.Errorf("rate unit %q: use the singular for 1 and the plural otherwise", unit)
	}
	switch singular {
	case "minute":
		return time.Duration(n) * time.Minute, nil
	case "hour":
		return time.Duration(n) * time.Hour, nil
	case "day":
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return 0, fmt.Errorf("rate unit %q must be minute(s), hour(s) or day(s)", unit)
}

// cronSpec holds the allowed values of each field; dom/dow nil means "?".
type cronSpec struct {
	minutes, hours, months, years map[int]bool
	dom, dow                      map[int]bool
	lastDOM                       bool
}

var monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
var dayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

func parseCron(s string) (*cronSpec, error) {
	f := strings.Fields(s)
	if len(f) != 6 {
		return nil, fmt.Errorf("cron %q must have 6 fields (minutes hours day-of-month month day-of-week year)", s)
	}
	var c cronSpec
	var err error
	if c.minutes, err = cronField(f[0], 0, 59, nil); err != nil {
		return nil, fmt.Errorf("minutes: %w", err)
	}
	if c.hours, err = cronField(f[1], 0, 23, nil); err != nil {
		return nil, fmt.Errorf("hours: %w", err)
	}
	if c.months, err = cronField(f[3], 1, 12, monthNames); err != nil {
		return nil, fmt.Errorf("month: %w", err)
	}
	if c.years, err = cronField(f[5], 1970, 2199, nil); err != nil {
		return nil, fmt.Errorf("year: %w", err)
	}
	domQ, dowQ := f[2] == "?", f[4] == "?"
	if domQ == dowQ {
		return nil, fmt.Errorf("exactly one of day-of-month and day-of-week must be ?")
	}
	if !domQ {
		if f[2] == "L" {
			c.lastDOM = true
		} else if c.dom, err = cronField(f[2], 1, 31, nil); err != nil {
			return nil, fmt.Errorf("day-of-month: %w", err)
		}
	}
	if !dowQ {
		if c.dow, err = cronField(f[4], 1, 7, dayNames); err != nil {
			return nil, fmt.Errorf("day-of-week: %w", err)
		}
	}
	return &c, nil
}

// cronField parses "*", "a", "a-b", lists and steps ("*/5", "0/15",
// "1-10/2") into the set of allowed values.
func cronField(s string, lo, hi int, names map[string]int) (map[int]bool, error) {
	bare := strings.ToUpper(s)
	for name := range names {
		bare = strings.ReplaceAll(bare, name, "")
	}
	if strings.ContainsAny(bare, "LW#") {
		return nil, fmt.Errorf("%q uses L, W or # which the local cloud does not support here", s)
	}
	out := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		step := 1
		if i := strings.IndexByte(part, '/'); i >= 0 {
			n, err := strconv.Atoi(part[i+1:])
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("invalid step in %q", part)
			}
			step, part = n, part[:i]
		}
		from, to := lo, hi
		switch {
		case part == "*":
		case strings.Contains(part, "-"):
			a, b, _ := strings.Cut(part, "-")
			var err error
			if from, err = cronValue(a, lo, hi, names); err != nil {
				return nil, err
			}
			if to, err = cronValue(b, lo, hi, names); err != nil {
				return nil, err
			}
			if from > to {
				return nil, fmt.Errorf("range %q is reversed", part)
			}
		default:
			v, err := cronValue(part, lo, hi, names)
			if err != nil {
				return nil, err
			}
			from = v
			if step == 1 {
				to = v
			}
		}
		for v := from; v <= to; v += step {
			out[v] = true
		}
	}
	return out, nil
}

func cronValue(s string, lo, hi int, names map[string]int) (int, error) {
	if v, ok := names[strings.ToUpper(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("value %q must be between %d and %d", s, lo, hi)
	}
	return v, nil
}

// next returns the first firing time strictly after t.
func (sc *schedule) next(t time.Time, anchor time.Time) time.Time {
	if sc.rate > 0 {
		if t.Before(anchor) {
			return anchor.Add(sc.rate)
		}
		n := t.Sub(anchor)/sc.rate + 1
		return anchor.Add(n * sc.rate)
	}
	return sc.cron.next(t)
}

func (c *cronSpec) next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(5, 0, 0)
	for t.Before(limit) {
		if !c.years[t.Year()] {
			t = time.Date(t.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if !c.months[int(t.Month())] {
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if !c.dayMatches(t) {
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if !c.hours[t.Hour()] {
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, time.UTC)
			continue
		}
		if !c.minutes[t.Minute()] {
			t = t.Add(time.Minute)
			continue
		}
		return t
	}
	return time.Time{}
}

func (c *cronSpec) dayMatches(t time.Time) bool {
	switch {
	case c.lastDOM:
		return t.AddDate(0, 0, 1).Month() != t.Month()
	case c.dom != nil:
		return c.dom[t.Day()]
	default:
		return c.dow[int(t.Weekday())+1]
	}
}

// Run fires scheduled rules on the clock until ctx is done or the service
// is closed. Each firing emits an "aws.events" "Scheduled Event" to that
// rule's targets.
func (s *Service) Run(ctx context.Context) error {
	anchors := map[string]time.Time{}
	nextFire := map[string]time.Time{}
	exprs := map[string]string{}
	for {
		now := s.opts.Clock.Now()
		s.mu.Lock()
		var earliest time.Time
		for name, cr := range s.rules {
			if cr.schedule == nil || cr.State != "ENABLED" {
				delete(nextFire, name)
				continue
			}
			if exprs[name] != cr.ScheduleExpression {
				// New or changed schedule: it starts from now.
				exprs[name] = cr.ScheduleExpression
				anchors[name] = now
				delete(nextFire, name)
			}
			if _, ok := nextFire[name]; !ok {
				nextFire[name] = cr.schedule.next(now, anchors[name])
			}
			if n := nextFire[name]; !n.IsZero() && (earliest.IsZero() || n.Before(earliest)) {
				earliest = n
			}
		}
		for name := range exprs {
			if cr, ok := s.rules[name]; !ok || cr.schedule == nil {
				delete(exprs, name)
				delete(anchors, name)
				delete(nextFire, name)
			}
		}
		s.mu.Unlock()
		var wake <-chan time.Time
		if !earliest.IsZero() {
			wake = s.opts.Clock.After(earliest.Sub(now))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.ctx.Done():
			return nil
		case <-s.changed:
			// Rules changed: the loop recomputes the schedules.
		case at := <-wake:
			s.fireDue(at, nextFire, anchors)
		}
	}
}

func (s *Service) fireDue(at time.Time, nextFire, anchors map[string]time.Time) {
	s.mu.Lock()
	var due []*compiledRule
	for name, n := range nextFire {
		cr, ok := s.rules[name]
		if !ok || n.After(at) {
			continue
		}
		due = append(due, cr)
		nextFire[name] = cr.schedule.next(n, anchors[name])
	}
	s.mu.Unlock()
	for _, cr := range due {
		ev := Event{Version: "0", ID: newUUID(), DetailType: "Scheduled Event", Source: "aws.events",
			Account: s.opts.AccountID, Time: nextTimeString(at), Region: s.opts.Region,
			Resources: []string{s.RuleARN(cr.Name)}, Detail: json.RawMessage("{}")}
		raw, err := json.Marshal(ev)
		if err != nil {
			continue
		}
		var decoded map[string]any
		_ = json.Unmarshal(raw, &decoded)
		s.dispatch(cr, raw, decoded)
	}
}

func nextTimeString(t time.Time) string { return t.UTC().Format(time.RFC3339) }
