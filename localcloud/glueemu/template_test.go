package glueemu

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/samtemplate"
)

func TestJobFromTheTemplate(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml", samtemplate.Options{StackName: "mlops-dev"})
	require.NoError(t, err)
	var jobs []Job
	for id, r := range tpl.Resources {
		if r.Type == "AWS::Glue::Job" {
			j, err := JobFromTemplate(tpl.PhysicalName(id), r.Properties)
			require.NoError(t, err, id)
			jobs = append(jobs, j)
		}
	}
	require.Len(t, jobs, 1)
	j := jobs[0]
	assert.Equal(t, CommandPythonShell, j.Command.Name)
	assert.Regexp(t, `^s3://[a-z0-9.-]+/scripts/prepare\.py$`, j.Command.ScriptLocation)
	assert.Equal(t, 60, j.Timeout)
	assert.Equal(t, 10, j.MaxConcurrentRuns)
	assert.Equal(t, 1.0, j.MaxCapacity)
	assert.Contains(t, j.DefaultArguments, "--schema")

	svc, err := New(Options{StateDir: t.TempDir(), Jobs: jobs})
	require.NoError(t, err, "the template's job registers as is")
	got, err := svc.Job(j.Name)
	require.NoError(t, err)
	assert.Equal(t, j, got)
}

func TestJobFromTemplateRejectsBadNumbers(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]any
		want  string
	}{
		{"timeout not a number", map[string]any{"Timeout": "soon"}, "wrong type"},
		{"fractional concurrency", map[string]any{"ExecutionProperty": map[string]any{"MaxConcurrentRuns": 1.5}}, "MaxConcurrentRuns"},
		{"command not an object", map[string]any{"Command": "pythonshell"}, "wrong type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := JobFromTemplate("j", tt.props)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
