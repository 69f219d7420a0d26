package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gomlops/mlops/localcloud/asl"
	"github.com/gomlops/mlops/localcloud/cloudwatchemu"
	"github.com/gomlops/mlops/localcloud/eventbridge"
	"github.com/gomlops/mlops/localcloud/glueemu"
	"github.com/gomlops/mlops/localcloud/samtemplate"
	"github.com/gomlops/mlops/localcloud/sfnemu"
	"github.com/gomlops/mlops/localcloud/snsemu"
	"github.com/gomlops/mlops/localcloud/sqsemu"
)

// asyncInvoker is the Lambda operation destinations use.
type asyncInvoker interface {
	InvokeAsync(ctx context.Context, fn string, payload []byte) error
}

// destinations delivers Lambda's asynchronous invocation records and
// dead-letter events to the service the destination ARN names.
type destinations struct {
	sqs    *sqsemu.Service
	sns    *snsemu.Service
	events *eventPublisher
	lambda asyncInvoker
}

// Deliver is a lambdaemu.DestinationFunc.
func (d *destinations) Deliver(ctx context.Context, arn string, record []byte) error {
	switch service := arnService(arn); service {
	case "sqs":
		return d.sqs.Deliver(ctx, arn, record)
	case "sns":
		return d.sns.Deliver(ctx, arn, record)
	case "lambda":
		if d.lambda == nil {
			return fmt.Errorf("destination %s: Lambda is not running", arn)
		}
		return d.lambda.InvokeAsync(ctx, arn, record)
	case "events":
		// Lambda sends destination records to a bus as "Lambda Function
		// Invocation Result - Success/Failure" events from lambda.
		detailType := "Lambda Function Invocation Result - Failure"
		if bytes.Contains(record, []byte(`"condition":"Success"`)) {
			detailType = "Lambda Function Invocation Result - Success"
		}
		_, err := d.events.PutEvents(ctx, []asl.EventEntry{{Source: "lambda", DetailType: detailType, Detail: string(record)}})
		return err
	default:
		return fmt.Errorf("destination %s: service %q is not a Lambda destination the local cloud delivers to", arn, service)
	}
}

// arnService returns the service element of an ARN.
func arnService(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[2]
}

// snsPublisher adapts snsemu to asl.SNSPublisher.
type snsPublisher struct{ svc *snsemu.Service }

func (p snsPublisher) Publish(ctx context.Context, topicARN, subject, message string) (string, error) {
	return p.svc.Publish(ctx, topicARN, subject, message, nil)
}

// executionStarter adapts sfnemu to eventbridge.ExecutionStarter.
type executionStarter struct{ svc *sfnemu.Service }

func (e executionStarter) StartExecution(ctx context.Context, stateMachineARN, name, input string) error {
	_, _, err := e.svc.StartExecution(ctx, stateMachineARN, name, input)
	return err
}

// eventPublisher adapts EventBridge's PutEvents to asl.EventPublisher (and
// to the other emulators that put events). EventBridge starts after Step
// Functions, so the service is set once it exists.
type eventPublisher struct {
	mu  sync.RWMutex
	svc *eventbridge.Service
}

func (p *eventPublisher) set(svc *eventbridge.Service) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.svc = svc
}

func (p *eventPublisher) service() (*eventbridge.Service, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.svc == nil {
		return nil, errors.New("EventBridge is not running yet")
	}
	return p.svc, nil
}

// PutEvents puts entries on the default bus and returns their ids.
func (p *eventPublisher) PutEvents(ctx context.Context, entries []asl.EventEntry) ([]string, error) {
	svc, err := p.service()
	if err != nil {
		return nil, err
	}
	in := make([]eventbridge.PutEventsEntry, len(entries))
	for i, e := range entries {
		in[i] = eventbridge.PutEventsEntry{Source: e.Source, DetailType: e.DetailType, Detail: e.Detail, Resources: e.Resources, EventBusName: e.EventBusName}
	}
	res, failed, err := svc.PutEvents(ctx, in)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(res))
	var errs []error
	for i, r := range res {
		ids[i] = r.EventID
		if r.ErrorCode != "" {
			errs = append(errs, fmt.Errorf("entry %d: %s: %s", i, r.ErrorCode, r.ErrorMessage))
		}
	}
	if failed > 0 {
		return ids, fmt.Errorf("put events: %d failed: %w", failed, errors.Join(errs...))
	}
	return ids, nil
}

// Emit puts one event in EventBridge's envelope on the bus.
func (p *eventPublisher) Emit(ctx context.Context, ev eventbridge.Event) error {
	svc, err := p.service()
	if err != nil {
		return err
	}
	return svc.Emit(ctx, ev)
}

// objectStore reads and writes the local S3 through the SDK, for the
// emulators that need objects (Glue scripts, SageMaker channels and
// artefacts, the stack's script upload).
type objectStore struct{ client *s3.Client }

func newObjectStore(cfg aws.Config) *objectStore {
	return &objectStore{client: s3.NewFromConfig(cfg)}
}

