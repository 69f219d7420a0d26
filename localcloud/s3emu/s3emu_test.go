package s3emu

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/eventbridge"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeEmitter records the events S3 emits.
type fakeEmitter struct {
	mu     sync.Mutex
	events []eventbridge.Event
}

func (f *fakeEmitter) Emit(_ context.Context, ev eventbridge.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, ev)
	return nil
}

func (f *fakeEmitter) Events() []eventbridge.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]eventbridge.Event(nil), f.events...)
}

var t0 = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	svc    *Service
	events *fakeEmitter
	client *s3.Client
}

func newFixture(t *testing.T, dir string) *fixture {
	t.Helper()
	f := &fixture{events: &fakeEmitter{}}
	svc, err := New(Options{StateDir: dir, Clock: clock.NewManual(t0), Events: f.events, Buckets: []Bucket{
		{Name: "raw-bucket", EventBridge: true, Versioned: true},
		{Name: "plain-bucket", EventBridge: true},
		{Name: "artifacts", Versioned: true},
	}})
	require.NoError(t, err)
	f.svc = svc
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	f.client = s3.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("A", "B", ""), BaseEndpoint: aws.String(srv.URL)})
	return f
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func detailOf(t *testing.T, ev eventbridge.Event) map[string]any {
	t.Helper()
	var d map[string]any
	require.NoError(t, json.Unmarshal(ev.Detail, &d))
	return d
}

func TestPutObjectEmitsObjectCreatedInAWSShape(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ctx := context.Background()
	body := "tenure_months,plan\n1,basic\n"
	put, err := f.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("raw-bucket"), Key: aws.String("raw/my data (1).csv"), Body: strings.NewReader(body)})
	require.NoError(t, err)
	require.NotEmpty(t, aws.ToString(put.VersionId))

	evs := f.events.Events()
	require.Len(t, evs, 1)
	ev := evs[0]
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(raw, &got))
	want := map[string]any{
		"version": "0", "id": "", "detail-type": "Object Created", "source": "aws.s3", "account": "123456789012",
		"time": "2026-07-01T12:00:00Z", "region": "us-east-1", "resources": []any{"arn:aws:s3:::raw-bucket"},
		"detail": map[string]any{
			"version": "0",
			"bucket":  map[string]any{"name": "raw-bucket"},
			"object": map[string]any{"key": "raw/my+data+%281%29.csv", "size": float64(len(body)), "etag": md5hex(body),
				"version-id": aws.ToString(put.VersionId), "sequencer": "000000000000000001"},
			"request-id": detailOf(t, ev)["request-id"], "requester": "123456789012", "source-ip-address": "127.0.0.1", "reason": "PutObject",
		},
	}
	assert.Equal(t, want, got, "EventBridge fills the id; S3 fixes everything else")
	assert.NotEmpty(t, detailOf(t, ev)["request-id"])
	// Field order follows AWS's example event.
	assert.Less(t, strings.Index(string(ev.Detail), `"bucket"`), strings.Index(string(ev.Detail), `"object"`))
	assert.Less(t, strings.Index(string(ev.Detail), `"source-ip-address"`), strings.Index(string(ev.Detail), `"reason"`))
}

