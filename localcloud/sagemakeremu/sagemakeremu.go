// Package sagemakeremu is the local cloud's Amazon SageMaker: training jobs
// that really train SageMaker's built-in XGBoost (1.7-1) on the channels'
// S3 data with the same XGBoost version, models, endpoint configurations
// and endpoints served by long-lived local model servers, blue/green
// endpoint updates with alarm-driven auto-rollback, the runtime's
// InvokeEndpoint and data capture to S3 in SageMaker's JSON Lines shape.
//
// The control plane speaks AWS JSON 1.1 (X-Amz-Target "SageMaker.<Op>")
// and the runtime speaks REST-JSON (POST /endpoints/{name}/invocations),
// both signed with the service name "sagemaker", so the real SDK clients,
// boto3 and the CLI work against it. Every emulated wait (instance
// start-up, endpoint provisioning, bake periods, capture flushes) uses the
// injected clock; the training and the predictions themselves take what
// they take. Differences from AWS are listed in
// docs/localcloud-sagemaker.md.
package sagemakeremu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomlops/mlops/localcloud/awsmetrics"
	"github.com/gomlops/mlops/localcloud/awsproto"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/statefile"
)

// AlarmStates reads a CloudWatch alarm's state ("OK", "ALARM",
// "INSUFFICIENT_DATA"); the lead wires the CloudWatch emulator to it.
type AlarmStates interface {
	AlarmState(ctx context.Context, name string) (string, error)
}

// Timings are the emulated durations of SageMaker's own work, measured on
// the Clock. Zero fields take the defaults (close to what AWS takes).
type Timings struct {
	// TrainingStartup is the Starting phase of a training job (instances
	// launched). Default 1 minute.
	TrainingStartup time.Duration
	// EndpointProvision is how long a new fleet takes to become ready,
	// on top of the model server's real start-up. Default 2 minutes.
	EndpointProvision time.Duration
	// AlarmPoll is how often rollback alarms are read while a blue/green
	// update bakes. Default 10 seconds.
	AlarmPoll time.Duration
	// CaptureFlush is how often buffered capture records are written to
	// S3. Default 1 minute.
	CaptureFlush time.Duration
}

func (t Timings) withDefaults() Timings {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.TrainingStartup, time.Minute)
	def(&t.EndpointProvision, 2*time.Minute)
	def(&t.AlarmPoll, 10*time.Second)
	def(&t.CaptureFlush, time.Minute)
	return t
}

// Options configure a Service.
type Options struct {
	// StateDir is the local cloud's state directory; SageMaker keeps its
	// records and work files in StateDir/sagemaker.
	StateDir string
	// Clock measures every emulated wait (default clock.Real).
	Clock clock.Clock
	// Store reads the channels' data and model artefacts and writes
	// model.tar.gz and capture files (see NewS3Store).
	Store ObjectStore
	// Python runs the algorithm (default /usr/bin/python3, the interpreter
	// Debian's python3-xgboost is installed for).
	Python string
	// Alarms reads the rollback alarms of blue/green updates; nil means
	// no alarm ever fires.
	Alarms AlarmStates
	// Logger receives the jobs' and model servers' logs (default discard).
	Logger *slog.Logger
	// Region and AccountID build ARNs (defaults us-east-1, 123456789012).
	Region, AccountID string
	// Timings override the emulated durations.
	Timings Timings
	// Seed seeds variant selection and capture sampling (0: random).
	Seed uint64
	// Metrics receives the endpoint invocation metrics of every
	// InvokeEndpoint call (AWS/SageMaker); nil publishes nothing.
	Metrics awsmetrics.Sink
}

// Service is the SageMaker emulator. It is safe for concurrent use.
type Service struct {
	opts    Options
	timings Timings
	log     *slog.Logger
	dir     string
	algoDir string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	rnd       *rand.Rand
	jobs      map[string]*trainingJob
	models    map[string]*model
	configs   map[string]*endpointConfig
	endpoints map[string]*endpoint
	closed    bool

	capture *captureWriter
	ops     map[string]operation
}

