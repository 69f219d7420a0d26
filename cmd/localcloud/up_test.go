package main

import (
	"context"
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

// TestUpWithTheAWSCLI starts `localcloud up`, follows the instructions it
// prints (the exports) with the AWS CLI, and stops it as Ctrl-C does.
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
		done <- c.main(ctx, []string{"up", "--template", stackTemplate, "--state-dir", t.TempDir(), "--port", "0", "--api-port", "0", "--speed", "10"})
	}()
	select {
	case <-ready:
	case code := <-done:
		t.Fatalf("up exited with %d:\n%s", code, stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("up did not start:\n%s", stderr.String())
	}

	banner := stdout.String()
	for _, want := range []string{"AWS endpoint:", "API:", "GET     /signed/{name} -> proxy", "Differences from AWS", "No IAM", "Press Ctrl-C"} {
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
		{"demo: no template in dir", []string{"demo", "--dir", os.TempDir()}, 1, "no template.yaml"},
		{"demo: bad speed", []string{"demo", "--speed", "-1"}, 1, "--speed must be positive"},
		{"up: help", []string{"up", "--help"}, 0, "Usage: localcloud up"},
		{"demo: help", []string{"demo", "--help"}, 0, "Usage: localcloud demo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, "", tt.args...)
			assert.Equal(t, tt.code, code, stderr)
			assert.Contains(t, stderr, tt.want)
		})
	}
}