func TestEventReasonsAndDeletes(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ctx := context.Background()
	_, err := f.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("raw-bucket"), Key: aws.String("a.csv"), Body: strings.NewReader("a")})
	require.NoError(t, err)
	cp, err := f.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("raw-bucket"), Key: aws.String("b.csv"), CopySource: aws.String("raw-bucket/a.csv")})
	require.NoError(t, err)

	up, err := f.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("raw-bucket"), Key: aws.String("big.csv")})
	require.NoError(t, err)
	part, err := f.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("raw-bucket"), Key: aws.String("big.csv"), UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("multi")})
	require.NoError(t, err)
	_, err = f.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("raw-bucket"), Key: aws.String("big.csv"), UploadId: up.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: []s3types.CompletedPart{{ETag: part.ETag, PartNumber: aws.Int32(1)}}}})
	require.NoError(t, err)

	del, err := f.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("raw-bucket"), Key: aws.String("a.csv")})
	require.NoError(t, err)
	require.True(t, aws.ToBool(del.DeleteMarker))
	_, err = f.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("raw-bucket"), Key: aws.String("b.csv"), VersionId: cp.VersionId})
	require.NoError(t, err)
	_, err = f.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("raw-bucket"), Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String("big.csv")}}}})
	require.NoError(t, err)

	evs := f.events.Events()
	require.Len(t, evs, 6)
	type row struct{ detailType, reason, key, deletion string }
	var rows []row
	prevSeq := ""
	for _, ev := range evs {
		d := detailOf(t, ev)
		obj := d["object"].(map[string]any)
		deletion, _ := d["deletion-type"].(string)
		rows = append(rows, row{ev.DetailType, d["reason"].(string), obj["key"].(string), deletion})
		seq := obj["sequencer"].(string)
		assert.Greater(t, seq, prevSeq, "sequencers increase per bucket")
		prevSeq = seq
		if ev.DetailType == "Object Deleted" {
			assert.NotContains(t, obj, "size")
			assert.NotContains(t, obj, "etag")
			assert.NotEmpty(t, obj["version-id"])
		}
	}
	assert.Equal(t, []row{
		{"Object Created", "PutObject", "a.csv", ""},
		{"Object Created", "CopyObject", "b.csv", ""},
		{"Object Created", "CompleteMultipartUpload", "big.csv", ""},
		{"Object Deleted", "DeleteObject", "a.csv", "Delete Marker Created"},
		{"Object Deleted", "DeleteObject", "b.csv", "Permanently Deleted"},
		{"Object Deleted", "DeleteObject", "big.csv", "Delete Marker Created"},
	}, rows)
	assert.Equal(t, aws.ToString(cp.VersionId), detailOf(t, evs[1])["object"].(map[string]any)["version-id"], "the copy's event and response name the new version")
	assert.Equal(t, aws.ToString(del.VersionId), detailOf(t, evs[3])["object"].(map[string]any)["version-id"])
	assert.Equal(t, float64(5), detailOf(t, evs[2])["object"].(map[string]any)["size"])
}

func TestNoEventsWithoutNotificationsOrOnFailure(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ctx := context.Background()
	_, err := f.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("k"), Body: strings.NewReader("x")})
	require.NoError(t, err)
	_, err = f.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("missing-bucket"), Key: aws.String("k"), Body: strings.NewReader("x")})
	var apiErr smithy.APIError
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, "NoSuchBucket", apiErr.ErrorCode())
	_, err = f.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("raw-bucket"), Key: aws.String("nope")})
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, "NoSuchKey", apiErr.ErrorCode())
	assert.Empty(t, f.events.Events())

	// Unversioned EventBridge bucket: no version-id, deletes are permanent.
	_, err = f.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain-bucket"), Key: aws.String("k"), Body: strings.NewReader("x")})
	require.NoError(t, err)
	_, err = f.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("plain-bucket"), Key: aws.String("k")})
	require.NoError(t, err)
	evs := f.events.Events()
	require.Len(t, evs, 2)
	assert.NotContains(t, detailOf(t, evs[0])["object"], "version-id")
	assert.Equal(t, "Permanently Deleted", detailOf(t, evs[1])["deletion-type"])
}

