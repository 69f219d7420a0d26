package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stackTemplate uses every service the local cloud wires.
var stackTemplate = filepath.Join("..", "..", "localcloud", "stack", "testdata", "template.yaml")

// stackMockConfig mocks its state machine's Echo state (test case Mocked).
var stackMockConfig = filepath.Join("..", "..", "localcloud", "stack", "testdata", "mockconfig.json")

// TestUpWithTheAWSCLI starts `localcloud up` with a fault file and a
// MockConfigFile, follows the instructions it prints (the exports, the
// control API) with the AWS CLI and plain HTTP, and stops it as Ctrl-C
// does.
func TestUpWithTheAWSCLI(t *testing.T) {
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("MLOPS_REQUIRE_MOTO") == "1" {
			t.Fatal("the AWS CLI (aws) is not on PATH")
		}
		t.Skip("the AWS CLI is not installed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	ready := make(chan string, 1)
	c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, ready: func(a string) { ready <- a }}
	done := make(chan int, 1)
	go func() {
		done <- c.main(ctx, []string{"up", "--template", stackTemplate, "--state-dir", t.TempDir(), "--port", "0", "--api-port", "0", "--speed", "10",
			"--faults", filepath.Join("testdata", "faults.json"), "--mock-config", stackMockConfig})
	}()
	select {
	case <-ready:
	case code := <-done:
		t.Fatalf("up exited with %d:\n%s", code, stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("up did not start:\n%s", stderr.String())
	}

	banner := stdout.String()
	for _, want := range []string{"AWS endpoint:", "API:", "GET     /signed/{name} -> proxy", "Differences from AWS", "No IAM", "Press Ctrl-C",
		"Faults:        1 rule(s) from testdata/faults.json", "slow-get-job: latency glue/GetJob", "Fault control: http://127.0.0.1:",
		"Step Functions mocks: " + stackMockConfig, "machine: test cases Mocked"} {
		assert.Contains(t, banner, want)
	}
	env := append(os.Environ(), "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true")
	for _, m := range regexp.MustCompile(`(?m)^  export (\w+=\S+)$`).FindAllStringSubmatch(banner, -1) {
		env = append(env, m[1])
	}
	require.Len(t, env, len(os.Environ())+2+5, "five exports:\n%s", banner)
	aws := func(args ...string) string {
		cmd := exec.Command(awsCLI, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "aws %s: %s", strings.Join(args, " "), out)
		return string(out)
	}
	assert.Contains(t, aws("s3", "ls"), "uploads")
	assert.Contains(t, aws("sts", "get-caller-identity"), "123456789012")
	assert.Contains(t, aws("stepfunctions", "list-state-machines"), "machine")
	assert.Contains(t, aws("glue", "get-job", "--job-name", "job"), "s3://artifacts/scripts/job.py")
	assert.Contains(t, aws("cloudwatch", "describe-alarms"), "echo-errors")

	// The control API the banner points at, through the AWS endpoint.
	control := regexp.MustCompile(`Fault control: (\S+)`).FindStringSubmatch(banner)
	require.Len(t, control, 2, banner)
	resp, err := http.Get(control[1])
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Contains(t, string(body), `"matched":1`, "the CLI's GetJob went through the fault: %s", body)
	// A mocked test case, chosen the Step Functions Local way.
	started := aws("stepfunctions", "start-execution", "--state-machine-arn", "arn:aws:states:us-east-1:123456789012:stateMachine:machine#Mocked")
	execARN := regexp.MustCompile(`"executionArn": "([^"]+)"`).FindStringSubmatch(started)
	require.Len(t, execARN, 2, started)
	var described string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if described = aws("stepfunctions", "describe-execution", "--execution-arn", execARN[1]); !strings.Contains(described, "RUNNING") {
			break
		}
	}
	assert.Contains(t, described, "SUCCEEDED")
	assert.Contains(t, described, `{\"mocked\":true}`, "the mocked response, not the function's")

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("up did not stop")
	}
	assert.Contains(t, stderr.String(), "stopping")
}

func TestUpAndDemoFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"up: bad speed", []string{"up", "--template", stackTemplate, "--speed", "0"}, 1, "--speed must be positive"},
		{"up: bad overrides", []string{"up", "--template", stackTemplate, "--parameter-overrides", "novalue"}, 1, "parameter-overrides"},
		{"up: missing template", []string{"up", "--template", "nope.yaml", "--port", "0"}, 1, "nope.yaml"},
		{"up: positional argument", []string{"up", "extra"}, 1, "unexpected arguments"},
		{"up: missing fault file", []string{"up", "--template", stackTemplate, "--faults", "nope-faults.json"}, 1, "--faults nope-faults.json"},
		{"up: invalid fault file", []string{"up", "--template", stackTemplate, "--faults", "testdata/faults-bad.json"}, 1, `testdata/faults-bad.json: faults[0]: fault "": action "explode"`},
		{"up: fault file is not JSON", []string{"up", "--template", stackTemplate, "--faults", "testdata/event.json"}, 1, "testdata/event.json"},
		{"up: missing mock config", []string{"up", "--template", stackTemplate, "--mock-config", "nope-mocks.json"}, 1, "--mock-config nope-mocks.json"},
		{"up: invalid mock config", []string{"up", "--template", stackTemplate, "--mock-config", "testdata/mockconfig-bad.json"}, 1, `mockconfig-bad.json: StateMachines.machine.TestCases.Mocked.Echo: mocked response "Missing"`},
		{"up: mock test case without a mock config", []string{"up", "--template", stackTemplate, "--mock-test-case", "Mocked"}, 1, "--mock-test-case Mocked needs --mock-config"},
		{"up: mock test case nobody has", []string{"up", "--template", stackTemplate, "--mock-config", stackMockConfig, "--mock-test-case", "Nope", "--port", "0", "--api-port", "0", "--state-dir", "TEMPDIR"}, 1, `--mock-config ` + stackMockConfig + `: mock config: no state machine`},
		{"demo: no template in dir", []string{"demo", "--dir", os.TempDir()}, 1, "no template.yaml"},
		{"demo: bad speed", []string{"demo", "--speed", "-1"}, 1, "--speed must be positive"},
		{"up: help", []string{"up", "--help"}, 0, "Usage: localcloud up"},
		{"demo: help", []string{"demo", "--help"}, 0, "Usage: localcloud demo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, a := range tt.args {
				if a == "TEMPDIR" {
					tt.args[i] = t.TempDir()
				}
			}
			code, _, stderr := run(t, "", tt.args...)
			assert.Equal(t, tt.code, code, stderr)
			assert.Contains(t, stderr, tt.want)
		})
	}
}
