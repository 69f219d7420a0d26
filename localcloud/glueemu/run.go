package glueemu

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gomlops/mlops/localcloud/awsproto"
)

// liveRun is the in-memory side of a run in flight.
type liveRun struct {
	stop     chan struct{}
	stopOnce sync.Once
}

func (l *liveRun) requestStop() { l.stopOnce.Do(func() { close(l.stop) }) }

// maxErrorMessage bounds a run's ErrorMessage.
const maxErrorMessage = 2048

// StartJobRun starts a run of the job with the run's arguments (merged over
// the job's DefaultArguments) and returns its id. timeoutMinutes > 0
// overrides the job's Timeout for this run.
func (s *Service) StartJobRun(ctx context.Context, jobName string, args map[string]string, timeoutMinutes int) (string, error) {
	if timeoutMinutes < 0 {
		return "", invalidInput("Timeout must be a positive number of minutes")
	}
	for k := range args {
		if k == "" {
			return "", invalidInput("argument names must not be empty")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.close:
		return "", awsproto.Errorf(http.StatusServiceUnavailable, "InternalServiceException", "the local Glue service is shutting down")
	default:
	}
	job, ok := s.jobs[jobName]
	if !ok {
		return "", entityNotFound("Failed to start job run due to missing metadata: job %s not found", jobName)
	}
	active := 0
	for _, r := range s.runs {
		if r.JobName == jobName && !r.terminal() {
			active++
		}
	}
	if active >= job.MaxConcurrentRuns {
		return "", awsproto.Errorf(http.StatusBadRequest, "ConcurrentRunsExceededException", "Concurrent runs exceeded for %s", jobName)
	}
	now := s.opts.Clock.Now()
	timeout := job.Timeout
	if timeoutMinutes > 0 {
		timeout = timeoutMinutes
	}
	s.seq++
	run := &Run{
		ID: newRunID(), JobName: jobName, State: StateStarting, Arguments: copyArgs(args),
		StartedOn: now, LastModifiedOn: now, Timeout: timeout, Seq: s.seq,
	}
	s.runs[run.ID] = run
	if err := s.saveLocked(); err != nil {
		delete(s.runs, run.ID)
		s.logger.Error("save glue runs", "error", err)
		return "", awsproto.Internal()
	}
	live := &liveRun{stop: make(chan struct{})}
	s.live[run.ID] = live
	argv := s.scriptArgs(job, run)
	s.wg.Add(1)
	go s.execute(job, run.ID, argv, time.Duration(timeout)*time.Minute, live)
	return run.ID, nil
}

func copyArgs(args map[string]string) map[string]string {
	out := make(map[string]string, len(args))
	for k, v := range args {
		out[k] = v
	}
	return out
}

// scriptArgs returns the script's argv after the script path, as a Glue
// Python shell script receives it: the arguments Glue adds unless the job
// or run sets them (--job-bookmark-option, --scriptLocation,
// --job-language), then the job's DefaultArguments overridden by the run's
// Arguments, in name order. An argument with an empty value is passed as
// a bare flag, as Glue does ("--enable-metrics"). A sys.argv recorded on
// Glue shows no --JOB_ID, --JOB_RUN_ID or --JOB_NAME for Python shell
// jobs, so none are added.
func (s *Service) scriptArgs(job Job, run *Run) []string {
	merged := map[string]string{}
	for k, v := range job.DefaultArguments {
		merged[k] = v
	}
	for k, v := range run.Arguments {
		merged[k] = v
	}
	glueArgs := []struct{ k, v string }{
		{"--job-bookmark-option", "job-bookmark-disable"},
		{"--scriptLocation", job.Command.ScriptLocation},
		{"--job-language", "python"},
	}
	var out []string
	for _, a := range glueArgs {
		if _, ok := merged[a.k]; !ok {
			out = append(out, a.k, a.v)
		}
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := k
		if !strings.HasPrefix(name, "--") {
			name = "--" + strings.TrimLeft(name, "-")
		}
		out = append(out, name)
		if merged[k] != "" {
			out = append(out, merged[k])
		}
	}
	return out
}

// scriptLocation is where the run's script lives: --scriptLocation overrides
// the job's Command.ScriptLocation, as in Glue.
func scriptLocation(job Job, argv []string) string {
	loc := job.Command.ScriptLocation
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] == "--scriptLocation" && !strings.HasPrefix(argv[i+1], "--") {
			loc = argv[i+1]
		}
	}
	return loc
}

