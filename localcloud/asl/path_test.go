package asl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSelectPath(t *testing.T) {
	data := mustDecodeAny(`{"a":{"b-c":[1,2,{"d":true}],"e f":"x"},"items":[{"p":1},{"p":5}],"n":null}`)
	ctx := mustDecodeAny(`{"Execution":{"Id":"arn"}}`)
	tests := []struct {
		path, want, wantErr string
	}{
		{"$", mustJSON(data), ""},
		{"$.a.b-c[2].d", `true`, ""},
		{"$.a['e f']", `"x"`, ""},
		{"$.n", `null`, ""},
		{"$.items[*].p", `[1,5]`, ""},
		{"$.items[?(@.p > 2)]", `[{"p":5}]`, ""},
		{"$..d", `[true]`, ""},
		{"$$.Execution.Id", `"arn"`, ""},
		{"$.missing", "", "could not be found"},
		{"$.a.b-c[7]", "", "could not be found"},
		{"a.b", "", "must start with $"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			v, err := selectPath(tt.path, data, ctx)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, mustJSON(v))
		})
	}
}

func TestApplyResultPath(t *testing.T) {
	tests := []struct {
		name, path, input, want, wantErr string
		null                             bool
	}{
		{"root", "$", `{"a":1}`, `"R"`, "", false},
		{"new nested node", "$.x.y", `{"a":1}`, `{"a":1,"x":{"y":"R"}}`, "", false},
		{"dash name", "$.error-info", `{"a":1}`, `{"a":1,"error-info":"R"}`, "", false},
		{"array index", "$.l[1]", `{"l":[0,0]}`, `{"l":[0,"R"]}`, "", false},
		{"null keeps input", "", `{"a":1}`, `{"a":1}`, "", true},
		{"through a string fails", "$.a.b", `{"a":"s"}`, "", ErrResultPathMatchFailure, false},
		{"input is not an object", "$.a", `"str"`, "", ErrResultPathMatchFailure, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustDecodeAny(tt.input)
			before := mustJSON(in)
			out, err := applyResultPath(OptPath{Set: true, Null: tt.null, Path: tt.path}, in, "R")
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Equal(t, tt.wantErr, AsFailure(err).Name)
				return
			}
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, mustJSON(out))
			assert.Equal(t, before, mustJSON(in), "the input must not be modified")
		})
	}
}
