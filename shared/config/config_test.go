package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReaderCollectsEveryProblemByName(t *testing.T) {
	r := New(MapLookup(map[string]string{
		"COUNT":   "ten",
		"RATIO":   "2.5",
		"TIMEOUT": "-1s",
		"FLAG":    "maybe",
	}))
	_ = r.String("BUCKET")
	_ = r.Int64Or("COUNT", 1, 0, 100)
	_ = r.Float64Or("RATIO", 0.5, 0, 1)
	_ = r.DurationOr("TIMEOUT", time.Second)
	_ = r.BoolOr("FLAG", false)
	_ = New(MapLookup(nil)).OneOf("MODE", "a", "a", "b")
	mode := New(MapLookup(map[string]string{"MODE": "c"}))
	_ = mode.OneOf("MODE", "a", "a", "b")
	assert.ErrorContains(t, mode.Err(), `MODE: "c" is not one of a, b`)

	err := r.Err()
	require.Error(t, err)
	for _, want := range []string{"BUCKET: required", "COUNT: \"ten\"", "RATIO: 2.5 is outside", "TIMEOUT:", "FLAG:"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestReaderValues(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		read func(*Reader) any
		want any
	}{
		{"string set", map[string]string{"A": " x "}, func(r *Reader) any { return r.String("A") }, "x"},
		{"string default", nil, func(r *Reader) any { return r.StringOr("A", "d") }, "d"},
		{"blank is unset", map[string]string{"A": "  "}, func(r *Reader) any { return r.StringOr("A", "d") }, "d"},
		{"int", map[string]string{"N": "42"}, func(r *Reader) any { return r.Int64Or("N", 1, 0, 100) }, int64(42)},
		{"int default", nil, func(r *Reader) any { return r.Int64Or("N", 7, 0, 100) }, int64(7)},
		{"float", map[string]string{"F": "0.25"}, func(r *Reader) any { return r.Float64Or("F", 1, 0, 1) }, 0.25},
		{"bool", map[string]string{"B": "true"}, func(r *Reader) any { return r.BoolOr("B", false) }, true},
		{"duration", map[string]string{"D": "90s"}, func(r *Reader) any { return r.DurationOr("D", time.Second) }, 90 * time.Second},
		{"list", map[string]string{"L": "a, b,,c "}, func(r *Reader) any { return r.List("L") }, []string{"a", "b", "c"}},
		{"one of", map[string]string{"M": "drift"}, func(r *Reader) any { return r.OneOf("M", "upload", "upload", "drift") }, "drift"},
		{"one of default", nil, func(r *Reader) any { return r.OneOf("M", "upload", "upload", "drift") }, "upload"},
		{"list unset", nil, func(r *Reader) any { return r.List("L") }, []string(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(MapLookup(tt.env))
			got := tt.read(r)
			require.NoError(t, r.Err())
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFloat64OrRefusesNaN(t *testing.T) {
	for _, v := range []string{"NaN", "nan", "+Inf"} {
		t.Run(v, func(t *testing.T) {
			r := New(MapLookup(map[string]string{"RATIO": v}))
			got := r.Float64Or("RATIO", 0.5, 0, 1)
			assert.Equal(t, 0.5, got, "the default stands in")
			assert.ErrorContains(t, r.Err(), "RATIO: ")
		})
	}
}
