// Package glueemu is the local cloud's AWS Glue: the template's jobs, whose
// runs execute the job's script on this machine.
//
// A run of a Python shell job (Command.Name "pythonshell") fetches the script
// from its S3 ScriptLocation through a small consumer interface, and runs it
// with `python3 script.py` and Glue's "--key value" arguments: the job's
// DefaultArguments merged with the run's Arguments, plus the arguments Glue
// itself passes to a script (--job-bookmark-option, --scriptLocation,
// --job-language; an empty value is a bare flag). The script's
// environment points AWS_ENDPOINT_URL at the local cloud with dummy
// credentials, so its boto3 reads and writes the local S3. Runs go through
// STARTING, RUNNING and end SUCCEEDED, FAILED (ErrorMessage = the script's
// last stderr line, as Glue reports a Python shell failure), TIMEOUT (the
// job's Timeout minutes on the injected clock) or STOPPED (BatchStopJobRun);
// MaxConcurrentRuns is enforced with Glue's ConcurrentRunsExceededException.
//
// The API is AWS JSON 1.1 with target prefix AWSGlue.: GetJob, GetJobs,
// ListJobs, StartJobRun, GetJobRun, GetJobRuns (newest first, paged) and
// BatchStopJobRun. Runs are kept in StateDir/glue/runs.json and survive a
// restart; a run that was in flight when the local cloud stopped is FAILED
// on the next start, since its process is gone.
package glueemu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/gomlops/mlops/localcloud/awsproto"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/statefile"
)

// ScriptSource reads a job's script from S3 (the local S3 emulator, wired
// by the local cloud).
type ScriptSource interface {
	GetObject(ctx context.Context, bucket, key string) ([]byte, error)
}

// Command types of a Glue job.
const (
	CommandPythonShell = "pythonshell"
	CommandGlueETL     = "glueetl"
)

// Glue's defaults for a job that does not set them.
const (
	// DefaultTimeoutMinutes is Glue's default job timeout (48 hours).
	DefaultTimeoutMinutes = 2880
	// DefaultMaxConcurrentRuns is ExecutionProperty.MaxConcurrentRuns's default.
	DefaultMaxConcurrentRuns = 1
)

// Job run states.
const (
	StateStarting  = "STARTING"
	StateRunning   = "RUNNING"
	StateStopping  = "STOPPING"
	StateStopped   = "STOPPED"
	StateSucceeded = "SUCCEEDED"
	StateFailed    = "FAILED"
	StateTimeout   = "TIMEOUT"
)

// Command is a job's JobCommand.
type Command struct {
	// Name is "pythonshell" or "glueetl".
	Name string `json:"Name"`
	// ScriptLocation is the s3:// URI of the script.
	ScriptLocation string `json:"ScriptLocation"`
	// PythonVersion is "3" or "3.9" (informational: runs use python3).
	PythonVersion string `json:"PythonVersion,omitempty"`
}

// Job is a job definition, with the fields of AWS::Glue::Job the local
// cloud uses.
type Job struct {
	Name             string            `json:"Name"`
	Description      string            `json:"Description,omitempty"`
	Role             string            `json:"Role,omitempty"`
	Command          Command           `json:"Command"`
	DefaultArguments map[string]string `json:"DefaultArguments,omitempty"`
	// Timeout is in minutes (0: DefaultTimeoutMinutes).
	Timeout int `json:"Timeout,omitempty"`
	// MaxConcurrentRuns is ExecutionProperty.MaxConcurrentRuns (0:
	// DefaultMaxConcurrentRuns).
	MaxConcurrentRuns int     `json:"MaxConcurrentRuns,omitempty"`
	MaxRetries        int     `json:"MaxRetries,omitempty"`
	GlueVersion       string  `json:"GlueVersion,omitempty"`
	MaxCapacity       float64 `json:"MaxCapacity,omitempty"`
}

