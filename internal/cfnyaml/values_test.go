package cfnyaml

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIsIntrinsic(t *testing.T) {
	tests := []struct {
		name string
		m    map[string]any
		want bool
	}{
		{name: "Ref", m: map[string]any{"Ref": "Bucket"}, want: true},
		{name: "Condition", m: map[string]any{"Condition": "IsProd"}, want: true},
		{name: "Fn::Sub", m: map[string]any{"Fn::Sub": "${AWS::StackName}-x"}, want: true},
		{name: "Fn::GetAtt", m: map[string]any{"Fn::GetAtt": []any{"Fn", "Arn"}}, want: true},
		{name: "plain mapping", m: map[string]any{"Variables": map[string]any{}}},
		{name: "two keys are a mapping", m: map[string]any{"Ref": "A", "Other": 1}},
		{name: "a Fn prefix without colons", m: map[string]any{"FnSub": "x"}},
		{name: "empty", m: map[string]any{}},
		{name: "nil", m: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, IsIntrinsic(tt.m))
		})
	}
}

func TestDeepCopy(t *testing.T) {
	orig := map[string]any{
		"Environment": map[string]any{"Variables": map[string]any{"A": "1"}},
		"Policies":    []any{map[string]any{"S3ReadPolicy": map[string]any{"BucketName": "b"}}, "arn:x"},
		"Timeout":     30,
		"Tracing":     nil,
	}
	cp := DeepCopy(orig).(map[string]any)
	assert.Equal(t, orig, cp)

	cp["Environment"].(map[string]any)["Variables"].(map[string]any)["A"] = "changed"
	cp["Policies"].([]any)[0].(map[string]any)["S3ReadPolicy"] = "changed"
	cp["Policies"] = append(cp["Policies"].([]any), "more")
	cp["Timeout"] = 1

	assert.Equal(t, "1", orig["Environment"].(map[string]any)["Variables"].(map[string]any)["A"], "nested map shared")
	assert.Equal(t, map[string]any{"BucketName": "b"}, orig["Policies"].([]any)[0].(map[string]any)["S3ReadPolicy"], "map in list shared")
	assert.Len(t, orig["Policies"], 2)
	assert.Equal(t, 30, orig["Timeout"])
	assert.Equal(t, "x", DeepCopy("x"))
	assert.Nil(t, DeepCopy(nil))
}
