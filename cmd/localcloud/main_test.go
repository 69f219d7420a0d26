package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/syncbuf"
)

var stateDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "localcloud-cmd-test-")
	if err != nil {
		panic(err)
	}
	stateDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is the goroutine-safe sink the tests capture output in.
type syncBuffer = syncbuf.Buffer

func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr syncBuffer
	c := &cli{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr}
	code := c.main(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

var testTemplate = filepath.Join("testdata", "template.yaml")

func TestInvoke(t *testing.T) {
	tests := []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		wantEvent  string
		wantStdout string
		wantStderr string
	}{
		{name: "event file after the function", args: []string{"invoke", "EchoFunction", "-e", "testdata/event.json"}, wantEvent: `{"from":"file"}`},
		{name: "event on stdin, flags first", stdin: `{"from":"stdin"}`, args: []string{"invoke", "-e", "-", "echo"}, wantEvent: `{"from":"stdin"}`},
		{name: "no event is {}; functions talk to the local cloud endpoint", args: []string{"invoke", "EchoFunction"}, wantEvent: `{}`, wantStdout: `"AWS_ENDPOINT_URL":"http://127.0.0.1:4566"`},
		{name: "what is not emulated is said", args: []string{"invoke", "EchoFunction"}, wantEvent: `{}`, wantStderr: "[localcloud-ProxyFunction] warning: resource ProxyFunction property Layers: layers are not mounted"},
		{name: "env-vars file", args: []string{"invoke", "EchoFunction", "--env-vars", "testdata/env.json"}, wantEvent: `{}`, wantStdout: `"GREETING":"from env-vars"`, wantStderr: "NOT_DECLARED is not in EchoFunction's Environment"},
		{name: "env-vars for an unknown function", args: []string{"invoke", "EchoFunction", "--env-vars", "testdata/env-bad.json"}, wantCode: 1, wantStderr: `"Nope" is neither a function of the template nor "Parameters"`},
		{name: "endpoint flag", args: []string{"invoke", "EchoFunction", "--endpoint-url", "http://127.0.0.1:9999"}, wantEvent: `{}`, wantStdout: `"AWS_ENDPOINT_URL":"http://127.0.0.1:9999"`},
		{name: "parameter override reaches the environment", args: []string{"invoke", "EchoFunction", "--parameter-overrides", "Greeting=bonjour"}, wantEvent: `{}`, wantStdout: `"GREETING":"bonjour"`},
		{name: "function error exits 1 and prints the error document", args: []string{"invoke", "FailFunction"}, wantCode: 1, wantStdout: `"errorType":"PermanentError"`, wantStderr: "FailFunction failed: PermanentError"},
		{name: "unknown function", args: []string{"invoke", "Nope"}, wantCode: 1, wantStderr: `no function "Nope" in the template (functions: EchoFunction, FailFunction, ProxyFunction)`},
		{name: "malformed event", stdin: `{"a":`, args: []string{"invoke", "EchoFunction", "-e", "-"}, wantCode: 1, wantStderr: "Could not parse request body into json"},
		{name: "missing event file", args: []string{"invoke", "EchoFunction", "-e", "nope.json"}, wantCode: 1, wantStderr: "read event: open nope.json"},
		{name: "no function", args: []string{"invoke"}, wantCode: 1, wantStderr: "want exactly one function"},
		{name: "unknown parameter", args: []string{"invoke", "EchoFunction", "--parameter-overrides", "Nope=1"}, wantCode: 1, wantStderr: `parameter override "Nope": the template declares no such parameter`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.args, "--template", testTemplate, "--state-dir", stateDir)
			code, stdout, stderr := run(t, tt.stdin, args...)
			assert.Equal(t, tt.wantCode, code, "stderr: %s", stderr)
			if tt.wantEvent != "" {
				var r struct{ Event json.RawMessage }
				require.NoError(t, json.Unmarshal([]byte(stdout), &r), "stdout: %s", stdout)
				assert.JSONEq(t, tt.wantEvent, string(r.Event))
			}
			assert.Contains(t, stdout, tt.wantStdout)
			assert.Contains(t, stderr, tt.wantStderr)
		})
	}
}

func TestInvokeMissingTemplate(t *testing.T) {
	code, _, stderr := run(t, "", "invoke", "X", "--template", "nope.yaml")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "template nope.yaml not found: run in the application's directory or pass --template")
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{"invoke", "start-lambda", "start-api"} {
		t.Run(cmd, func(t *testing.T) {
			code, _, stderr := run(t, "", cmd, "--help")
			assert.Equal(t, 0, code)
			assert.Contains(t, stderr, "Usage: localcloud "+cmd)
			assert.Contains(t, stderr, "-parameter-overrides")
		})
	}
	code, _, stderr := run(t, "", "bogus")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `unknown command "bogus"`)
	assert.Contains(t, stderr, "start-lambda")
}

// startServer runs a start-* command until the test ends and returns its
// address.
func startServer(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	logs := &syncBuffer{}
	c := &cli{stdin: strings.NewReader(""), stdout: logs, stderr: logs, ready: func(a string) { addr <- a }}
	done := make(chan int, 1)
	go func() {
		done <- c.main(ctx, append(args, "--port", "0", "--template", testTemplate, "--state-dir", stateDir))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			assert.Equal(t, 0, code, "server exit; logs:\n%s", logs.String())
		case <-time.After(15 * time.Second):
			t.Error("server did not stop")
		}
	})
	select {
	case a := <-addr:
		return a, logs
	case code := <-done:
		t.Fatalf("server exited with %d:\n%s", code, logs.String())
	case <-time.After(120 * time.Second):
		t.Fatalf("server did not start:\n%s", logs.String())
	}
	return "", nil
}