// New opens (or creates) the SageMaker state under opts.StateDir. Training
// jobs that were running when the local cloud stopped are marked Failed;
// endpoints come back through Creating on the configuration they served.
func New(opts Options) (*Service, error) {
	if opts.StateDir == "" {
		return nil, errors.New("sagemakeremu: StateDir is required")
	}
	if opts.Store == nil {
		return nil, errors.New("sagemakeremu: Store is required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Python == "" {
		opts.Python = "/usr/bin/python3"
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	dir := filepath.Join(opts.StateDir, "sagemaker")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sagemakeremu: %w", err)
	}
	algoDir, err := writeAlgorithm(dir)
	if err != nil {
		return nil, fmt.Errorf("sagemakeremu: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		opts: opts, timings: opts.Timings.withDefaults(), log: opts.Logger, dir: dir, algoDir: algoDir,
		ctx: ctx, cancel: cancel,
		rnd:  rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		jobs: map[string]*trainingJob{}, models: map[string]*model{}, configs: map[string]*endpointConfig{}, endpoints: map[string]*endpoint{},
	}
	s.capture = newCaptureWriter(opts.Store, opts.Clock, s.log)
	s.ops = s.operations()
	if err := s.load(); err != nil {
		cancel()
		return nil, err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.capture.run(ctx, s.timings.CaptureFlush)
	}()
	s.resume()
	return s, nil
}

// Close stops every job and model server, flushes the capture buffers and
// saves the state. The Service cannot be used afterwards.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var fleets []*fleet
	for _, ep := range s.endpoints {
		fleets = append(fleets, ep.serving, ep.pending, ep.retiring)
		ep.gen++
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	for _, f := range fleets {
		f.stop()
	}
	flushCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ferr := s.capture.Flush(flushCtx)
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(ferr, s.saveLocked())
}

// Flush writes every buffered data capture record to S3 now.
func (s *Service) Flush(ctx context.Context) error { return s.capture.Flush(ctx) }

// go runs f as a background task of the service.
func (s *Service) goBackground(f func(ctx context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f(s.ctx)
	}()
}

// sleep waits d on the clock; false when ctx ended first.
func (s *Service) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-s.opts.Clock.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Service) now() time.Time { return s.opts.Clock.Now().UTC() }

func (s *Service) arn(kind, name string) string {
	return fmt.Sprintf("arn:aws:sagemaker:%s:%s:%s/%s", s.opts.Region, s.opts.AccountID, kind, lower(name))
}

// lower lower-cases ASCII: SageMaker ARNs carry resource names in lower case.
func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// ---- wire helpers ----

// Timestamp is an AWS JSON timestamp: epoch seconds as a JSON number.
type Timestamp struct{ time.Time }

// ts wraps t (nil for the zero time).
func ts(t time.Time) *Timestamp {
	if t.IsZero() {
		return nil
	}
	return &Timestamp{t}
}

// MarshalJSON writes epoch seconds with millisecond precision.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)), nil
}

// UnmarshalJSON reads epoch seconds.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC()
	return nil
}

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// ---- control plane ----

// Handler serves both APIs signed as "sagemaker": InvokeEndpoint
// (POST /endpoints/{name}/invocations) goes to RuntimeHandler, everything
// else (X-Amz-Target "SageMaker.<Op>") to ControlHandler.
func (s *Service) Handler() http.Handler {
	control, runtime := s.ControlHandler(), s.RuntimeHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/endpoints/") && r.Header.Get("X-Amz-Target") == "" {
			runtime.ServeHTTP(w, r)
			return
		}
		control.ServeHTTP(w, r)
	})
}

// ControlHandler serves the SageMaker control plane (AWS JSON 1.1, target
// prefix "SageMaker.").
func (s *Service) ControlHandler() http.Handler {
	return http.HandlerFunc(s.serveControl)
}

type operation func(ctx context.Context, r *http.Request) (any, error)