// outcome is how a run ended.
type outcome struct {
	state   string
	message string
}

// execute runs one job run to its end. It owns the run's process.
func (s *Service) execute(job Job, runID string, argv []string, timeout time.Duration, live *liveRun) {
	defer s.wg.Done()
	timedOut := s.opts.Clock.After(timeout)
	started := s.opts.Clock.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	out := s.runScript(ctx, cancel, job, runID, argv, timeout, timedOut, live)

	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live, runID)
	r := s.runs[runID]
	now := s.opts.Clock.Now()
	r.State = out.state
	r.ErrorMessage = out.message
	r.CompletedOn = now
	r.LastModifiedOn = now
	r.ExecutionTime = seconds(now.Sub(started))
	if err := s.saveLocked(); err != nil {
		s.logger.Error("save glue runs", "run", runID, "error", err)
	}
}

// runScript fetches and runs the script and reports how the run ended.
func (s *Service) runScript(ctx context.Context, cancel context.CancelFunc, job Job, runID string, argv []string,
	timeout time.Duration, timedOut <-chan time.Time, live *liveRun) outcome {
	loc := scriptLocation(job, argv)
	bucket, key, err := splitS3URI(loc)
	if err != nil {
		return outcome{StateFailed, "script location: " + err.Error()}
	}
	if s.opts.Scripts == nil {
		return outcome{StateFailed, "the local cloud has no S3 wired to fetch the script " + loc}
	}
	fetched := make(chan error, 1)
	var script []byte
	go func() {
		var err error
		script, err = s.opts.Scripts.GetObject(ctx, bucket, key)
		fetched <- err
	}()
	select {
	case err := <-fetched:
		if err != nil {
			return outcome{StateFailed, fmt.Sprintf("read script %s: %v", loc, err)}
		}
	case <-live.stop:
		cancel()
		<-fetched
		return outcome{StateStopped, ""}
	case <-s.close:
		cancel()
		<-fetched
		return outcome{StateStopped, ""}
	case <-timedOut:
		cancel()
		<-fetched
		return outcome{StateTimeout, timeoutMessage(timeout)}
	}

	work := filepath.Join(s.opts.StateDir, "glue", "work", runID)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return outcome{StateFailed, "prepare the run's directory: " + err.Error()}
	}
	defer os.RemoveAll(work)
	scriptPath := filepath.Join(work, path.Base(key))
	if err := os.WriteFile(scriptPath, script, 0o644); err != nil {
		return outcome{StateFailed, "write the script: " + err.Error()}
	}

	cmd := exec.CommandContext(ctx, s.opts.Python, append([]string{scriptPath}, argv...)...)
	cmd.Dir = work
	cmd.Env = s.scriptEnv(work)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return outcome{StateFailed, "start the script: " + err.Error()}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return outcome{StateFailed, "start the script: " + err.Error()}
	}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return outcome{StateFailed, fmt.Sprintf("start %s: %v", s.opts.Python, err)}
	}
	s.setState(runID, StateRunning)

	prefix := fmt.Sprintf("glue %s %s: ", job.Name, runID)
	var streams sync.WaitGroup
	tail := &lastLine{}
	streams.Add(2)
	go func() { defer streams.Done(); s.stream(stdout, prefix, nil) }()
	go func() { defer streams.Done(); s.stream(stderr, prefix, tail) }()
	done := make(chan error, 1)
	go func() {
		streams.Wait()
		done <- cmd.Wait()
	}()

	select {
	case err := <-done:
		if err == nil {
			return outcome{StateSucceeded, ""}
		}
		return outcome{StateFailed, failureMessage(err, tail.get())}
	case <-live.stop:
		s.setState(runID, StateStopping)
		cancel()
		<-done
		return outcome{StateStopped, ""}
	case <-s.close:
		cancel()
		<-done
		return outcome{StateStopped, ""}
	case <-timedOut:
		cancel()
		<-done
		return outcome{StateTimeout, timeoutMessage(timeout)}
	}
}

