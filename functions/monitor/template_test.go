package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/cfnyaml"
)

// resource returns a resource's Properties from template.yaml.
func resource(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	tpl, err := cfnyaml.Decode(data)
	require.NoError(t, err)
	r, ok := tpl["Resources"].(map[string]any)[name].(map[string]any)
	require.True(t, ok, "template.yaml has no resource %s", name)
	return r["Properties"].(map[string]any)
}

// TestTemplateAgreesWithTheMonitor keeps the monitoring section and the
// code in step: the function gets exactly the contract's environment, runs
// on the schedule, and the drift alarm watches the metric the monitor emits,
// in the namespace and with the dimension it emits it with.
func TestTemplateAgreesWithTheMonitor(t *testing.T) {
	fn := resource(t, "MonitorFunction")
	env := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
	assert.ElementsMatch(t, []string{"ENDPOINT_NAME", "ARTIFACTS_BUCKET"}, keys(env))
	schedule := fn["Events"].(map[string]any)["Schedule"].(map[string]any)
	assert.Equal(t, "Schedule", schedule["Type"])
	assert.Equal(t, map[string]any{"Ref": "MonitorSchedule"}, schedule["Properties"].(map[string]any)["Schedule"])
	onFailure := fn["EventInvokeConfig"].(map[string]any)["DestinationConfig"].(map[string]any)["OnFailure"].(map[string]any)
	assert.Equal(t, map[string]any{"Fn::GetAtt": []any{"MonitoringDLQ", "Arn"}}, onFailure["Destination"])

	alarm := resource(t, "DriftAlarm")
	assert.Equal(t, MetricDriftScore, alarm["MetricName"])
	assert.Equal(t, map[string]any{"Fn::Sub": "MLOps/${Environment}"}, alarm["Namespace"], "the Globals METRICS_NAMESPACE")
	assert.Equal(t, []any{map[string]any{"Name": DimensionEndpoint, "Value": map[string]any{"Ref": "EndpointName"}}}, alarm["Dimensions"])
	assert.Equal(t, "notBreaching", alarm["TreatMissingData"], "no data is not drift")
	assert.Equal(t, map[string]any{"Ref": "DriftDatapointsToAlarm"}, alarm["DatapointsToAlarm"])
	assert.Equal(t, map[string]any{"Ref": "DriftEvaluationPeriods"}, alarm["EvaluationPeriods"])
	assert.Equal(t, map[string]any{"Ref": "DriftThreshold"}, alarm["Threshold"])
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