// Run is one job run as Glue reports it.
type Run struct {
	ID             string            `json:"Id"`
	JobName        string            `json:"JobName"`
	State          string            `json:"JobRunState"`
	Arguments      map[string]string `json:"Arguments,omitempty"`
	ErrorMessage   string            `json:"ErrorMessage,omitempty"`
	StartedOn      time.Time         `json:"StartedOn"`
	LastModifiedOn time.Time         `json:"LastModifiedOn"`
	CompletedOn    time.Time         `json:"CompletedOn,omitzero"`
	// ExecutionTime is the run's duration in seconds.
	ExecutionTime int `json:"ExecutionTime"`
	// Timeout is the run's timeout in minutes.
	Timeout int `json:"Timeout"`
	// Seq orders runs of equal StartedOn (the clock may stand still).
	Seq int64 `json:"Seq"`
}

// terminal reports whether the run has ended.
func (r *Run) terminal() bool {
	switch r.State {
	case StateSucceeded, StateFailed, StateTimeout, StateStopped:
		return true
	}
	return false
}

// Options configure a Service.
type Options struct {
	// StateDir holds runs (StateDir/glue/runs.json) and run work
	// directories (StateDir/glue/work).
	StateDir string
	// Clock drives timestamps and job timeouts.
	Clock clock.Clock
	// Region and AccountID (defaults us-east-1, 123456789012).
	Region, AccountID string
	// Jobs are the template's jobs.
	Jobs []Job
	// Scripts fetches scripts from S3. Runs fail with a clear message
	// when it is nil.
	Scripts ScriptSource
	// EndpointURL is the local cloud's endpoint, given to scripts as
	// AWS_ENDPOINT_URL.
	EndpointURL string
	// Python is the interpreter (default "python3").
	Python string
	// Output receives every line the scripts print, prefixed with
	// "glue <job> <run id>: " (default os.Stderr).
	Output io.Writer
	// Logger receives the service's own problems (default: discard).
	Logger *slog.Logger
}

// Service is the Glue emulator. It is safe for concurrent use.
type Service struct {
	opts   Options
	logger *slog.Logger
	path   string

	outMu sync.Mutex // serialises lines written to opts.Output

	mu    sync.Mutex
	jobs  map[string]Job
	runs  map[string]*Run
	live  map[string]*liveRun
	seq   int64
	wg    sync.WaitGroup
	close chan struct{}
}

var jobNameRE = regexp.MustCompile(`^[\x20-\x7e]{1,255}$`)

// New loads stored runs, registers opts.Jobs and returns the service.
func New(opts Options) (*Service, error) {
	if opts.StateDir == "" {
		return nil, errors.New("glueemu: StateDir is required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.Python == "" {
		opts.Python = "python3"
	}
	if opts.Output == nil {
		opts.Output = os.Stderr
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(opts.StateDir, "glue")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("glueemu: %w", err)
	}
	s := &Service{
		opts: opts, logger: logger, path: filepath.Join(dir, "runs.json"),
		jobs: map[string]Job{}, runs: map[string]*Run{}, live: map[string]*liveRun{}, close: make(chan struct{}),
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	for _, j := range opts.Jobs {
		if err := s.RegisterJob(j); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// load reads stored runs; runs that were in flight are FAILED.
func (s *Service) load() error {
	var runs []*Run
	if _, err := statefile.Read(s.path, &runs); err != nil {
		return fmt.Errorf("glueemu: stored runs: %w", err)
	}
	now := s.opts.Clock.Now()
	changed := false
	for _, r := range runs {
		if !r.terminal() {
			r.State = StateFailed
			r.ErrorMessage = "the local cloud stopped while the job run was in progress"
			r.CompletedOn = now
			r.LastModifiedOn = now
			changed = true
		}
		s.runs[r.ID] = r
		if r.Seq > s.seq {
			s.seq = r.Seq
		}
	}
	if changed {
		return s.saveLocked()
	}
	return nil
}

// saveLocked writes every run; s.mu must be held (or the service not yet
// shared).
func (s *Service) saveLocked() error {
	runs := make([]*Run, 0, len(s.runs))
	for _, r := range s.runs {
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Seq < runs[j].Seq })
	if err := statefile.Write(s.path, runs); err != nil {
		return fmt.Errorf("glueemu: save runs: %w", err)
	}
	return nil
}

// RegisterJob adds or replaces a job definition.
func (s *Service) RegisterJob(j Job) error {
	if !jobNameRE.MatchString(j.Name) {
		return fmt.Errorf("glueemu: job name %q must be 1 to 255 printable characters", j.Name)
	}
	switch j.Command.Name {
	case CommandPythonShell, CommandGlueETL:
	default:
		return fmt.Errorf("glueemu: job %q: Command.Name %q is not %q or %q", j.Name, j.Command.Name, CommandPythonShell, CommandGlueETL)
	}
	if _, _, err := splitS3URI(j.Command.ScriptLocation); err != nil {
		return fmt.Errorf("glueemu: job %q: Command.ScriptLocation: %w", j.Name, err)
	}
	if j.Timeout < 0 || j.MaxConcurrentRuns < 0 {
		return fmt.Errorf("glueemu: job %q: Timeout and MaxConcurrentRuns must not be negative", j.Name)
	}
	if j.Timeout == 0 {
		j.Timeout = DefaultTimeoutMinutes
	}
	if j.MaxConcurrentRuns == 0 {
		j.MaxConcurrentRuns = DefaultMaxConcurrentRuns
	}
	s.mu.Lock()
	s.jobs[j.Name] = j
	s.mu.Unlock()
	return nil
}

// Job returns a job definition.
func (s *Service) Job(name string) (Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[name]
	if !ok {
		return Job{}, entityNotFound("Job %s not found", name)
	}
	return j, nil
}

// Jobs returns every job definition, sorted by name.
func (s *Service) Jobs() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Job, 0, len(s.jobs))
	for _, j := range s.jobs {
		out = append(out, j)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Name < out[k].Name })
	return out
}

