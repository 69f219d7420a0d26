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
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/gomlops/mlops/shared/config"
)

// fakeS3 is an in-memory bucket set with S3's listing, paging and
// conditional-write semantics, and hooks to inject failures.
type fakeS3 struct {
	mu      sync.Mutex
	objects map[string]fakeObject // "bucket/key"
	// maxKeysSeen is the largest MaxKeys a listing asked for.
	maxKeysSeen int32
	gets        map[string]int
	puts        int
	// Hooks run before the operation; a non-nil error is returned instead.
	beforeGet  func(key string) error
	beforeList func(in *s3.ListObjectsV2Input) error
	beforePut  func(key string) error
}

type fakeObject struct {
	data []byte
	etag string
}

func newFakeS3() *fakeS3 {
	return &fakeS3{objects: map[string]fakeObject{}, gets: map[string]int{}}
}

func (f *fakeS3) put(bucket, key string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sum := md5.Sum(data)
	f.objects[bucket+"/"+key] = fakeObject{data: data, etag: `"` + hex.EncodeToString(sum[:]) + `"`}
}

func (f *fakeS3) get(bucket, key string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objects[bucket+"/"+key]
	return o.data, ok
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	key := aws.ToString(in.Key)
	if f.beforeGet != nil {
		if err := f.beforeGet(key); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets[key]++
	o, ok := f.objects[aws.ToString(in.Bucket)+"/"+key]
	if !ok {
		return nil, &s3types.NoSuchKey{Message: aws.String("The specified key does not exist.")}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.data)), ETag: aws.String(o.etag)}, nil
}

func (f *fakeS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	key := aws.ToString(in.Key)
	if f.beforePut != nil {
		if err := f.beforePut(key); err != nil {
			return nil, err
		}
	}
	data, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	cur, exists := f.objects[aws.ToString(in.Bucket)+"/"+key]
	f.mu.Unlock()
	failed := &smithy.GenericAPIError{Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold"}
	if in.IfNoneMatch != nil && exists {
		return nil, failed
	}
	if in.IfMatch != nil && (!exists || cur.etag != aws.ToString(in.IfMatch)) {
		return nil, failed
	}
	f.put(aws.ToString(in.Bucket), key, data)
	f.mu.Lock()
	f.puts++
	f.mu.Unlock()
	return &s3.PutObjectOutput{}, nil
}

func (f *fakeS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	if f.beforeList != nil {
		if err := f.beforeList(in); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	maxKeys := aws.ToInt32(in.MaxKeys)
	if maxKeys <= 0 {
		maxKeys = 1000
	}
	f.maxKeysSeen = max(f.maxKeysSeen, maxKeys)
	bucket, prefix, delim := aws.ToString(in.Bucket), aws.ToString(in.Prefix), aws.ToString(in.Delimiter)
	after := aws.ToString(in.ContinuationToken)
	if after == "" {
		after = aws.ToString(in.StartAfter)
	}
	var keys []string
	for bk := range f.objects {
		b, k, _ := strings.Cut(bk, "/")
		if b == bucket && strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := &s3.ListObjectsV2Output{}
	seenPrefix := map[string]bool{}
	var n int32
	for _, k := range keys {
		entry := k
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				entry = k[:len(prefix)+i+len(delim)]
			}
		}
		if entry <= after || seenPrefix[entry] {
			continue
		}
		if n == maxKeys {
			out.IsTruncated = aws.Bool(true)
			break
		}
		if entry != k {
			seenPrefix[entry] = true
			out.CommonPrefixes = append(out.CommonPrefixes, s3types.CommonPrefix{Prefix: aws.String(entry)})
		} else {
			out.Contents = append(out.Contents, s3types.Object{Key: aws.String(k), Size: aws.Int64(int64(len(f.objects[bucket+"/"+k].data)))})
		}
		out.NextContinuationToken = aws.String(entry)
		n++
	}
	if !aws.ToBool(out.IsTruncated) {
		out.NextContinuationToken = nil
	}
	out.KeyCount = aws.Int32(n)
	return out, nil
}

// fixedClock returns a clock frozen at t that tests can move.
type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("parse time %q: %v", s, err)
	}
	return v
}

func captureKey(endpoint, variant string, hour time.Time, name string) string {
	return fmt.Sprintf("capture/%s/%s/%s/%s.jsonl", endpoint, variant, hour.UTC().Format("2006/01/02/15"), name)
}

func configReader(m map[string]string) *config.Reader { return config.New(config.MapLookup(m)) }
