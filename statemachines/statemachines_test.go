package statemachines

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPlaceholders(t *testing.T) {
	tests := []struct {
		name string
		def  string
		want []string
	}{
		{"none", `{"a":"$.b"}`, []string{}},
		{"distinct and sorted", `{"a":"${B}","b":"${A}","c":"x ${B} y"}`, []string{"A", "B"}},
		{"inside an intrinsic", `{"a.$":"States.StringToJson('${Max_1}')"}`, []string{"Max_1"}},
		{"not a placeholder", `{"a":"$.b","c":"${}"}`, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Placeholders([]byte(tt.def)))
		})
	}
}

func TestSubstitute(t *testing.T) {
	tests := []struct {
		name    string
		def     string
		subs    map[string]string
		want    string
		wantErr string
	}{
		{"replaces every occurrence", `{"a":"${X}","b":"${X}-${Y}"}`, map[string]string{"X": "1", "Y": "2", "Unused": "3"},
			`{"a":"1","b":"1-2"}`, ""},
		{"missing names are listed", `{"a":"${X}","b":"${Y}","c":"${Z}"}`, map[string]string{"Y": "2"},
			"", "missing for X, Z"},
		{"values needing escapes are refused", `{"a":"${X}"}`, map[string]string{"X": `say "hi"`},
			"", "needs JSON escaping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Substitute([]byte(tt.def), tt.subs)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(got))
		})
	}
}

func TestPipelineSubstitutesToValidJSON(t *testing.T) {
	raw, err := Pipeline()
	require.NoError(t, err)
	subs := map[string]string{
		"PrepareFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:prepare",
		"TrainFunctionArn":   "arn:aws:lambda:eu-west-1:123456789012:function:train",
		"DeployFunctionArn":  "arn:aws:lambda:eu-west-1:123456789012:function:deploy",
		"TopicArn":           "arn:aws:sns:eu-west-1:123456789012:topic",
		"MaxValidationError": "0.25",
	}
	got, err := Substitute(raw, subs)
	require.NoError(t, err)
	assert.Empty(t, Placeholders(got))
	var def struct {
		States map[string]struct {
			Parameters map[string]any `json:"Parameters"`
		} `json:"States"`
	}
	require.NoError(t, json.Unmarshal(got, &def))
	assert.Equal(t, subs["TrainFunctionArn"], def.States["StartTraining"].Parameters["FunctionName"])
	assert.Equal(t, "States.StringToJson('0.25')", def.States["LoadConfig"].Parameters["maxValidationError.$"])
}
