package eventbridge

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzSchedule feeds arbitrary schedule expressions to the parser: it may
// reject them but never panic, and an accepted schedule's next firing is
// in the future (or zero when none exists within five years).
func FuzzSchedule(f *testing.F) {
	for _, s := range []string{"rate(5 minutes)", "rate(1 day)", "cron(0/15 * * * ? *)", "cron(30 2 L * ? *)", "cron(0 18 ? * MON-FRI *)", "cron(0 9 1 JAN,JUL ? 2027)"} {
		f.Add(s)
	}
	from := time.Date(2026, 5, 6, 7, 8, 30, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		sc, err := parseSchedule(expr)
		if err != nil {
			return
		}
		next := sc.next(from, from)
		if !next.IsZero() && !next.After(from) {
			t.Fatalf("%s: next %v is not after %v", expr, next, from)
		}
	})
}

// FuzzInputTransformer renders arbitrary templates and paths: no panics,
// and a template without placeholders or quotes renders unchanged.
func FuzzInputTransformer(f *testing.F) {
	f.Add(`{"a": <v>, "b": "x <v> y"}`, "$.detail.v")
	f.Add(`"<aws.events.rule-name> \" <v>"`, "$['detail']['v'][0]")
	f.Add(`plain text`, "$")
	f.Fuzz(func(t *testing.T, tmpl, path string) {
		var event map[string]any
		_ = json.Unmarshal([]byte(`{"detail":{"v":["s",1,{"o":true}]}}`), &event)
		vars := map[string]any{}
		if segs, err := parsePath(path); err == nil {
			if v, ok := lookup(event, segs); ok {
				vars["v"] = v
			}
		}
		out, err := renderTemplate(tmpl, vars)
		if err != nil {
			return
		}
		if !strings.ContainsAny(tmpl, `<"\`) && string(out) != tmpl {
			t.Fatalf("template %q without placeholders rendered as %q", tmpl, out)
		}
	})
}
