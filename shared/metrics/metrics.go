// Package metrics writes CloudWatch Embedded Metric Format (EMF) records.
//
// A function prints one JSON line per record to stdout; Lambda ships it to
// CloudWatch Logs and CloudWatch extracts the metrics, with no API call on the
// invocation's path. See
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package metrics

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Unit is a CloudWatch metric unit.
type Unit string

// The units the platform uses.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
	Bytes        Unit = "Bytes"
	None         Unit = "None"
	Percent      Unit = "Percent"
)

// Metric is one named value.
type Metric struct {
	Name  string
	Unit  Unit
	Value float64
}

// Dimension is one name/value pair that identifies a metric's series.
type Dimension struct {
	Name  string
	Value string
}

// Emitter writes EMF records to w in one namespace. It is safe for
// concurrent use; each record is written with a single Write call.
type Emitter struct {
	w         io.Writer
	namespace string
	now       func() time.Time
	mu        sync.Mutex
}

// New returns an Emitter. now is injected so tests are deterministic.
func New(w io.Writer, namespace string, now func() time.Time) *Emitter {
	return &Emitter{w: w, namespace: namespace, now: now}
}

// bufPool recycles record buffers: Emit runs on every invocation of
// latency-sensitive functions and must not allocate per call.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledBuf keeps unusually large records from pinning memory.
const maxPooledBuf = 64 << 10

// Emit writes one record holding every metric, under one dimension set.
// Properties are extra, non-metric fields (such as a request id) that make
// the log line searchable; they must not reuse a metric or dimension name.
// A property named like a dimension replaces the dimension's value.
//
// The record is encoded by hand into a pooled buffer (a warm call does not
// allocate); the output is the JSON encoding/json would produce, up to key
// order.
func (e *Emitter) Emit(dims []Dimension, props map[string]string, ms ...Metric) error {
	if len(ms) == 0 {
		return nil
	}
	for i, m := range ms {
		taken := m.Name == "_aws"
		for _, d := range dims {
			taken = taken || d.Name == m.Name
		}
		if _, ok := props[m.Name]; ok {
			taken = true
		}
		for _, o := range ms[:i] {
			taken = taken || o.Name == m.Name
		}
		if taken {
			return fmt.Errorf("emit metric %q: name already used by a dimension or property", m.Name)
		}
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			return fmt.Errorf("encode EMF record: metric %q: unsupported value %v", m.Name, m.Value)
		}
	}

	bp := bufPool.Get().(*[]byte)
	b := append((*bp)[:0], '{')
	for i, d := range dims {
		if _, ok := props[d.Name]; ok || d.Name == "_aws" || laterDimension(dims[i+1:], d.Name) {
			continue
		}
		b = appendMember(b, d.Name)
		b = appendString(b, d.Value)
	}
	for k, v := range props {
		if k == "_aws" {
			continue
		}
		b = appendMember(b, k)
		b = appendString(b, v)
	}
	for _, m := range ms {
		b = appendMember(b, m.Name)
		b = appendFloat(b, m.Value)
	}
	b = appendMember(b, "_aws")
	b = append(b, `{"Timestamp":`...)
	b = strconv.AppendInt(b, e.now().UnixMilli(), 10)
	b = append(b, `,"CloudWatchMetrics":[{"Namespace":`...)
	b = appendString(b, e.namespace)
	b = append(b, `,"Dimensions":[[`...)
	for i, d := range dims {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, d.Name)
	}
	b = append(b, `]],"Metrics":[`...)
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Name":`...)
		b = appendString(b, m.Name)
		if m.Unit != "" {
			b = append(b, `,"Unit":`...)
			b = appendString(b, string(m.Unit))
		}
		b = append(b, '}')
	}
	b = append(b, "]}]}}\n"...)

	e.mu.Lock()
	_, err := e.w.Write(b)
	e.mu.Unlock()
	if cap(b) <= maxPooledBuf {
		*bp = b
		bufPool.Put(bp)
	}
	if err != nil {
		return fmt.Errorf("write EMF record: %w", err)
	}
	return nil
}

// laterDimension reports whether a dimension named name follows: like a
// map, the last value of a repeated name wins.
func laterDimension(rest []Dimension, name string) bool {
	for _, d := range rest {
		if d.Name == name {
			return true
		}
	}
	return false
}

// appendMember appends `"name":`, preceded by a comma unless it is the
// object's first member.
func appendMember(b []byte, name string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = appendString(b, name)
	return append(b, ':')
}

// appendFloat appends f as encoding/json formats a float64.
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, as encoding/json.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