func (s *Service) operations() map[string]operation {
	return map[string]operation{
		"CreateTrainingJob":      decodeThen(s.CreateTrainingJob),
		"DescribeTrainingJob":    decodeThen(s.DescribeTrainingJob),
		"StopTrainingJob":        decodeThen(s.StopTrainingJob),
		"ListTrainingJobs":       decodeThen(s.ListTrainingJobs),
		"CreateModel":            decodeThen(s.CreateModel),
		"DescribeModel":          decodeThen(s.DescribeModel),
		"DeleteModel":            decodeThen(s.DeleteModel),
		"CreateEndpointConfig":   decodeThen(s.CreateEndpointConfig),
		"DescribeEndpointConfig": decodeThen(s.DescribeEndpointConfig),
		"DeleteEndpointConfig":   decodeThen(s.DeleteEndpointConfig),
		"CreateEndpoint":         decodeThen(s.CreateEndpoint),
		"DescribeEndpoint":       decodeThen(s.DescribeEndpoint),
		"UpdateEndpoint":         decodeThen(s.UpdateEndpoint),
		"DeleteEndpoint":         decodeThen(s.DeleteEndpoint),
		"ListEndpoints":          decodeThen(s.ListEndpoints),
	}
}

// decodeThen adapts a typed operation to the JSON protocol.
func decodeThen[In any, Out any](f func(context.Context, *In) (Out, error)) operation {
	return func(ctx context.Context, r *http.Request) (any, error) {
		in := new(In)
		if err := awsproto.DecodeJSON(r, in); err != nil {
			return nil, err
		}
		return f(ctx, in)
	}
}

func (s *Service) serveControl(w http.ResponseWriter, r *http.Request) {
	prefix, op, ok := awsproto.JSONTarget(r)
	if r.Method != http.MethodPost || !ok || prefix != "SageMaker" {
		awsproto.WriteJSONError(w, r, awsproto.UnknownOperation(op))
		return
	}
	f, ok := s.ops[op]
	if !ok {
		awsproto.WriteJSONError(w, r, awsproto.UnknownOperation(op))
		return
	}
	out, err := f(r.Context(), r)
	if err != nil {
		var apiErr *awsproto.Error
		if !errors.As(err, &apiErr) {
			s.log.ErrorContext(r.Context(), "sagemaker operation failed", "operation", op, "error", err)
		}
		awsproto.WriteJSONError(w, r, err)
		return
	}
	awsproto.WriteJSON(w, r, out)
}

// notFound is the answer of DescribeTrainingJob and friends for an unknown
// name.
func notFound() error { return awsproto.Validation("Requested resource not found.") }

// ---- persistence ----

type state struct {
	Jobs      map[string]*trainingJob    `json:"trainingJobs"`
	Models    map[string]*model          `json:"models"`
	Configs   map[string]*endpointConfig `json:"endpointConfigs"`
	Endpoints map[string]*endpoint       `json:"endpoints"`
}

func (s *Service) statePath() string { return filepath.Join(s.dir, "state.json") }

func (s *Service) load() error {
	var st state
	if _, err := statefile.Read(s.statePath(), &st); err != nil {
		return fmt.Errorf("sagemakeremu: stored state: %w", err)
	}
	for k, v := range st.Jobs {
		s.jobs[k] = v
	}
	for k, v := range st.Models {
		s.models[k] = v
	}
	for k, v := range st.Configs {
		s.configs[k] = v
	}
	for k, v := range st.Endpoints {
		s.endpoints[k] = v
	}
	return nil
}

// saveLocked writes the state; s.mu must be held. A failure is logged and
// returned: the in-memory state stays authoritative.
func (s *Service) saveLocked() error {
	if err := statefile.Write(s.statePath(), state{Jobs: s.jobs, Models: s.models, Configs: s.configs, Endpoints: s.endpoints}); err != nil {
		return fmt.Errorf("sagemakeremu: save state: %w", err)
	}
	return nil
}

func (s *Service) save() {
	if err := s.saveLocked(); err != nil {
		s.log.Error("save sagemaker state", "error", err)
	}
}

// resume settles what a previous run left in flight.
func (s *Service) resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, j := range s.jobs {
		if j.Status == statusInProgress || j.Status == statusStopping {
			j.fail(now, "InternalServerError: the local cloud stopped while the training job ran")
		}
	}
	for _, ep := range s.endpoints {
		switch ep.Status {
		case epFailed, epDeleting:
			continue
		}
		ep.PendingConfig = ""
		ep.Status = epCreating
		ep.LastModifiedTime = now
		s.startCreate(ep, false)
	}
	s.save()
}
