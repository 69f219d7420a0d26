package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
)

// InitTrace is a Go program's package initialisation as GODEBUG=inittrace=1
// reports it.
type InitTrace struct {
	// ClockMs is the wall time of all package inits; Bytes and Allocs
	// what they allocated.
	ClockMs float64 `json:"clock_ms"`
	Bytes   int64   `json:"bytes"`
	Allocs  int64   `json:"allocs"`
	// Packages is the number of packages with an init.
	Packages int `json:"packages"`
	// Top are the costliest inits by clock, at most five.
	Top []PackageInit `json:"top"`
}

// PackageInit is one package's init.
type PackageInit struct {
	Package string  `json:"package"`
	ClockMs float64 `json:"clock_ms"`
	Bytes   int64   `json:"bytes"`
	Allocs  int64   `json:"allocs"`
}

// "init internal/bytealg @0.007 ms, 0 ms clock, 0 bytes, 0 allocs"
var initLine = regexp.MustCompile(`^init (\S+) @[0-9.]+ ms, ([0-9.]+) ms clock, ([0-9]+) bytes, ([0-9]+) allocs`)

// ParseInitTrace reads the inittrace lines of a program's stderr; other
// lines are ignored. Output without any init line is an error (the
// program did not run with GODEBUG=inittrace=1).
func ParseInitTrace(stderr []byte) (InitTrace, error) {
	var t InitTrace
	var all []PackageInit
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	for sc.Scan() {
		m := initLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		clock, err1 := strconv.ParseFloat(m[2], 64)
		b, err2 := strconv.ParseInt(m[3], 10, 64)
		a, err3 := strconv.ParseInt(m[4], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return InitTrace{}, fmt.Errorf("malformed inittrace line %q", sc.Text())
		}
		all = append(all, PackageInit{Package: m[1], ClockMs: clock, Bytes: b, Allocs: a})
		t.ClockMs += clock
		t.Bytes += b
		t.Allocs += a
	}
	if len(all) == 0 {
		return InitTrace{}, fmt.Errorf("no inittrace line in the output (GODEBUG=inittrace=1 not set?)")
	}
	t.Packages = len(all)
	sort.SliceStable(all, func(i, j int) bool { return all[i].ClockMs > all[j].ClockMs })
	t.Top = all[:min(5, len(all))]
	return t, nil
}
