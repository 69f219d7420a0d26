package glueemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/syncbuf"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/endpoint"
	"github.com/gomlops/mlops/localcloud/s3emu"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// s3Scripts reads scripts through the real S3 client, as the local cloud's
// wiring does through the S3 emulator.
type s3Scripts struct{ client *s3.Client }

func (f s3Scripts) GetObject(ctx context.Context, bucket, key string) ([]byte, error) {
	out, err := f.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

type fixture struct {
	svc    *Service
	glue   *glue.Client
	s3     *s3.Client
	clock  *clock.Manual
	output *syncbuf.Buffer
}

// repoFile is a path from the repository root.
func repoFile(parts ...string) string {
	return filepath.Join(append([]string{"..", ".."}, parts...)...)
}

func credsConfig(url string) aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(url)}
}

const (
	prepareJob = "mlops-dev-prepare"
	sleepJob   = "sleeper"
	argvJob    = "argv"
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	dir := t.TempDir()
	clk := clock.NewManual(t0)
	store, err := s3emu.New(s3emu.Options{StateDir: dir, Clock: clk, Buckets: []s3emu.Bucket{{Name: "raw-bucket", Versioned: true}, {Name: "artifacts"}}})
	require.NoError(t, err)
	s3srv := httptest.NewServer(store)
	t.Cleanup(s3srv.Close)
	s3c := s3.NewFromConfig(credsConfig(s3srv.URL))

	script, err := os.ReadFile(repoFile("scripts", "prepare.py"))
	require.NoError(t, err)
	schema, err := os.ReadFile(repoFile("scripts", "schema.json"))
	require.NoError(t, err)
	put(t, s3c, "artifacts", "scripts/prepare.py", script)
	put(t, s3c, "artifacts", "scripts/sleep.py", []byte("import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n"))
	put(t, s3c, "artifacts", "scripts/boom.py", []byte("import sys\nprint('working')\nprint('a warning', file=sys.stderr)\nraise ValueError('boom: bad input')\n"))
	put(t, s3c, "artifacts", "scripts/argv.py", []byte("import json, os, sys\nprint(json.dumps({'argv': sys.argv[1:], 'endpoint': os.environ.get('AWS_ENDPOINT_URL'), 'key': os.environ.get('AWS_ACCESS_KEY_ID')}))\n"))

	out := &syncbuf.Buffer{}
	svc, err := New(Options{
		StateDir: dir, Clock: clk, Scripts: s3Scripts{s3c}, EndpointURL: s3srv.URL, Output: out,
		Jobs: []Job{
			{
				Name: prepareJob, Command: Command{Name: CommandPythonShell, ScriptLocation: "s3://artifacts/scripts/prepare.py", PythonVersion: "3.9"},
				Timeout: 60, MaxConcurrentRuns: 10, GlueVersion: "3.0", MaxCapacity: 1,
				DefaultArguments: map[string]string{"--job-language": "python", "--max_reject_ratio": "0.1", "--schema": strings.TrimSpace(string(schema))},
			},
			{Name: "boom", Command: Command{Name: CommandPythonShell, ScriptLocation: "s3://artifacts/scripts/boom.py"}},
			{Name: "noscript", Command: Command{Name: CommandPythonShell, ScriptLocation: "s3://artifacts/scripts/missing.py"}},
			{Name: sleepJob, Command: Command{Name: CommandPythonShell, ScriptLocation: "s3://artifacts/scripts/sleep.py"}, Timeout: 1},
			{
				Name: argvJob, Command: Command{Name: CommandPythonShell, ScriptLocation: "s3://artifacts/scripts/argv.py"}, MaxConcurrentRuns: 5,
				DefaultArguments: map[string]string{"--mode": "default", "--keep": "yes"},
			},
		},
	})
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	// Through the local endpoint's router: the SDK signs for "glue".
	router := endpoint.NewRouter(nil)
	router.Handle("glue", svc.Handler())
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return &fixture{svc: svc, glue: glue.NewFromConfig(credsConfig(srv.URL)), s3: s3c, clock: clk, output: out}
}

func put(t *testing.T, c *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	require.NoError(t, err)
}

func dataset(t *testing.T, mode string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "data.csv")
	cmd := exec.Command("python3", repoFile("scripts", "gen_dataset.py"), "--rows", "300", "--seed", "7", "--mode", mode, "--bad-share", "0.5", "--out", out)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Run())
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	return data
}

