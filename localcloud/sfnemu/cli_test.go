package sfnemu

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAWSCLI drives the service with the real AWS CLI (dummy credentials,
// loopback endpoint): list-state-machines, start-execution,
// describe-execution and get-execution-history.
func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("the AWS CLI takes about a second per call")
	}
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the aws CLI is not installed")
	}
	svc, err := New(Options{Clock: clock.NewManual(t0)})
	require.NoError(t, err)
	defer svc.Close()
	srv := httptest.NewServer(svc)
	defer srv.Close()
	require.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"))
	smARN, _, err := svc.CreateStateMachine(CreateStateMachineInput{Name: "hello", Definition: passDef, RoleARN: role})
	require.NoError(t, err)

	home := t.TempDir()
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(awsPath, append([]string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--output", "json", "stepfunctions"}, args...)...)
		cmd.Env = append(cleanAWSEnv(),
			"AWS_ACCESS_KEY_ID=AKIDLOCAL", "AWS_SECRET_ACCESS_KEY=secret",
			"AWS_CONFIG_FILE="+home+"/config", "AWS_SHARED_CREDENTIALS_FILE="+home+"/credentials", "HOME="+home)
		out, err := cmd.Output()
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		require.NoError(t, err, "aws %v: %s", args, stderr)
		var v map[string]any
		require.NoError(t, json.Unmarshal(out, &v), "aws %v printed %s", args, out)
		return v
	}

	list := run("list-state-machines")
	machines := list["stateMachines"].([]any)
	require.Len(t, machines, 1)
	assert.Equal(t, smARN, machines[0].(map[string]any)["stateMachineArn"])

	started := run("start-execution", "--state-machine-arn", smARN, "--name", "cli-run", "--input", `{"who":"CLI"}`)
	execARN := started["executionArn"].(string)
	assert.Equal(t, "arn:aws:states:us-east-1:123456789012:execution:hello:cli-run", execARN)
	ctxDone := make(chan struct{})
	go func() { defer close(ctxDone); await(t, svc, execARN) }()
	select {
	case <-ctxDone:
	case <-time.After(10 * time.Second):
		t.Fatal("execution did not finish")
	}

	desc := run("describe-execution", "--execution-arn", execARN)
	assert.Equal(t, "SUCCEEDED", desc["status"])
	assert.JSONEq(t, `{"greeting":"Hello, CLI!"}`, desc["output"].(string))
	// CLI v1 prints timestamps as received (cli_timestamp_format "none"): epoch seconds.
	assert.EqualValues(t, t0.Unix(), desc["startDate"])

	hist := run("get-execution-history", "--execution-arn", execARN)
	events := hist["events"].([]any)
	var seen []string
	for _, e := range events {
		seen = append(seen, e.(map[string]any)["type"].(string))
	}
	assert.Equal(t, []string{"ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"}, seen)
	first := events[0].(map[string]any)
	assert.EqualValues(t, 1, first["id"])
	assert.Contains(t, first["executionStartedEventDetails"].(map[string]any)["input"], "CLI")
}

// cleanAWSEnv is the environment without AWS_* variables (profiles,
// tokens, endpoints) that could point the CLI elsewhere; AWS_CA_BUNDLE is
// kept.
func cleanAWSEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "AWS_CA_BUNDLE=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
