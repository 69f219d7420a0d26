package samglobals

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/cfnyaml"
)

func TestMerge(t *testing.T) {
	tests := []struct {
		name          string
		global, local map[string]any
		want          map[string]any
	}{
		{name: "resource scalar wins",
			global: map[string]any{"Timeout": 30, "Runtime": "provided.al2023"},
			local:  map[string]any{"Timeout": 900},
			want:   map[string]any{"Timeout": 900, "Runtime": "provided.al2023"}},
		{name: "mappings merge key by key, recursively",
			global: map[string]any{"Environment": map[string]any{"Variables": map[string]any{"LOG_LEVEL": "INFO", "STAGE": "dev"}}},
			local:  map[string]any{"Environment": map[string]any{"Variables": map[string]any{"LOG_LEVEL": "DEBUG", "BUCKET": "b"}}},
			want:   map[string]any{"Environment": map[string]any{"Variables": map[string]any{"LOG_LEVEL": "DEBUG", "STAGE": "dev", "BUCKET": "b"}}}},
		{name: "lists concatenate, globals first",
			global: map[string]any{"Layers": []any{"arn:global"}},
			local:  map[string]any{"Layers": []any{"arn:local", "arn:other"}},
			want:   map[string]any{"Layers": []any{"arn:global", "arn:local", "arn:other"}}},
		{name: "an intrinsic on the resource replaces a global mapping",
			global: map[string]any{"Environment": map[string]any{"Variables": map[string]any{"A": "1"}}},
			local:  map[string]any{"Environment": map[string]any{"Fn::If": []any{"IsProd", map[string]any{}, map[string]any{"Ref": "AWS::NoValue"}}}},
			want:   map[string]any{"Environment": map[string]any{"Fn::If": []any{"IsProd", map[string]any{}, map[string]any{"Ref": "AWS::NoValue"}}}}},
		{name: "a mapping on the resource replaces a global intrinsic",
			global: map[string]any{"Tags": map[string]any{"Ref": "TagsParam"}},
			local:  map[string]any{"Tags": map[string]any{"team": "ml"}},
			want:   map[string]any{"Tags": map[string]any{"team": "ml"}}},
		{name: "different kinds: the resource wins",
			global: map[string]any{"Policies": []any{"AWSLambdaBasicExecutionRole"}},
			local:  map[string]any{"Policies": "AmazonS3ReadOnlyAccess"},
			want:   map[string]any{"Policies": "AmazonS3ReadOnlyAccess"}},
		{name: "an explicit null on the resource wins, as in SAM",
			global: map[string]any{"Tracing": "Active", "Environment": map[string]any{"Variables": map[string]any{"A": "1"}}},
			local:  map[string]any{"Tracing": nil},
			want:   map[string]any{"Tracing": nil, "Environment": map[string]any{"Variables": map[string]any{"A": "1"}}}},
		{name: "a resource without properties gets the globals",
			global: map[string]any{"Timeout": 30},
			local:  nil,
			want:   map[string]any{"Timeout": 30}},
		{name: "no globals: the resource's own properties",
			global: nil,
			local:  map[string]any{"Timeout": 30},
			want:   map[string]any{"Timeout": 30}},
		{name: "nothing at all is an empty mapping",
			want: map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			global, local := cfnyaml.DeepCopy(tt.global), cfnyaml.DeepCopy(tt.local)
			got := Merge(tt.global, tt.local)
			assert.Equal(t, tt.want, got)
			if tt.global != nil {
				assert.Equal(t, global, any(tt.global), "global changed")
			}
			if tt.local != nil {
				assert.Equal(t, local, any(tt.local), "local changed")
			}
		})
	}
}

// TestMergeSharesNothing checks that changing a merged resource changes
// neither the Globals (which other resources merge next) nor the resource.
func TestMergeSharesNothing(t *testing.T) {
	global := map[string]any{
		"Environment": map[string]any{"Variables": map[string]any{"A": "1"}},
		"Layers":      []any{map[string]any{"Ref": "Layer"}},
		"Tags":        map[string]any{"team": "ml"},
	}
	local := map[string]any{
		"Layers":   []any{"arn:local"},
		"Policies": []any{map[string]any{"S3ReadPolicy": map[string]any{"BucketName": "b"}}},
	}
	before := cfnyaml.DeepCopy(global)
	beforeLocal := cfnyaml.DeepCopy(local)
	got := Merge(global, local)

	got["Environment"].(map[string]any)["Variables"].(map[string]any)["A"] = "changed"
	got["Layers"].([]any)[0].(map[string]any)["Ref"] = "changed"
	got["Tags"].(map[string]any)["team"] = "changed"
	got["Policies"].([]any)[0].(map[string]any)["S3ReadPolicy"] = "changed"

	assert.Equal(t, before, any(global))
	assert.Equal(t, beforeLocal, any(local))
}

func TestSections(t *testing.T) {
	tests := []struct {
		section, resourceType string
	}{
		{"Function", "AWS::Serverless::Function"},
		{"Api", "AWS::Serverless::Api"},
		{"HttpApi", "AWS::Serverless::HttpApi"},
		{"SimpleTable", "AWS::Serverless::SimpleTable"},
		{"StateMachine", "AWS::Serverless::StateMachine"},
		{"LayerVersion", "AWS::Serverless::LayerVersion"},
	}
	for _, tt := range tests {
		t.Run(tt.section, func(t *testing.T) {
			typ, ok := Target(tt.section)
			require.True(t, ok)
			assert.Equal(t, tt.resourceType, typ)
			section, ok := Section(tt.resourceType)
			require.True(t, ok)
			assert.Equal(t, tt.section, section)
		})
	}
	t.Run("unknown section", func(t *testing.T) {
		_, ok := Target("Bucket")
		assert.False(t, ok)
	})
	t.Run("type without a section", func(t *testing.T) {
		_, ok := Section("AWS::S3::Bucket")
		assert.False(t, ok)
	})
}