// waitState polls GetJobRun until the run reaches a state in want.
func (f *fixture) waitState(t *testing.T, job, id string, want ...string) *gluetypes.JobRun {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		out, err := f.glue.GetJobRun(context.Background(), &glue.GetJobRunInput{JobName: aws.String(job), RunId: aws.String(id)})
		require.NoError(t, err)
		for _, w := range want {
			if string(out.JobRun.JobRunState) == w {
				return out.JobRun
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s is %s, want one of %v; output:\n%s", id, out.JobRun.JobRunState, want, f.output.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *fixture) start(t *testing.T, job string, args map[string]string) string {
	t.Helper()
	out, err := f.glue.StartJobRun(context.Background(), &glue.StartJobRunInput{JobName: aws.String(job), Arguments: args})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(aws.ToString(out.JobRunId), "jr_"))
	return aws.ToString(out.JobRunId)
}

func TestPrepareScriptRuns(t *testing.T) {
	tests := []struct {
		name      string
		mode      string
		wantState gluetypes.JobRunState
		wantError string
		wantKeys  []string
	}{
		{
			name: "valid dataset succeeds and writes the prepared layout", mode: "train", wantState: gluetypes.JobRunStateSucceeded,
			wantKeys: []string{"train/train.csv", "validation/validation.csv", "baseline.json", "manifest.json", "quarantine/rejected.csv"},
		},
		{
			name: "bad dataset fails with the script's last stderr line", mode: "bad", wantState: gluetypes.JobRunStateFailed,
			wantError: "prepare: error:", wantKeys: []string{"manifest.json", "quarantine/rejected.csv"},
		},
	}
	f := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			execName := "exec-" + tt.mode
			put(t, f.s3, "raw-bucket", "raw/"+tt.mode+".csv", dataset(t, tt.mode))
			args := map[string]string{
				"--execution_name":   execName,
				"--input_uri":        "s3://raw-bucket/raw/" + tt.mode + ".csv",
				"--input_version_id": "",
				"--output_prefix":    "s3://artifacts/prepared/" + execName + "/",
			}
			id := f.start(t, prepareJob, args)
			run := f.waitState(t, prepareJob, id, string(tt.wantState))
			assert.Equal(t, args, run.Arguments, "a run reports its own arguments")
			assert.Equal(t, int32(60), aws.ToInt32(run.Timeout))
			require.NotNil(t, run.StartedOn)
			require.NotNil(t, run.CompletedOn)
			if tt.wantError == "" {
				assert.Empty(t, aws.ToString(run.ErrorMessage))
			} else {
				assert.True(t, strings.HasPrefix(aws.ToString(run.ErrorMessage), tt.wantError), "ErrorMessage %q", aws.ToString(run.ErrorMessage))
				assert.Contains(t, aws.ToString(run.ErrorMessage), "failed schema validation")
			}
			for _, k := range tt.wantKeys {
				_, err := f.s3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("prepared/" + execName + "/" + k)})
				assert.NoError(t, err, "object %s", k)
			}
			assert.Contains(t, f.output.String(), "glue "+prepareJob+" "+id+": ", "script output is streamed with a prefix")
		})
	}
	// The baseline written through the local S3 is the contract's shape.
	obj, err := f.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("prepared/exec-train/baseline.json")})
	require.NoError(t, err)
	var baseline struct {
		Version  int    `json:"version"`
		Label    string `json:"label"`
		RowCount int    `json:"rowCount"`
		Features []struct {
			Name string `json:"name"`
		} `json:"features"`
	}
	require.NoError(t, json.NewDecoder(obj.Body).Decode(&baseline))
	assert.Equal(t, 1, baseline.Version)
	assert.Equal(t, "churned", baseline.Label)
	assert.Len(t, baseline.Features, 4)
	assert.Positive(t, baseline.RowCount)
}

