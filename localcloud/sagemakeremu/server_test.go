package sagemakeremu

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartServerFailures(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
		return p
	}
	tests := []struct {
		name    string
		python  string
		wantErr string
	}{
		{name: "interpreter missing", python: filepath.Join(dir, "nope"), wantErr: "cannot import xgboost (install the Debian package python3-xgboost"},
		{name: "xgboost missing", python: script("no-xgboost", `echo "ModuleNotFoundError: No module named 'xgboost'" >&2; exit 1`), wantErr: "cannot import xgboost (install the Debian package python3-xgboost"},
		{name: "model does not load", python: script("bad-model", `echo "cannot load the model: bad magic" >&2; exit 2`), wantErr: "model server did not start: cannot load the model: bad magic"},
		{name: "bad port line", python: script("bad-port", `echo "hello"; exit 0`), wantErr: "model server did not start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{opts: Options{Python: tt.python}, log: slog.New(slog.DiscardHandler), algoDir: dir}
			srv, err := s.startServer(context.Background(), "ep", "AllTraffic", dir)
			assert.Nil(t, srv)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// TestAlgorithmScripts runs train.py's and serve.py's own unittest tests
// with the interpreter the emulator uses.
func TestAlgorithmScripts(t *testing.T) {
	requirePython(t)
	cmd := exec.Command(python, "-B", "-m", "unittest", "-q", "test_train", "test_serve")
	cmd.Dir = "algo"
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "OK")
}

func TestHandlerRoutesBothAPIs(t *testing.T) {
	h := newHarness(t, nil)
	srv := httptest.NewServer(h.svc.Handler())
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1}
	_, err := sagemaker.NewFromConfig(cfg).DescribeEndpoint(context.Background(), &sagemaker.DescribeEndpointInput{EndpointName: aws.String("nope")})
	requireAPIError(t, err, "ValidationException", "Could not find endpoint")
	_, err = sagemakerruntime.NewFromConfig(cfg).InvokeEndpoint(context.Background(), &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("nope"), Body: []byte("1")})
	requireAPIError(t, err, "ValidationError", "Endpoint nope of account 123456789012 not found.")
}