func timeoutMessage(timeout time.Duration) string {
	return fmt.Sprintf("Job run timed out after %d minutes (the job's Timeout)", int(timeout/time.Minute))
}

// failureMessage is a failed run's ErrorMessage: like Glue for a Python
// shell job, the script's last line on stderr (a traceback's exception
// line, or the script's own error line).
func failureMessage(err error, last string) string {
	if last != "" {
		if len(last) > maxErrorMessage {
			last = last[:maxErrorMessage]
		}
		return last
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Sprintf("Command failed with exit code %d", exit.ExitCode())
	}
	return "the script failed: " + err.Error()
}

func (s *Service) setState(runID, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.runs[runID]; r != nil && !r.terminal() && r.State != StateStopping {
		r.State = state
		r.LastModifiedOn = s.opts.Clock.Now()
		if err := s.saveLocked(); err != nil {
			s.logger.Error("save glue runs", "run", runID, "error", err)
		}
	}
}

// scriptEnv is the script's environment: the local cloud's, without any
// AWS_ setting of the caller, plus the local endpoint and dummy
// credentials so boto3 talks to the local cloud and nowhere else.
func (s *Service) scriptEnv(work string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION="+s.opts.Region,
		"AWS_DEFAULT_REGION="+s.opts.Region,
		"AWS_EC2_METADATA_DISABLED=true",
		"PYTHONUNBUFFERED=1",
		"TMPDIR="+work,
	)
	if s.opts.EndpointURL != "" {
		env = append(env, "AWS_ENDPOINT_URL="+s.opts.EndpointURL)
	}
	return env
}

// lastLine keeps the last non-empty line written to a stream.
type lastLine struct {
	mu   sync.Mutex
	line string
}

func (l *lastLine) set(s string) {
	l.mu.Lock()
	l.line = s
	l.mu.Unlock()
}

func (l *lastLine) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.line
}

// stream copies r to the output line by line with prefix, and records the
// last non-empty line in tail.
func (s *Service) stream(r io.Reader, prefix string, tail *lastLine) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if tail != nil && strings.TrimSpace(line) != "" {
			tail.set(strings.TrimSpace(line))
		}
		s.outMu.Lock()
		_, _ = io.WriteString(s.opts.Output, prefix+line+"\n")
		s.outMu.Unlock()
	}
	// A line longer than the buffer: drain the rest so the script never
	// blocks on a full pipe.
	_, _ = io.Copy(io.Discard, r)
}

// StopResult is one entry of BatchStopJobRun's answer.
type StopResult struct {
	RunID     string
	ErrorCode string
	Message   string
}

// BatchStopJobRun stops runs in flight; each id gets a result, an error
// code for unknown or finished runs.
func (s *Service) BatchStopJobRun(jobName string, runIDs []string) ([]StopResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.jobs[jobName]; !ok {
		return nil, entityNotFound("Job %s not found", jobName)
	}
	out := make([]StopResult, 0, len(runIDs))
	for _, id := range runIDs {
		r, ok := s.runs[id]
		switch {
		case !ok || r.JobName != jobName:
			out = append(out, StopResult{RunID: id, ErrorCode: "EntityNotFoundException", Message: fmt.Sprintf("Job Run Id %s not found for job %s", id, jobName)})
		case r.terminal():
			out = append(out, StopResult{RunID: id, ErrorCode: "InvalidInputException", Message: fmt.Sprintf("Job run %s is already %s", id, r.State)})
		default:
			if l := s.live[id]; l != nil {
				l.requestStop()
			}
			r.State = StateStopping
			r.LastModifiedOn = s.opts.Clock.Now()
			out = append(out, StopResult{RunID: id})
		}
	}
	if err := s.saveLocked(); err != nil {
		s.logger.Error("save glue runs", "error", err)
	}
	return out, nil
}
