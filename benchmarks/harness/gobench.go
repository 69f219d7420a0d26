package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// GoBench is one benchmark of `go test -bench` output, its metrics
// aggregated over the -count runs by median.
type GoBench struct {
	Package string `json:"package"`
	// Name is the benchmark without the -GOMAXPROCS suffix.
	Name string `json:"name"`
	Runs int    `json:"runs"`
	// Metrics by unit: "ns/op", "B/op", "allocs/op" and custom ones.
	Metrics map[string]float64 `json:"metrics"`
}

// ParseGoBench reads `go test -bench` output (several packages, -count
// runs). Lines that are not results are skipped; a result line that does
// not parse is an error.
func ParseGoBench(out []byte) ([]GoBench, error) {
	type key struct{ pkg, name string }
	samples := map[key]map[string][]float64{}
	runs := map[key]int{}
	var order []key
	pkg := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "--- FAIL: Benchmark") {
			return nil, fmt.Errorf("benchmark failed: %q", strings.TrimSpace(line))
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 {
			continue // a benchmark's own log line
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		k := key{pkg, name}
		if _, ok := samples[k]; !ok {
			samples[k] = map[string][]float64{}
			order = append(order, k)
		}
		runs[k]++
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark line %q: %w", line, err)
			}
			samples[k][f[i+1]] = append(samples[k][f[i+1]], v)
		}
	}
	out2 := make([]GoBench, 0, len(order))
	for _, k := range order {
		g := GoBench{Package: k.pkg, Name: k.name, Runs: runs[k], Metrics: map[string]float64{}}
		for unit, vs := range samples[k] {
			g.Metrics[unit] = median(vs)
		}
		out2 = append(out2, g)
	}
	return out2, nil
}

func median(vs []float64) float64 {
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
