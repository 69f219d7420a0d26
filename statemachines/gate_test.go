package statemachines

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/shared/pipeline"
)

// lookup returns the value at a plain reference path in doc.
func lookup(doc any, path string) (any, bool) {
	if path == "$" {
		return doc, true
	}
	cur := doc
	for _, name := range strings.Split(strings.TrimPrefix(path, "$."), ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[name]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// evalRule evaluates the JSONPath Choice rule operators the pipeline uses.
// A comparison on a missing path is an error, as in Step Functions, so the
// tests also prove that every comparison is guarded by IsPresent.
func evalRule(doc any, r map[string]any) (bool, error) {
	if and, ok := r["And"].([]any); ok {
		// No short-circuit: whether Step Functions evaluates every operand
		// is not documented, so the definition must work either way.
		all := true
		for _, sub := range and {
			ok, err := evalRule(doc, sub.(map[string]any))
			if err != nil {
				return false, err
			}
			all = all && ok
		}
		return all, nil
	}
	if not, ok := r["Not"].(map[string]any); ok {
		ok, err := evalRule(doc, not)
		return !ok, err
	}
	variable, _ := r["Variable"].(string)
	v, present := lookup(doc, variable)
	if want, ok := r["IsPresent"].(bool); ok {
		return present == want, nil
	}
	if !present {
		return false, fmt.Errorf("States.Runtime: %s is missing", variable)
	}
	switch {
	case r["IsNumeric"] != nil:
		_, isNum := v.(float64)
		return isNum == r["IsNumeric"].(bool), nil
	case r["StringEquals"] != nil:
		return v == r["StringEquals"], nil
	case r["NumericLessThanEqualsPath"] != nil:
		other, ok := lookup(doc, r["NumericLessThanEqualsPath"].(string))
		if !ok {
			return false, fmt.Errorf("States.Runtime: %s is missing", r["NumericLessThanEqualsPath"])
		}
		a, aok := v.(float64)
		b, bok := other.(float64)
		if !aok || !bok {
			return false, fmt.Errorf("States.Runtime: %s or %s is not a number", variable, r["NumericLessThanEqualsPath"])
		}
		return a <= b, nil
	}
	return false, fmt.Errorf("operator not supported by this evaluator: %v", r)
}

// runChoices follows Choice states from start and returns the first
// non-Choice state reached.
func runChoices(t *testing.T, def definition, start string, doc any) (string, error) {
	t.Helper()
	name := start
	for range len(def.States) {
		s := def.States[name]
		if s.Type != "Choice" {
			return name, nil
		}
		next := s.Default
		for _, c := range s.Choices {
			ok, err := evalRule(doc, c)
			if err != nil {
				return "", fmt.Errorf("%s: %w", name, err)
			}
			if ok {
				next = c["Next"].(string)
				break
			}
		}
		require.NotEmpty(t, next, "%s: no rule matched and no Default", name)
		name = next
	}
	return "", fmt.Errorf("choices loop from %s", start)
}

// executionState builds the execution state the gate sees from the Go types
// the handlers return, so the test exercises the real JSON contract.
func executionState(t *testing.T, training pipeline.TrainStatus, maxErr float64) any {
	t.Helper()
	raw, err := json.Marshal(map[string]any{
		"dataset":  pipeline.Dataset{Bucket: "raw", Key: "raw/churn.csv"},
		"config":   config{MaxValidationError: maxErr},
		"training": training,
	})
	require.NoError(t, err)
	var doc any
	require.NoError(t, json.Unmarshal(raw, &doc))
	return doc
}

func TestQualityGate(t *testing.T) {
	def := loadPipeline(t)
	metric := func(v float64) *pipeline.MetricValue {
		return &pipeline.MetricValue{Name: "validation:error", Value: v}
	}
	done := func(m, live *pipeline.MetricValue) pipeline.TrainStatus {
		return pipeline.TrainStatus{Status: pipeline.Status{State: pipeline.StateSucceeded, Detail: "Completed"},
			ModelDataURL: "s3://artifacts/models/x/model.tar.gz", Metric: m, LiveMetric: live}
	}
	tests := []struct {
		name     string
		training pipeline.TrainStatus
		want     string
	}{
		{"first model under the threshold deploys", done(metric(0.1), nil), "StartDeployment"},
		{"metric equal to the threshold deploys", done(metric(0.25), nil), "StartDeployment"},
		{"metric over the threshold is rejected", done(metric(0.26), nil), "NotifyRejected"},
		{"better than the live model deploys", done(metric(0.1), metric(0.2)), "StartDeployment"},
		{"as good as the live model deploys", done(metric(0.2), metric(0.2)), "StartDeployment"},
		{"worse than the live model is rejected", done(metric(0.2), metric(0.1)), "NotifyRejected"},
		{"worse than live and over the threshold is rejected", done(metric(0.3), metric(0.1)), "NotifyRejected"},
		{"no metric is rejected", done(nil, metric(0.1)), "NotifyRejected"},
		{"no model artefact is rejected", pipeline.TrainStatus{Status: pipeline.Status{State: pipeline.StateSucceeded}, Metric: metric(0.1)}, "NotifyRejected"},
		{"still training polls again", pipeline.TrainStatus{Status: pipeline.Status{State: pipeline.StateRunning, Detail: "Training"}}, "WaitForTraining"},
		{"failed training notifies", pipeline.TrainStatus{Status: pipeline.Status{State: pipeline.StateFailed, Detail: "Failed", Reason: "AlgorithmError"}}, "TrainingFailed"},
		{"unknown state notifies", pipeline.TrainStatus{Status: pipeline.Status{State: "STOPPED"}}, "TrainingFailed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runChoices(t, def, "TrainingDone", executionState(t, tt.training, 0.25))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestPollingChoices(t *testing.T) {
	def := loadPipeline(t)
	tests := []struct {
		choice, root string
		state        pipeline.State
		want         string
	}{
		{"PrepareDone", "prepareStatus", pipeline.StateRunning, "WaitForPrepare"},
		{"PrepareDone", "prepareStatus", pipeline.StateSucceeded, "StartTraining"},
		{"PrepareDone", "prepareStatus", pipeline.StateFailed, "PrepareFailed"},
		{"DeploymentDone", "deployStatus", pipeline.StateRunning, "WaitForDeployment"},
		{"DeploymentDone", "deployStatus", pipeline.StateSucceeded, "NotifySuccess"},
		{"DeploymentDone", "deployStatus", pipeline.StateFailed, "DeploymentFailed"},
	}
	for _, tt := range tests {
		t.Run(tt.choice+"/"+string(tt.state), func(t *testing.T) {
			raw, err := json.Marshal(map[string]any{tt.root: pipeline.Status{State: tt.state, Detail: "x"}})
			require.NoError(t, err)
			var doc any
			require.NoError(t, json.Unmarshal(raw, &doc))
			got, err := runChoices(t, def, tt.choice, doc)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCheckInput(t *testing.T) {
	def := loadPipeline(t)
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"upload input", `{"dataset":{"bucket":"raw","key":"raw/a.csv","size":3},"trigger":"upload"}`, "LoadConfig"},
		{"no dataset", `{"trigger":"upload"}`, "InvalidInput"},
		{"dataset without key", `{"dataset":{"bucket":"raw"}}`, "InvalidInput"},
		{"empty input", `{}`, "InvalidInput"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc any
			require.NoError(t, json.Unmarshal([]byte(tt.input), &doc))
			got, err := runChoices(t, def, def.StartAt, doc)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
