package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestServeCommandsRefuseBadStarts checks that start-api and start-lambda,
// which begin the same way (commonFlags.open), refuse what they cannot
// serve before listening.
func TestServeCommandsRefuseBadStarts(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{name: "positional argument", args: []string{"extra", "--template", testTemplate}, wantStderr: `unexpected arguments ["extra"]`},
		{name: "missing template", args: []string{"--template", "nope.yaml"}, wantStderr: "template nope.yaml not found"},
		{name: "unknown parameter", args: []string{"--template", testTemplate, "--parameter-overrides", "Nope=1"}, wantStderr: `parameter override "Nope": the template declares no such parameter`},
		{name: "unknown flag", args: []string{"--nope"}, wantStderr: "flag provided but not defined: -nope"},
	}
	for _, cmd := range []string{"start-api", "start-lambda"} {
		for _, tt := range tests {
			t.Run(cmd+"/"+tt.name, func(t *testing.T) {
				args := append([]string{cmd, "--port", "0", "--state-dir", stateDir}, tt.args...)
				code, _, stderr := run(t, "", args...)
				assert.NotEqual(t, 0, code)
				assert.Contains(t, stderr, tt.wantStderr)
				assert.NotContains(t, stderr, " on http://", "nothing is served")
			})
		}
	}
}