func TestScriptArgumentsAndEnvironment(t *testing.T) {
	f := newFixture(t)
	id := f.start(t, argvJob, map[string]string{"--mode": "run", "--execution_name": "e1", "--input_version_id": ""})
	f.waitState(t, argvJob, id, "SUCCEEDED")
	prefix := "glue " + argvJob + " " + id + ": "
	var line string
	for _, l := range strings.Split(f.output.String(), "\n") {
		if strings.HasPrefix(l, prefix+"{") {
			line = strings.TrimPrefix(l, prefix)
		}
	}
	require.NotEmpty(t, line, "output: %s", f.output.String())
	var got struct {
		Argv     []string `json:"argv"`
		Endpoint string   `json:"endpoint"`
		Key      string   `json:"key"`
	}
	require.NoError(t, json.Unmarshal([]byte(line), &got))
	assert.Equal(t, []string{
		"--job-bookmark-option", "job-bookmark-disable", "--scriptLocation", "s3://artifacts/scripts/argv.py", "--job-language", "python",
		"--execution_name", "e1", "--input_version_id", "--keep", "yes", "--mode", "run",
	}, got.Argv, "Glue's own arguments, then the defaults overridden by the run's, an empty value as a bare flag")
	assert.NotEmpty(t, got.Endpoint)
	assert.Equal(t, "test", got.Key, "scripts get dummy credentials, never the caller's")
}

func TestTimeoutStopAndConcurrency(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	t.Run("a run past the job's Timeout ends TIMEOUT", func(t *testing.T) {
		id := f.start(t, sleepJob, nil)
		f.waitState(t, sleepJob, id, "RUNNING")
		f.clock.Advance(61 * time.Minute)
		run := f.waitState(t, sleepJob, id, "TIMEOUT")
		assert.Contains(t, aws.ToString(run.ErrorMessage), "timed out")
		assert.Equal(t, int32(61*60), run.ExecutionTime)
	})

	t.Run("a second concurrent run is refused, a stopped run frees the slot", func(t *testing.T) {
		id := f.start(t, sleepJob, nil)
		f.waitState(t, sleepJob, id, "RUNNING")
		_, err := f.glue.StartJobRun(ctx, &glue.StartJobRunInput{JobName: aws.String(sleepJob)})
		var exceeded *gluetypes.ConcurrentRunsExceededException
		require.ErrorAs(t, err, &exceeded)
		assert.Equal(t, "Concurrent runs exceeded for "+sleepJob, exceeded.ErrorMessage())

		stop, err := f.glue.BatchStopJobRun(ctx, &glue.BatchStopJobRunInput{JobName: aws.String(sleepJob), JobRunIds: []string{id, "jr_missing"}})
		require.NoError(t, err)
		require.Len(t, stop.SuccessfulSubmissions, 1)
		assert.Equal(t, id, aws.ToString(stop.SuccessfulSubmissions[0].JobRunId))
		require.Len(t, stop.Errors, 1)
		assert.Equal(t, "EntityNotFoundException", aws.ToString(stop.Errors[0].ErrorDetail.ErrorCode))
		f.waitState(t, sleepJob, id, "STOPPED")

		next := f.start(t, sleepJob, nil)
		f.waitState(t, sleepJob, next, "RUNNING")
	})
}

func TestGetJobRunsNewestFirstPaged(t *testing.T) {
	f := newFixture(t)
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, f.start(t, argvJob, nil))
		f.clock.Advance(time.Second)
	}
	for _, id := range ids {
		f.waitState(t, argvJob, id, "SUCCEEDED")
	}
	p := glue.NewGetJobRunsPaginator(f.glue, &glue.GetJobRunsInput{JobName: aws.String(argvJob), MaxResults: aws.Int32(2)})
	var got []string
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		require.NoError(t, err)
		pages++
		for _, r := range page.JobRuns {
			got = append(got, aws.ToString(r.Id))
		}
	}
	assert.Equal(t, 3, pages)
	assert.Equal(t, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}, got)
}