// JobRun returns a copy of one run.
func (s *Service) JobRun(jobName, runID string) (Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.jobs[jobName]; !ok {
		return Run{}, entityNotFound("Job %s not found", jobName)
	}
	r, ok := s.runs[runID]
	if !ok || r.JobName != jobName {
		return Run{}, entityNotFound("Job Run Id %s not found for job %s", runID, jobName)
	}
	return s.viewLocked(r), nil
}

// JobRuns returns the job's runs, newest first.
func (s *Service) JobRuns(jobName string) ([]Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.jobs[jobName]; !ok {
		return nil, entityNotFound("Job %s not found", jobName)
	}
	var out []Run
	for _, r := range s.runs {
		if r.JobName == jobName {
			out = append(out, s.viewLocked(r))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartedOn.Equal(out[j].StartedOn) {
			return out[i].StartedOn.After(out[j].StartedOn)
		}
		return out[i].Seq > out[j].Seq
	})
	return out, nil
}

// viewLocked copies a run, with ExecutionTime up to now for a live run.
func (s *Service) viewLocked(r *Run) Run {
	v := *r
	v.Arguments = make(map[string]string, len(r.Arguments))
	for k, a := range r.Arguments {
		v.Arguments[k] = a
	}
	if !r.terminal() {
		v.ExecutionTime = seconds(s.opts.Clock.Now().Sub(r.StartedOn))
	}
	return v
}

func seconds(d time.Duration) int {
	if d < 0 {
		return 0
	}
	return int(d / time.Second)
}

// Close stops every run in flight (they end STOPPED) and waits for them.
func (s *Service) Close() {
	s.mu.Lock()
	select {
	case <-s.close:
	default:
		close(s.close)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Wait blocks until no run is in flight.
func (s *Service) Wait() { s.wg.Wait() }

// newRunID returns a Glue-shaped run id: "jr_" and 64 hex digits.
func newRunID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "jr_" + hex.EncodeToString(b[:])
}

func entityNotFound(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "EntityNotFoundException", format, args...)
}

func invalidInput(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidInputException", format, args...)
}

// splitS3URI splits s3://bucket/key.
func splitS3URI(uri string) (bucket, key string, err error) {
	const scheme = "s3://"
	if len(uri) <= len(scheme) || uri[:len(scheme)] != scheme {
		return "", "", fmt.Errorf("%q is not an s3:// URI", uri)
	}
	rest := uri[len(scheme):]
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			bucket, key = rest[:i], rest[i+1:]
			break
		}
	}
	if bucket == "" || key == "" || key[len(key)-1] == '/' {
		return "", "", fmt.Errorf("%q does not name an S3 object", uri)
	}
	return bucket, key, nil
}