func TestStartLambdaWithTheAWSCLI(t *testing.T) {
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("MLOPS_REQUIRE_MOTO") == "1" {
			t.Fatal("the AWS CLI (aws) is not on PATH")
		}
		t.Skip("the AWS CLI is not installed")
	}
	addr, logs := startServer(t, "start-lambda")
	dir := t.TempDir()
	cliEnv := append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION=us-east-1", "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true")
	awsRun := func(args ...string) (string, error) {
		cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", "http://" + addr}, args...)...)
		cmd.Env = cliEnv
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// --cli-binary-format raw-in-base64-out makes CLI v2 send --payload
	// as is; CLI v1 (installed here) always does and rejects the flag.
	binaryFormat := []string{"--cli-binary-format", "raw-in-base64-out"}
	if v, _ := awsRun("--version"); strings.HasPrefix(v, "aws-cli/1.") {
		binaryFormat = nil
	}

	tests := []struct {
		name        string
		args        []string
		wantMeta    string
		wantPayload string
		wantErr     string
	}{
		{name: "request response", args: []string{"--function-name", "echo", "--payload", `{"via":"cli"}`}, wantMeta: `"StatusCode": 200`, wantPayload: `"event":{"via":"cli"}`},
		{name: "by ARN", args: []string{"--function-name", "arn:aws:lambda:us-east-1:123456789012:function:echo", "--payload", `{}`}, wantMeta: `"ExecutedVersion": "$LATEST"`, wantPayload: `"functionArn":"arn:aws:lambda:us-east-1:123456789012:function:echo"`},
		{name: "function error", args: []string{"--function-name", "localcloud-FailFunction", "--payload", `{}`}, wantMeta: `"FunctionError": "Unhandled"`, wantPayload: `"errorType":"PermanentError"`},
		{name: "event invocation", args: []string{"--function-name", "echo", "--invocation-type", "Event", "--payload", `{}`}, wantMeta: `"StatusCode": 202`},
		{name: "unknown function", args: []string{"--function-name", "nope", "--payload", `{}`}, wantErr: "ResourceNotFoundException"},
		{name: "malformed payload", args: []string{"--function-name", "echo", "--payload", `{"a":`}, wantErr: "InvalidRequestContentException"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outFile := filepath.Join(dir, "out"+string(rune('a'+i))+".json")
			args := append(append(append([]string{"lambda", "invoke"}, tt.args...), binaryFormat...), outFile)
			meta, err := awsRun(args...)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, meta, tt.wantErr)
				return
			}
			require.NoError(t, err, "aws: %s\nserver logs:\n%s", meta, logs.String())
			assert.Contains(t, meta, tt.wantMeta)
			payload, err := os.ReadFile(outFile)
			require.NoError(t, err)
			assert.Contains(t, string(payload), tt.wantPayload)
		})
	}
}

func TestStartLambdaReadOperationsWithTheAWSCLI(t *testing.T) {
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("MLOPS_REQUIRE_MOTO") == "1" {
			t.Fatal("the AWS CLI (aws) is not on PATH")
		}
		t.Skip("the AWS CLI is not installed")
	}
	addr, _ := startServer(t, "start-lambda")
	cmd := exec.Command(awsCLI, "--endpoint-url", "http://"+addr, "lambda", "get-function", "--function-name", "echo")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION=us-east-1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), `"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:echo"`)
	assert.Contains(t, string(out), `"GREETING": "hi"`)
}

func TestStartAPI(t *testing.T) {
	addr, logs := startServer(t, "start-api")
	resp, err := http.Get("http://" + addr + "/hello/ann?x=1&x=2")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, 200, resp.StatusCode, "body: %s\nlogs:\n%s", body, logs.String())
	assert.JSONEq(t, `{"name":"ann","query":{"x":["1","2"]},"body":"","base64":false,"stage":"Prod"}`, string(body))
	assert.Equal(t, []string{"1", "2"}, resp.Header.Values("X-Seen"))
	assert.Contains(t, logs.String(), "GET     /hello/{name} -> localcloud-ProxyFunction (REST API)")

	resp, err = http.Get("http://" + addr + "/nope")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 403, resp.StatusCode)
}

// TestSAMInitApplicationAsIs runs the application `sam init` generates for
// Go, unchanged: its own go.mod under CodeUri, BuildMethod go1.x, the
// implicit ServerlessRestApi and role.
func TestSAMInitApplicationAsIs(t *testing.T) {
	tpl := filepath.Join("testdata", "hello-app", "template.yaml")
	code, stdout, stderr := run(t, `{"httpMethod":"GET","path":"/hello","requestContext":{"identity":{"sourceIp":"198.51.100.7"}}}`,
		"invoke", "HelloWorldFunction", "-e", "-", "--template", tpl, "--state-dir", stateDir)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	assert.JSONEq(t, `{"statusCode":200,"headers":null,"multiValueHeaders":null,"body":"Hello, 198.51.100.7 (PARAM1=VALUE)"}`, strings.TrimSpace(stdout))

	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	logs := &syncBuffer{}
	c := &cli{stdin: strings.NewReader(""), stdout: logs, stderr: logs, ready: func(a string) { addr <- a }}
	done := make(chan int, 1)
	go func() {
		done <- c.main(ctx, []string{"start-api", "--port", "0", "--template", tpl, "--state-dir", stateDir})
	}()
	defer func() {
		cancel()
		assert.Equal(t, 0, <-done)
	}()
	var a string
	select {
	case a = <-addr:
	case <-time.After(120 * time.Second):
		t.Fatalf("start-api did not start:\n%s", logs.String())
	}
	resp, err := http.Get("http://" + a + "/hello")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "Hello, 127.0.0.1 (PARAM1=VALUE)", string(body))
}