func TestVersionsAndListing(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ctx := context.Background()
	v1, err := f.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("registry/ep/live.json"), Body: strings.NewReader(`{"v":1}`)})
	require.NoError(t, err)
	v2, err := f.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("registry/ep/live.json"), Body: strings.NewReader(`{"v":2}`)})
	require.NoError(t, err)
	require.NotEqual(t, aws.ToString(v1.VersionId), aws.ToString(v2.VersionId))
	for _, k := range []string{"prepared/x/train.csv", "prepared/y/train.csv", "models/x/model.tar.gz"} {
		_, err := f.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("artifacts"), Key: aws.String(k), Body: strings.NewReader(k)})
		require.NoError(t, err)
	}
	read := func(in *s3.GetObjectInput) string {
		out, err := f.client.GetObject(ctx, in)
		require.NoError(t, err)
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		require.NoError(t, err)
		return string(b)
	}
	assert.Equal(t, `{"v":2}`, read(&s3.GetObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("registry/ep/live.json")}))
	assert.Equal(t, `{"v":1}`, read(&s3.GetObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("registry/ep/live.json"), VersionId: v1.VersionId}))
	assert.Equal(t, `"v":2`, read(&s3.GetObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("registry/ep/live.json"), Range: aws.String("bytes=1-5")}))

	list, err := f.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("artifacts"), Prefix: aws.String("prepared/"), Delimiter: aws.String("/")})
	require.NoError(t, err)
	var prefixes []string
	for _, p := range list.CommonPrefixes {
		prefixes = append(prefixes, aws.ToString(p.Prefix))
	}
	assert.Equal(t, []string{"prepared/x/", "prepared/y/"}, prefixes)
	page, err := f.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("artifacts"), MaxKeys: aws.Int32(2)})
	require.NoError(t, err)
	assert.Len(t, page.Contents, 2)
	assert.True(t, aws.ToBool(page.IsTruncated))

	vers, err := f.client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("artifacts"), Prefix: aws.String("registry/")})
	require.NoError(t, err)
	require.Len(t, vers.Versions, 2)
	assert.Equal(t, aws.ToString(v2.VersionId), aws.ToString(vers.Versions[0].VersionId))
	assert.True(t, aws.ToBool(vers.Versions[0].IsLatest))
}

func TestStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, dir)
	ctx := context.Background()
	put, err := f.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("raw-bucket"), Key: aws.String("raw/a.csv"), Body: bytes.NewReader([]byte("persisted"))})
	require.NoError(t, err)

	again := newFixture(t, dir)
	out, err := again.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("raw-bucket"), Key: aws.String("raw/a.csv"), VersionId: put.VersionId})
	require.NoError(t, err)
	b, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	_ = out.Body.Close()
	assert.Equal(t, "persisted", string(b))
	buckets, err := again.client.ListBuckets(ctx, &s3.ListBucketsInput{})
	require.NoError(t, err)
	assert.Len(t, buckets.Buckets, 3)

	_, err = again.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("raw-bucket"), Key: aws.String("raw/b.csv"), Body: strings.NewReader("x")})
	require.NoError(t, err)
	evs := again.events.Events()
	require.Len(t, evs, 1)
	assert.Equal(t, "000000000000000002", detailOf(t, evs[0])["object"].(map[string]any)["sequencer"], "the sequencer continues after a restart")
}

