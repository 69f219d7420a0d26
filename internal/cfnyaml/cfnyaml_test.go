package cfnyaml

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeShortForms(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want any
	}{
		{"ref", "V: !Ref Bucket", map[string]any{"Ref": "Bucket"}},
		{"getatt string", "V: !GetAtt Fn.Arn", map[string]any{"Fn::GetAtt": []any{"Fn", "Arn"}}},
		{"getatt list", "V: !GetAtt [Fn, Arn]", map[string]any{"Fn::GetAtt": []any{"Fn", "Arn"}}},
		{"sub string", `V: !Sub "arn:${AWS::Partition}:s3:::${B}"`, map[string]any{"Fn::Sub": "arn:${AWS::Partition}:s3:::${B}"}},
		{"sub list", "V: !Sub [\"${X}\", {X: !Ref Y}]", map[string]any{"Fn::Sub": []any{"${X}", map[string]any{"X": map[string]any{"Ref": "Y"}}}}},
		{"nested if", "V: !If [C, !Ref A, !Ref AWS::NoValue]", map[string]any{"Fn::If": []any{"C", map[string]any{"Ref": "A"}, map[string]any{"Ref": "AWS::NoValue"}}}},
		{"condition", "V: !Condition IsProd", map[string]any{"Condition": "IsProd"}},
		{"number stays a string when tagged", "V: !Ref 123", map[string]any{"Ref": "123"}},
		{"plain scalars", "V: [1, 2.5, true, x, null]", []any{1, 2.5, true, "x", nil}},
		{"long form untouched", "V: {\"Fn::Join\": [\"\", [a, b]]}", map[string]any{"Fn::Join": []any{"", []any{"a", "b"}}}},
		{"json input", `{"V": {"Ref": "B"}}`, map[string]any{"Ref": "B"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.yaml))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got["V"])
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"empty", "", "empty document"},
		{"not a mapping", "- a", "want a mapping"},
		{"bad getatt", "V: !GetAtt NoDot", "not Resource.Attribute"},
		{"duplicate key", "A: 1\nA: 2", `duplicate key "A"`},
		{"syntax", "A: [", "parse template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.yaml))
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestDecodeProjectTemplate(t *testing.T) {
	data, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	tmpl, err := Decode(data)
	require.NoError(t, err)
	assert.Equal(t, "AWS::Serverless-2016-10-31", tmpl["Transform"])
}
