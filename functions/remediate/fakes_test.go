package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
)

// fakeS3 is an in-memory store with listing, HEAD and conditional writes.
type fakeS3 struct {
	mu      sync.Mutex
	objects map[string]fakeObject // "bucket/key"
	deletes []string
	putErr  func(key string) error
}

type fakeObject struct {
	data     []byte
	etag     string
	modified time.Time
	version  string
}

func newFakeS3() *fakeS3 { return &fakeS3{objects: map[string]fakeObject{}} }

func (f *fakeS3) put(bucket, key string, data []byte, modified time.Time, version string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sum := md5.Sum(data)
	f.objects[bucket+"/"+key] = fakeObject{data: data, etag: `"` + hex.EncodeToString(sum[:]) + `"`, modified: modified, version: version}
}

func (f *fakeS3) has(bucket, key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.objects[bucket+"/"+key]
	return ok
}

func (f *fakeS3) keys(bucket, prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for bk := range f.objects {
		b, k, _ := strings.Cut(bk, "/")
		if b == bucket && strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func noSuchKey() error {
	return &s3types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)]
	if !ok {
		return nil, noSuchKey()
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.data)), ETag: aws.String(o.etag)}, nil
}

func (f *fakeS3) HeadObject(_ context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objects[aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)]
	if !ok {
		return nil, &s3types.NotFound{}
	}
	out := &s3.HeadObjectOutput{ETag: aws.String(o.etag), LastModified: aws.Time(o.modified), ContentLength: aws.Int64(int64(len(o.data)))}
	if o.version != "" {
		out.VersionId = aws.String(o.version)
	}
	return out, nil
}

func (f *fakeS3) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key := aws.ToString(in.Key)
	if f.putErr != nil {
		if err := f.putErr(key); err != nil {
			return nil, err
		}
	}
	data, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	if in.IfNoneMatch != nil && f.has(aws.ToString(in.Bucket), key) {
		return nil, &smithy.GenericAPIError{Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold"}
	}
	f.put(aws.ToString(in.Bucket), key, data, time.Now(), "")
	return &s3.PutObjectOutput{}, nil
}

func (f *fakeS3) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.objects, aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key))
	f.deletes = append(f.deletes, aws.ToString(in.Key))
	return &s3.DeleteObjectOutput{}, nil
}

// ListObjectsV2 pages two keys at a time, so every listing pages.
func (f *fakeS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	keys := f.keys(aws.ToString(in.Bucket), aws.ToString(in.Prefix))
	after := aws.ToString(in.ContinuationToken)
	out := &s3.ListObjectsV2Output{}
	for _, k := range keys {
		if k <= after {
			continue
		}
		if len(out.Contents) == 2 {
			out.IsTruncated = aws.Bool(true)
			out.NextContinuationToken = out.Contents[1].Key
			break
		}
		f.mu.Lock()
		o := f.objects[aws.ToString(in.Bucket)+"/"+k]
		f.mu.Unlock()
		out.Contents = append(out.Contents, s3types.Object{Key: aws.String(k), Size: aws.Int64(int64(len(o.data))), LastModified: aws.Time(o.modified), ETag: aws.String(o.etag)})
	}
	return out, nil
}

// fakeSFN keeps executions with Step Functions' naming semantics.
type fakeSFN struct {
	mu         sync.Mutex
	executions []fakeExecution // newest last
	starts     []*sfn.StartExecutionInput
	// hideNew hides executions started through the fake from listings,
	// as an eventually consistent ListExecutions may.
	hideNew  bool
	listErr  error
	startErr error
	// hang makes StartExecution wait for its context to end, like a call
	// that does not answer before the deadline.
	hang bool
	now  func() time.Time
}

type fakeExecution struct {
	name, input string
	status      sfntypes.ExecutionStatus
	started     time.Time
	hidden      bool
}

