package drift

import (
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// captureGenerator is a capture file of n records made on the fly, so that
// the test input itself takes no memory: what the heap holds is what the
// reader holds. Every tenth record carries two rows, every hundredth line is
// malformed.
type captureGenerator struct {
	n, i  int
	buf   []byte
	lines [][]byte // 1,000 distinct lines, cycled, so making them costs little
}

func (g *captureGenerator) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		if g.i == g.n {
			return 0, io.EOF
		}
		if g.lines == nil {
			for j := range 1000 {
				g.lines = append(g.lines, g.line(j))
			}
		}
		g.buf = g.lines[g.i%len(g.lines)]
		g.i++
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

func (g *captureGenerator) line(i int) []byte {
	if i%100 == 99 {
		return []byte("{\"captureData\": {\"endpointInput\": \n")
	}
	data := fmt.Sprintf("%d,%d", i%30, i%3)
	if i%10 == 0 {
		data += fmt.Sprintf("\\n%d,%d", (i+7)%30, (i+1)%3)
	}
	return fmt.Appendf(nil, `{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"%s","encoding":"CSV"},`+
		`"endpointOutput":{"observedContentType":"text/csv; charset=utf-8","mode":"OUTPUT","data":"0.%d","encoding":"CSV"}},`+
		`"eventMetadata":{"eventId":"b3c9a8e2-%08d","inferenceId":"req-%d","inferenceTime":"2026-11-25T08:%02d:00Z"},"eventVersion":"0"}`+"\n",
		data, i%10, i, i, i%60)
}

// peakHeapReader samples the live heap every few reads: the largest value
// seen is the reader's peak memory (input included, since it is generated).
type peakHeapReader struct {
	r     io.Reader
	reads int
	peak  uint64
}

func (p *peakHeapReader) Read(b []byte) (int, error) {
	p.reads++
	if p.reads%64 == 0 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		p.peak = max(p.peak, ms.HeapAlloc)
	}
	return p.r.Read(b)
}

func readGenerated(tb testing.TB, n int) (Report, uint64) {
	tb.Helper()
	runtime.GC()
	acc := NewAccumulator(loadBaseline(tb))
	pr := &peakHeapReader{r: &captureGenerator{n: n}}
	require.NoError(tb, acc.ReadCapture(pr))
	return acc.Report(), pr.peak
}

// TestReadCaptureMemoryIsFlat reads 10,000 and then 100,000 records: ten
// times the data must not need more memory. The live heap during the run
// (sampled) stays within a fixed margin; it would grow by ~25 MB if the
// reader kept the file or the rows.
func TestReadCaptureMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 110,000 records")
	}
	small, peakSmall := readGenerated(t, 10_000)
	large, peakLarge := readGenerated(t, 100_000)
	assert.Equal(t, int64(10_000*99/100+10_000/10), small.Rows)
	assert.Equal(t, int64(100_000*99/100+100_000/10), large.Rows)
	assert.Equal(t, int64(1000), large.MalformedLines)
	t.Logf("peak live heap: %d bytes for 10k records, %d bytes for 100k", peakSmall, peakLarge)
	const margin = 4 << 20 // GC pacing noise, far below the ~25 MB of input
	assert.Less(t, peakLarge, peakSmall+margin, "peak heap grew with the number of records")
}

// TestReadCaptureSpeed guards the budget: 100,000 records in under a second
// on one core (measured without the race detector's ~10x slowdown).
func TestReadCaptureSpeed(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("timing is meaningless under -race or -short")
	}
	acc := NewAccumulator(loadBaseline(t))
	gen := &captureGenerator{n: 100_000}
	start := time.Now()
	require.NoError(t, acc.ReadCapture(gen))
	elapsed := time.Since(start)
	t.Logf("100,000 records (%d rows) in %v", acc.Counts().Rows, elapsed)
	assert.Less(t, elapsed, time.Second)
}

// BenchmarkReadCapture100k measures the drift computation over a capture
// file of 100,000 records: time per file, per record, and peak live heap.
func BenchmarkReadCapture100k(b *testing.B) {
	const records = 100_000
	var peak uint64
	b.ReportAllocs()
	for b.Loop() {
		acc := NewAccumulator(loadBaseline(b))
		pr := &peakHeapReader{r: &captureGenerator{n: records}}
		if err := acc.ReadCapture(pr); err != nil {
			b.Fatal(err)
		}
		_ = acc.Report()
		peak = max(peak, pr.peak)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/records, "ns/record")
	b.ReportMetric(float64(peak), "peak-heap-bytes")
}
