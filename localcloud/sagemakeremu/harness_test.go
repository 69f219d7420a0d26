package sagemakeremu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/s3emu"
	"github.com/gomlops/mlops/shared/images"
)

const (
	testBucket = "artifacts"
	testRole   = "arn:aws:iam::123456789012:role/sagemaker-exec"
	python     = "/usr/bin/python3"
)

// fakeAlarms is a hand-written AlarmStates whose states the test sets.
type fakeAlarms struct {
	mu     sync.Mutex
	states map[string]string
	reads  map[string]int
}

func (f *fakeAlarms) AlarmState(_ context.Context, name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads[name]++
	st, ok := f.states[name]
	if !ok {
		return "", fmt.Errorf("alarm %q does not exist", name)
	}
	return st, nil
}

func (f *fakeAlarms) set(name, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states[name] = state
}

// harness is a SageMaker emulator behind httptest servers, over the
// local cloud's real S3 emulator, with the real SDK clients.
type harness struct {
	svc     *Service
	sm      *sagemaker.Client
	rt      *sagemakerruntime.Client
	s3      *s3.Client
	alarms  *fakeAlarms
	image   string
	opts    Options
	current atomic.Pointer[Service]
	control *httptest.Server
	runtime *httptest.Server
}

func requirePython(t testing.TB) {
	t.Helper()
	if out, err := exec.Command(python, "-c", "import xgboost").CombinedOutput(); err != nil {
		t.Fatalf("%s cannot import xgboost: install python3-xgboost (apt-get install -y python3-xgboost): %v: %s", python, err, out)
	}
}

func newHarness(t testing.TB, tweak func(*Options)) *harness {
	t.Helper()
	dir := t.TempDir()
	s3svc, err := s3emu.New(s3emu.Options{StateDir: dir, Buckets: []s3emu.Bucket{{Name: testBucket}}})
	require.NoError(t, err)
	s3srv := httptest.NewServer(s3svc)
	t.Cleanup(s3srv.Close)
	cfg := func(url string) aws.Config {
		return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), BaseEndpoint: aws.String(url), RetryMaxAttempts: 1}
	}
	s3c := s3.NewFromConfig(cfg(s3srv.URL))
	alarms := &fakeAlarms{states: map[string]string{}, reads: map[string]int{}}
	opts := Options{
		StateDir: dir,
		Store:    NewS3Store(s3c),
		Python:   python,
		Alarms:   alarms,
		Timings:  Timings{TrainingStartup: 20 * time.Millisecond, EndpointProvision: 20 * time.Millisecond, AlarmPoll: 20 * time.Millisecond, CaptureFlush: time.Hour},
		Seed:     42,
	}
	if tweak != nil {
		tweak(&opts)
	}
	svc, err := New(opts)
	require.NoError(t, err)
	h := &harness{s3: s3c, alarms: alarms, opts: opts}
	h.use(svc)
	h.control = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.current.Load().ControlHandler().ServeHTTP(w, r)
	}))
	h.runtime = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.current.Load().RuntimeHandler().ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		h.control.Close()
		h.runtime.Close()
		require.NoError(t, h.current.Load().Close())
	})
	h.sm = sagemaker.NewFromConfig(cfg(h.control.URL))
	h.rt = sagemakerruntime.NewFromConfig(cfg(h.runtime.URL))
	h.image, err = images.XGBoost("us-east-1")
	require.NoError(t, err)
	return h
}

// use serves svc from now on (after a restart).
func (h *harness) use(svc *Service) {
	h.svc = svc
	h.current.Store(svc)
}

func (h *harness) put(t testing.TB, key, body string) {
	t.Helper()
	_, err := h.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Body: strings.NewReader(body)})
	require.NoError(t, err)
}

func (h *harness) get(t testing.TB, key string) []byte {
	t.Helper()
	out, err := h.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
	require.NoError(t, err)
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	return data
}

func (h *harness) list(t testing.TB, prefix string) []string {
	t.Helper()
	keys, err := h.opts.Store.List(context.Background(), testBucket, prefix)
	require.NoError(t, err)
	return keys
}