func TestNewRejectsBadBucketName(t *testing.T) {
	_, err := New(Options{StateDir: t.TempDir(), Buckets: []Bucket{{Name: "Bad_Name"}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a valid S3 bucket name")
}

func TestEncodeKey(t *testing.T) {
	tests := []struct{ key, want string }{
		{"raw/data.csv", "raw/data.csv"},
		{"raw/my data.csv", "raw/my+data.csv"},
		{"raw/a+b=c.csv", "raw/a%2Bb%3Dc.csv"},
		{"raw/ü.csv", "raw/%C3%BC.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			assert.Equal(t, tt.want, EncodeKey(tt.key))
		})
	}
}

func TestBucketNotificationConfiguration(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ctx := context.Background()
	_, err := f.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("late-bucket")})
	require.NoError(t, err)
	got, err := f.client.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("late-bucket")})
	require.NoError(t, err)
	assert.Nil(t, got.EventBridgeConfiguration)

	_, err = f.client.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("late-bucket"),
		NotificationConfiguration: &s3types.NotificationConfiguration{EventBridgeConfiguration: &s3types.EventBridgeConfiguration{}}})
	require.NoError(t, err)
	got, err = f.client.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("late-bucket")})
	require.NoError(t, err)
	assert.NotNil(t, got.EventBridgeConfiguration)
	_, err = f.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("late-bucket"), Key: aws.String("k"), Body: strings.NewReader("x")})
	require.NoError(t, err)
	assert.Len(t, f.events.Events(), 1)

	var apiErr smithy.APIError
	_, err = f.client.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("late-bucket"),
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{QueueArn: aws.String("arn:aws:sqs:us-east-1:123456789012:q"), Events: []s3types.Event{"s3:ObjectCreated:*"}}}}})
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, "NotImplemented", apiErr.ErrorCode())
	_, err = f.client.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("no-such-bucket")})
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, "NoSuchBucket", apiErr.ErrorCode())
	_, err = f.client.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("late-bucket"), Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}})
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, "NotImplemented", apiErr.ErrorCode())
	_, err = f.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("late-bucket")})
	require.NoError(t, err, "the tagging call must not have touched the bucket")
}

func TestListPagination(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ctx := context.Background()
	keys := []string{"a/1", "a/2", "a/3", "b", "c/1", "d", "zz-other"}
	for _, k := range keys {
		_, err := f.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("artifacts"), Key: aws.String(k), Body: strings.NewReader(k)})
		require.NoError(t, err)
	}
	tests := []struct {
		name      string
		prefix    string
		delimiter string
		pageSize  int32
		want      []string
	}{
		{"flat pages of two", "", "", 2, keys},
		{"delimited pages of two", "", "/", 2, []string{"a/", "b", "c/", "d", "zz-other"}},
		{"prefix with trailing non-matches", "a/", "", 2, []string{"a/1", "a/2", "a/3"}},
		{"prefix exactly one page", "a/", "", 3, []string{"a/1", "a/2", "a/3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &s3.ListObjectsV2Input{Bucket: aws.String("artifacts"), MaxKeys: aws.Int32(tt.pageSize)}
			if tt.prefix != "" {
				in.Prefix = aws.String(tt.prefix)
			}
			if tt.delimiter != "" {
				in.Delimiter = aws.String(tt.delimiter)
			}
			var got []string
			pages := 0
			p := s3.NewListObjectsV2Paginator(f.client, in)
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				require.NoError(t, err)
				pages++
				require.Less(t, pages, 10)
				for _, cp := range out.CommonPrefixes {
					got = append(got, aws.ToString(cp.Prefix))
				}
				for _, o := range out.Contents {
					got = append(got, aws.ToString(o.Key))
				}
			}
			sort.Strings(got)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, (len(tt.want)+int(tt.pageSize)-1)/int(tt.pageSize), pages, "no empty trailing page")
		})
	}
}

func TestConcurrentWritesAndDeletes(t *testing.T) {
	f := newFixture(t, t.TempDir())
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 16; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := f.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain-bucket"), Key: aws.String("hot"), Body: strings.NewReader("payload")})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := f.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("plain-bucket"), Key: aws.String("hot")})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// Whatever won, the object is either absent or whole.
	out, err := f.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("plain-bucket"), Key: aws.String("hot")})
	if err == nil {
		b, rerr := io.ReadAll(out.Body)
		require.NoError(t, rerr)
		_ = out.Body.Close()
		assert.Equal(t, "payload", string(b))
	}
	evs := f.events.Events()
	assert.Len(t, evs, 32, "every successful write and delete emits one event")
	prev := ""
	for _, ev := range evs {
		seq := detailOf(t, ev)["object"].(map[string]any)["sequencer"].(string)
		assert.Greater(t, seq, prev, "events leave in the order of their sequencers")
		prev = seq
	}
}
