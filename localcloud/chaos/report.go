package chaos

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
)

// Outcome is what one scenario run found.
type Outcome struct {
	// Held reports whether the invariant held.
	Held bool
	// Detail says what was observed (counts, statuses).
	Detail string
	// Evidence says where to look: execution ARNs and their history, DLQ
	// messages, log lines, injected-fault records.
	Evidence string
}

// Entry is one line of the report.
type Entry struct {
	Scenario  string
	Fault     string
	Invariant string
	// Guard is the guard that was turned off ("" for the real platform).
	Guard   string
	Outcome Outcome
	// Expect is whether the invariant was expected to hold (false for a
	// run without its guard).
	Expect bool
}

// Passed reports whether the run went as expected: the invariant holds
// with its guard and breaks without it.
func (e Entry) Passed() bool { return e.Outcome.Held == e.Expect }

// Report collects scenario results. It is safe for concurrent use.
type Report struct {
	mu      sync.Mutex
	entries []Entry
}

// Add records an entry.
func (r *Report) Add(e Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries = append(r.entries, e)
}

// Entries returns the entries in scenario order.
func (r *Report) Entries() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]Entry(nil), r.entries...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Scenario < out[j].Scenario })
	return out
}

// Write prints the report: one block per run with the fault, the
// invariant, PASS/FAIL and the evidence; then a summary line.
func (r *Report) Write(w io.Writer) error {
	entries := r.Entries()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tGUARD\tINVARIANT\tRESULT")
	failed := 0
	for _, e := range entries {
		res := "PASS"
		if !e.Passed() {
			res = "FAIL"
			failed++
		}
		guard := "kept"
		if e.Guard != "" {
			guard = "removed: " + e.Guard
		}
		holds := "holds"
		if !e.Outcome.Held {
			holds = "broken"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Scenario, guard, holds, res)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range entries {
		res := "PASS"
		if !e.Passed() {
			res = "FAIL"
		}
		fmt.Fprintf(w, "\n[%s] %s", res, e.Scenario)
		if e.Guard != "" {
			fmt.Fprintf(w, " (guard removed: %s; the invariant must break)", e.Guard)
		}
		fmt.Fprintf(w, "\n  fault:     %s\n  invariant: %s\n  observed:  %s\n", e.Fault, e.Invariant, indent(e.Outcome.Detail))
		if e.Outcome.Evidence != "" {
			fmt.Fprintf(w, "  evidence:  %s\n", indent(e.Outcome.Evidence))
		}
	}
	_, err := fmt.Fprintf(w, "\n%d runs, %d failed\n", len(entries), failed)
	return err
}

func indent(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n             ")
}
