// Package config reads a function's typed configuration from its environment.
//
// A Reader collects every problem instead of stopping at the first, so a
// misconfigured function reports all missing or malformed variables at once,
// each by name.
package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// LookupFunc returns the value of a variable and whether it is set.
// os.LookupEnv satisfies it; tests pass a map-backed function.
type LookupFunc func(name string) (string, bool)

// MapLookup adapts a map to a LookupFunc, for tests and the local cloud.
func MapLookup(m map[string]string) LookupFunc {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// Reader reads typed values and remembers every error it meets.
type Reader struct {
	lookup LookupFunc
	errs   []error
}

// FromEnv returns a Reader over the process environment.
func FromEnv() *Reader { return New(os.LookupEnv) }

// New returns a Reader over lookup.
func New(lookup LookupFunc) *Reader { return &Reader{lookup: lookup} }

// Err returns every problem met so far, joined, or nil.
func (r *Reader) Err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %w", errors.Join(r.errs...))
}

func (r *Reader) get(name string) (string, bool) {
	v, ok := r.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (r *Reader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// String returns a required variable.
func (r *Reader) String(name string) string {
	v, ok := r.get(name)
	if !ok {
		r.fail(name, "required but not set")
	}
	return v
}

// StringOr returns an optional variable, or def when it is unset.
func (r *Reader) StringOr(name, def string) string {
	if v, ok := r.get(name); ok {
		return v
	}
	return def
}

// Int64Or returns an optional integer in [min, max], or def when it is unset.
func (r *Reader) Int64Or(name string, def, min, max int64) int64 {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		r.fail(name, "%q is not an integer", v)
		return def
	}
	if n < min || n > max {
		r.fail(name, "%d is outside [%d, %d]", n, min, max)
		return def
	}
	return n
}

// Float64Or returns an optional number in [min, max], or def when it is unset.
func (r *Reader) Float64Or(name string, def, min, max float64) float64 {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		r.fail(name, "%q is not a number", v)
		return def
	}
	// NaN compares false with everything, so it must be refused by name.
	if math.IsNaN(f) || f < min || f > max {
		r.fail(name, "%g is outside [%g, %g]", f, min, max)
		return def
	}
	return f
}

// BoolOr returns an optional boolean ("true"/"false", "1"/"0"), or def.
func (r *Reader) BoolOr(name string, def bool) bool {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, "%q is not a boolean", v)
		return def
	}
	return b
}

// DurationOr returns an optional Go duration ("90s", "5m") that must be
// positive, or def when it is unset.
func (r *Reader) DurationOr(name string, def time.Duration) time.Duration {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(name, "%q is not a positive duration like 90s or 5m", v)
		return def
	}
	return d
}

// OneOf returns an optional variable that must be one of allowed, or def
// when it is unset.
func (r *Reader) OneOf(name, def string, allowed ...string) string {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, "%q is not one of %s", v, strings.Join(allowed, ", "))
	return def
}

// List returns an optional comma-separated list with blanks removed.
func (r *Reader) List(name string) []string {
	v, ok := r.get(name)
	if !ok {
		return nil
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