// GetObject returns an object's bytes (glueemu.ScriptSource).
func (o *objectStore) GetObject(ctx context.Context, bucket, key string) ([]byte, error) {
	out, err := o.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	return b, nil
}

// PutObject writes an object.
func (o *objectStore) PutObject(ctx context.Context, bucket, key string, body []byte) error {
	_, err := o.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// glueJobs reads the template's AWS::Glue::Job resources.
func glueJobs(tpl *samtemplate.Template) ([]glueemu.Job, error) {
	var jobs []glueemu.Job
	for _, id := range resourcesOfType(tpl, "AWS::Glue::Job") {
		j, err := glueemu.JobFromTemplate(tpl.PhysicalName(id), tpl.Resources[id].Properties)
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", id, err)
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// resourcesOfType returns the logical ids of a resource type, sorted.
func resourcesOfType(tpl *samtemplate.Template, typ string) []string {
	var ids []string
	for id, r := range tpl.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// uploadGlueScripts copies each job's script from this machine to its S3
// ScriptLocation, as `make upload-glue-script` does after a deployment.
func uploadGlueScripts(ctx context.Context, store *objectStore, tpl *samtemplate.Template, jobs []glueemu.Job, explicit map[string]string) error {
	for _, j := range jobs {
		loc := j.Command.ScriptLocation
		bucket, key, ok := splitS3URI(loc)
		if !ok {
			return fmt.Errorf("Glue job %s: ScriptLocation %q is not an s3:// URI", j.Name, loc)
		}
		local := explicit[loc]
		if local == "" {
			candidate := filepath.Join(tpl.Dir, "scripts", filepath.Base(key))
			if _, err := os.Stat(candidate); err != nil {
				continue // nothing to upload: the developer puts the script there
			}
			local = candidate
		}
		body, err := os.ReadFile(local)
		if err != nil {
			return fmt.Errorf("Glue job %s script: %w", j.Name, err)
		}
		if err := store.PutObject(ctx, bucket, key, body); err != nil {
			return fmt.Errorf("upload Glue job %s script %s to %s: %w", j.Name, local, loc, err)
		}
	}
	return nil
}

func splitS3URI(uri string) (bucket, key string, ok bool) {
	rest, found := strings.CutPrefix(uri, "s3://")
	if !found {
		return "", "", false
	}
	bucket, key, found = strings.Cut(rest, "/")
	return bucket, key, found && bucket != "" && key != ""
}

// alarmStateReader reads a CloudWatch alarm's state.
type alarmStateReader interface {
	AlarmState(ctx context.Context, name string) (string, error)
}

// alarmStates adapts CloudWatch to sagemakeremu.AlarmStates (blue/green
// rollback alarms). Until CloudWatch is set, every alarm reads OK.
type alarmStates struct {
	mu sync.RWMutex
	cw alarmStateReader
}

func (a *alarmStates) set(cw alarmStateReader) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cw = cw
}

// AlarmState returns the alarm's state.
func (a *alarmStates) AlarmState(ctx context.Context, name string) (string, error) {
	a.mu.RLock()
	cw := a.cw
	a.mu.RUnlock()
	if cw == nil {
		return "OK", nil
	}
	return cw.AlarmState(ctx, name)
}

// cloudWatchStates reads alarm states from the CloudWatch emulator.
type cloudWatchStates struct{ cw *cloudwatchemu.Service }

// AlarmState returns the alarm's state value.
func (c cloudWatchStates) AlarmState(_ context.Context, name string) (string, error) {
	views := c.cw.DescribeAlarms([]string{name}, "", "")
	if len(views) == 0 {
		return "", fmt.Errorf("alarm %q does not exist", name)
	}
	return views[0].StateValue, nil
}

// cloudWatchAlarms reads the template's AWS::CloudWatch::Alarm resources.
func cloudWatchAlarms(tpl *samtemplate.Template) ([]cloudwatchemu.Alarm, error) {
	var out []cloudwatchemu.Alarm
	for _, id := range resourcesOfType(tpl, "AWS::CloudWatch::Alarm") {
		a, err := cloudwatchemu.AlarmFromTemplate(tpl.PhysicalName(id), tpl.Resources[id].Properties)
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", id, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// restampEMF sets an EMF record's _aws.Timestamp to the local cloud's clock.
// Functions run on the machine's clock; with a faster local clock (demo,
// tests) their metrics must land in the periods the alarms evaluate, as they
// would in AWS where both clocks are one. Other lines are returned as they
// are.
func restampEMF(line []byte, now time.Time) []byte {
	if !bytes.Contains(line, []byte(`"_aws"`)) {
		return line
	}
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(line, &rec); err != nil {
		return line
	}
	var meta map[string]json.RawMessage
	if err := json.Unmarshal(rec["_aws"], &meta); err != nil || meta == nil {
		return line
	}
	meta["Timestamp"] = json.RawMessage(strconv.FormatInt(now.UnixMilli(), 10))
	b, err := json.Marshal(meta)
	if err != nil {
		return line
	}
	rec["_aws"] = b
	out, err := json.Marshal(rec)
	if err != nil {
		return line
	}
	return out
}