func TestUnknownJobsAndRuns(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{"StartJobRun of an unknown job", func() error {
			_, err := f.glue.StartJobRun(ctx, &glue.StartJobRunInput{JobName: aws.String("nope")})
			return err
		}},
		{"GetJob of an unknown job", func() error {
			_, err := f.glue.GetJob(ctx, &glue.GetJobInput{JobName: aws.String("nope")})
			return err
		}},
		{"GetJobRun of an unknown run", func() error {
			_, err := f.glue.GetJobRun(ctx, &glue.GetJobRunInput{JobName: aws.String(argvJob), RunId: aws.String("jr_0")})
			return err
		}},
		{"GetJobRuns of an unknown job", func() error {
			_, err := f.glue.GetJobRuns(ctx, &glue.GetJobRunsInput{JobName: aws.String("nope")})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var nf *gluetypes.EntityNotFoundException
			require.ErrorAs(t, tt.call(), &nf)
		})
	}

	t.Run("GetJob answers the job definition", func(t *testing.T) {
		out, err := f.glue.GetJob(ctx, &glue.GetJobInput{JobName: aws.String(prepareJob)})
		require.NoError(t, err)
		assert.Equal(t, "pythonshell", aws.ToString(out.Job.Command.Name))
		assert.Equal(t, "s3://artifacts/scripts/prepare.py", aws.ToString(out.Job.Command.ScriptLocation))
		assert.Equal(t, int32(10), out.Job.ExecutionProperty.MaxConcurrentRuns)
		assert.Equal(t, int32(60), aws.ToInt32(out.Job.Timeout))
		assert.Equal(t, "0.1", out.Job.DefaultArguments["--max_reject_ratio"])
	})
}

func TestRunsSurviveRestartAndInFlightRunsFail(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewManual(t0)
	job := Job{Name: "j", Command: Command{Name: CommandPythonShell, ScriptLocation: "s3://b/s.py"}}
	svc, err := New(Options{StateDir: dir, Clock: clk, Jobs: []Job{job}, Output: io.Discard})
	require.NoError(t, err)
	// No S3 is wired: the run fails with a clear message.
	id, err := svc.StartJobRun(context.Background(), "j", map[string]string{"--x": "1"}, 0)
	require.NoError(t, err)
	svc.Wait()
	run, err := svc.JobRun("j", id)
	require.NoError(t, err)
	assert.Equal(t, StateFailed, run.State)
	assert.Contains(t, run.ErrorMessage, "no S3")

	// A run recorded as RUNNING when the local cloud stopped is FAILED.
	svc.mu.Lock()
	svc.runs[id].State = StateRunning
	require.NoError(t, svc.saveLocked())
	svc.mu.Unlock()
	svc.Close()

	again, err := New(Options{StateDir: dir, Clock: clk, Jobs: []Job{job}, Output: io.Discard})
	require.NoError(t, err)
	run, err = again.JobRun("j", id)
	require.NoError(t, err)
	assert.Equal(t, StateFailed, run.State)
	assert.Contains(t, run.ErrorMessage, "stopped while the job run was in progress")
	assert.Equal(t, map[string]string{"--x": "1"}, run.Arguments)
}

func TestRegisterJobRejectsBadDefinitions(t *testing.T) {
	tests := []struct {
		name string
		job  Job
		want string
	}{
		{"unknown command", Job{Name: "a", Command: Command{Name: "spark", ScriptLocation: "s3://b/k.py"}}, "Command.Name"},
		{"script not in S3", Job{Name: "a", Command: Command{Name: CommandPythonShell, ScriptLocation: "/tmp/x.py"}}, "ScriptLocation"},
		{"empty name", Job{Command: Command{Name: CommandPythonShell, ScriptLocation: "s3://b/k.py"}}, "job name"},
		{"negative timeout", Job{Name: "a", Timeout: -1, Command: Command{Name: CommandPythonShell, ScriptLocation: "s3://b/k.py"}}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{StateDir: t.TempDir(), Jobs: []Job{tt.job}})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestUnknownOperation(t *testing.T) {
	f := newFixture(t)
	_, err := f.glue.CreateJob(context.Background(), &glue.CreateJobInput{Name: aws.String("x"), Role: aws.String("r"), Command: &gluetypes.JobCommand{Name: aws.String("pythonshell")}})
	require.Error(t, err)
	var api interface{ ErrorCode() string }
	require.True(t, errors.As(err, &api))
	assert.Equal(t, "UnknownOperationException", api.ErrorCode())
}

func TestFailedRunsReportWhy(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, job, want string
	}{
		{"an uncaught exception: the traceback's last line", "boom", "ValueError: boom: bad input"},
		{"the script is not in S3", "noscript", "read script s3://artifacts/scripts/missing.py"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := f.start(t, tt.job, nil)
			run := f.waitState(t, tt.job, id, "FAILED")
			assert.Contains(t, aws.ToString(run.ErrorMessage), tt.want)
		})
	}
}
