package chaos

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReport(t *testing.T) {
	tests := []struct {
		name       string
		entry      Entry
		wantPassed bool
		wantLine   string
	}{
		{name: "invariant holds with its guard", entry: Entry{Scenario: "a", Expect: true, Outcome: Outcome{Held: true}}, wantPassed: true, wantLine: "[PASS] a"},
		{name: "invariant broken with its guard", entry: Entry{Scenario: "b", Expect: true, Outcome: Outcome{Held: false, Evidence: "queue q"}}, wantLine: "[FAIL] b"},
		{name: "invariant broken without its guard", entry: Entry{Scenario: "c", Guard: "g", Expect: false, Outcome: Outcome{Held: false}}, wantPassed: true, wantLine: "[PASS] c (guard removed: g"},
		{name: "invariant holds without its guard: the check cannot fail", entry: Entry{Scenario: "d", Guard: "g", Expect: false, Outcome: Outcome{Held: true}}, wantLine: "[FAIL] d (guard removed: g"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.wantPassed, tt.entry.Passed())
			r := &Report{}
			r.Add(tt.entry)
			var buf bytes.Buffer
			require.NoError(t, r.Write(&buf))
			assert.Contains(t, buf.String(), tt.wantLine)
			if tt.entry.Outcome.Evidence != "" {
				assert.Contains(t, buf.String(), "evidence:  "+tt.entry.Outcome.Evidence)
			}
			failed := "0 failed"
			if !tt.wantPassed {
				failed = "1 failed"
			}
			assert.Contains(t, buf.String(), "1 runs, "+failed)
		})
	}
}