func (f *fakeSFN) StartExecution(ctx context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	if f.hang {
		<-ctx.Done()
		return nil, fmt.Errorf("operation error SFN: StartExecution: %w", ctx.Err())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, in)
	if f.startErr != nil {
		return nil, f.startErr
	}
	arn := aws.ToString(in.StateMachineArn) + ":" + aws.ToString(in.Name)
	for _, e := range f.executions {
		if e.name == aws.ToString(in.Name) {
			if e.input == aws.ToString(in.Input) && e.status == sfntypes.ExecutionStatusRunning {
				return &sfn.StartExecutionOutput{ExecutionArn: aws.String(arn), StartDate: aws.Time(e.started)}, nil
			}
			return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists: '" + arn + "'")}
		}
	}
	f.executions = append(f.executions, fakeExecution{name: aws.ToString(in.Name), input: aws.ToString(in.Input), status: sfntypes.ExecutionStatusRunning, started: f.now(), hidden: f.hideNew})
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(arn), StartDate: aws.Time(f.now())}, nil
}

// ListExecutions returns executions newest first, one per page, so the
// guard's paging is exercised.
func (f *fakeSFN) ListExecutions(_ context.Context, in *sfn.ListExecutionsInput, _ ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return nil, f.listErr
	}
	var all []sfntypes.ExecutionListItem
	for i := len(f.executions) - 1; i >= 0; i-- {
		e := f.executions[i]
		if e.hidden || (in.StatusFilter != "" && in.StatusFilter != e.status) {
			continue
		}
		all = append(all, sfntypes.ExecutionListItem{Name: aws.String(e.name), Status: e.status, StartDate: aws.Time(e.started)})
	}
	start := 0
	if in.NextToken != nil {
		fmt.Sscanf(aws.ToString(in.NextToken), "%d", &start)
	}
	out := &sfn.ListExecutionsOutput{}
	if start < len(all) {
		out.Executions = all[start : start+1]
		if start+1 < len(all) {
			out.NextToken = aws.String(fmt.Sprint(start + 1))
		}
	}
	return out, nil
}

// fakeSageMaker is one endpoint.
type fakeSageMaker struct {
	status    smtypes.EndpointStatus
	config    string
	updates   []*sagemaker.UpdateEndpointInput
	updateErr error
}

func (f *fakeSageMaker) DescribeEndpoint(_ context.Context, in *sagemaker.DescribeEndpointInput, _ ...func(*sagemaker.Options)) (*sagemaker.DescribeEndpointOutput, error) {
	return &sagemaker.DescribeEndpointOutput{EndpointName: in.EndpointName, EndpointStatus: f.status, EndpointConfigName: aws.String(f.config)}, nil
}

func (f *fakeSageMaker) UpdateEndpoint(_ context.Context, in *sagemaker.UpdateEndpointInput, _ ...func(*sagemaker.Options)) (*sagemaker.UpdateEndpointOutput, error) {
	f.updates = append(f.updates, in)
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	f.status, f.config = smtypes.EndpointStatusUpdating, aws.ToString(in.EndpointConfigName)
	return &sagemaker.UpdateEndpointOutput{EndpointArn: aws.String("arn:aws:sagemaker:us-east-1:123456789012:endpoint/" + aws.ToString(in.EndpointName))}, nil
}

// fakeSNS records what was published.
type fakeSNS struct {
	published []*sns.PublishInput
	err       error
}

func (f *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.published = append(f.published, in)
	return &sns.PublishOutput{MessageId: aws.String(fmt.Sprint(len(f.published)))}, nil
}

// fakeCloudWatch records alarm state changes (the Go SDK's CloudWatch
// client speaks a protocol moto does not, so this is tested with a fake).
type fakeCloudWatch struct {
	calls []*cloudwatch.SetAlarmStateInput
	err   error
}

func (f *fakeCloudWatch) SetAlarmState(_ context.Context, in *cloudwatch.SetAlarmStateInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.SetAlarmStateOutput, error) {
	f.calls = append(f.calls, in)
	if f.err != nil {
		return nil, f.err
	}
	return &cloudwatch.SetAlarmStateOutput{}, nil
}

func s3GetInput(bucket, key string) *s3.GetObjectInput {
	return &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
}