// trainingInput is the request functions/train sends.
func (h *harness) trainingInput(name, execution string) *sagemaker.CreateTrainingJobInput {
	channel := func(channelName, uri string) smtypes.Channel {
		return smtypes.Channel{
			ChannelName: aws.String(channelName),
			ContentType: aws.String("text/csv"),
			DataSource: &smtypes.DataSource{S3DataSource: &smtypes.S3DataSource{
				S3DataType: smtypes.S3DataTypeS3Prefix, S3Uri: aws.String(uri), S3DataDistributionType: smtypes.S3DataDistributionFullyReplicated,
			}},
		}
	}
	prefix := "s3://" + testBucket + "/prepared/" + execution + "/"
	return &sagemaker.CreateTrainingJobInput{
		TrainingJobName:        aws.String(name),
		AlgorithmSpecification: &smtypes.AlgorithmSpecification{TrainingImage: aws.String(h.image), TrainingInputMode: smtypes.TrainingInputModeFile},
		RoleArn:                aws.String(testRole),
		HyperParameters:        map[string]string{"objective": "binary:logistic", "eval_metric": "error", "num_round": "20", "max_depth": "3"},
		InputDataConfig:        []smtypes.Channel{channel("train", prefix+"train/"), channel("validation", prefix+"validation/")},
		OutputDataConfig:       &smtypes.OutputDataConfig{S3OutputPath: aws.String("s3://" + testBucket + "/models/" + execution + "/"), KmsKeyId: aws.String("arn:aws:kms:us-east-1:123456789012:key/abc")},
		ResourceConfig:         &smtypes.ResourceConfig{InstanceType: smtypes.TrainingInstanceTypeMlM5Large, InstanceCount: aws.Int32(1), VolumeSizeInGB: aws.Int32(10)},
		StoppingCondition:      &smtypes.StoppingCondition{MaxRuntimeInSeconds: aws.Int32(3600)},
		EnableNetworkIsolation: aws.Bool(true),
		Tags:                   []smtypes.Tag{{Key: aws.String("execution"), Value: aws.String(execution)}},
	}
}

// waitJob polls DescribeTrainingJob until the job leaves InProgress/Stopping.
func (h *harness) waitJob(t testing.TB, name string) *sagemaker.DescribeTrainingJobOutput {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		out, err := h.sm.DescribeTrainingJob(context.Background(), &sagemaker.DescribeTrainingJobInput{TrainingJobName: aws.String(name)})
		require.NoError(t, err)
		if out.TrainingJobStatus != smtypes.TrainingJobStatusInProgress && out.TrainingJobStatus != smtypes.TrainingJobStatusStopping {
			return out
		}
		require.True(t, time.Now().Before(deadline), "training job %s still %s/%s", name, out.TrainingJobStatus, out.SecondaryStatus)
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEndpoint polls DescribeEndpoint until cond holds, recording every
// status seen.
func (h *harness) waitEndpoint(t testing.TB, name string, cond func(*sagemaker.DescribeEndpointOutput) bool) (*sagemaker.DescribeEndpointOutput, []smtypes.EndpointStatus) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var seen []smtypes.EndpointStatus
	for {
		out, err := h.sm.DescribeEndpoint(context.Background(), &sagemaker.DescribeEndpointInput{EndpointName: aws.String(name)})
		require.NoError(t, err)
		if len(seen) == 0 || seen[len(seen)-1] != out.EndpointStatus {
			seen = append(seen, out.EndpointStatus)
		}
		if cond(out) {
			return out, seen
		}
		require.True(t, time.Now().Before(deadline), "endpoint %s still %s (seen %v)", name, out.EndpointStatus, seen)
		time.Sleep(10 * time.Millisecond)
	}
}

// requireAPIError asserts err is an AWS API error with this code and a
// message containing msg.
func requireAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	require.Error(t, err)
	var apiErr smithy.APIError
	require.True(t, errors.As(err, &apiErr), "not an API error: %v", err)
	require.Equal(t, code, apiErr.ErrorCode(), "error: %v", err)
	require.Contains(t, apiErr.ErrorMessage(), msg)
}

// churnRow is one customer of the churn dataset (scripts/gen_dataset.py's
// model): features in schema order and the label.
type churnRow struct {
	tenure, charges, calls, plan float64
	label                        int
	bayes                        int // the decision of the true probability
}

func churnRows(n int, seed uint64) []churnRow {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	planEffect := []float64{0.6, 0, -0.9}
	rows := make([]churnRow, n)
	for i := range rows {
		tenure := float64(rng.IntN(73))
		charges := math.Round((65+rng.NormFloat64()*20)*100) / 100
		calls := float64(rng.IntN(5))
		plan := rng.IntN(3)
		z := -0.5 - 0.08*tenure + 0.05*(charges-65) + 0.9*calls + planEffect[plan]
		p := 1 / (1 + math.Exp(-z))
		label := 0
		if rng.Float64() < p {
			label = 1
		}
		bayes := 0
		if p > 0.5 {
			bayes = 1
		}
		rows[i] = churnRow{tenure, charges, calls, float64(plan), label, bayes}
	}
	return rows
}

func (r churnRow) features() string {
	return fmt.Sprintf("%g,%g,%g,%g", r.tenure, r.charges, r.calls, r.plan)
}

// trainingCSV renders rows in the XGBoost format: no header, label first.
func trainingCSV(rows []churnRow) string {
	var b bytes.Buffer
	for _, r := range rows {
		fmt.Fprintf(&b, "%d,%s\n", r.label, r.features())
	}
	return b.String()
}
