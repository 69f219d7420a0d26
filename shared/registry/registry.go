// Package registry reads and writes the live-model registry: the JSON
// pipeline.LiveModel records deploy keeps in the artifacts bucket, one live
// record per endpoint (pipeline.RegistryKey) and one per configuration that
// went live (pipeline.ConfigRecordKey).
//
// Train compares a new model with the live one, monitoring reads the live
// model's baseline, remediation reads the dataset and the previous
// configuration and restores a configuration's record on rollback, ingest asks
// whether anything is live. They all read the same records the same way, so
// the limits, the "absent" rule and the error classes live here once.
package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/pipeline"
)

// MaxRecordBytes bounds a registry record (a few hundred bytes in practice):
// a larger object is not a record deploy wrote.
const MaxRecordBytes = 1 << 20

// GetObjectAPI reads a record.
type GetObjectAPI interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// PutObjectAPI writes a record.
type PutObjectAPI interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// HeadObjectAPI checks that a record exists.
type HeadObjectAPI interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

// Read returns the live-model record of endpoint in bucket, or nil, nil when
// there is none (nothing was deployed yet). A record that is too large or not
// a LiveModel is a permanent faults.Invalid error; S3 errors keep their own
// class, wrapped with the record's s3:// location.
func Read(ctx context.Context, api GetObjectAPI, bucket, endpoint string) (*pipeline.LiveModel, error) {
	uri := location(bucket, pipeline.RegistryKey(endpoint))
	body, err := get(ctx, api, bucket, pipeline.RegistryKey(endpoint))
	if err != nil || body == nil {
		return nil, err
	}
	var live pipeline.LiveModel
	if err := json.Unmarshal(body, &live); err != nil {
		return nil, faults.Invalidf("registry record %s is not a live-model record: %v", uri, err)
	}
	return &live, nil
}

// ReadConfigRecord returns, as stored, the record deploy wrote when config
// went live on endpoint; nil, nil when there is none (a deployment older than
// these records). Rollback restores it byte for byte with Restore.
func ReadConfigRecord(ctx context.Context, api GetObjectAPI, bucket, endpoint, config string) ([]byte, error) {
	return get(ctx, api, bucket, pipeline.ConfigRecordKey(endpoint, config))
}

// Exists reports whether endpoint has a live-model record, without reading it.
func Exists(ctx context.Context, api HeadObjectAPI, bucket, endpoint string) (bool, error) {
	key := pipeline.RegistryKey(endpoint)
	_, err := api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	switch {
	case err == nil:
		return true, nil
	case faults.KindOf(err) == faults.NotFound:
		// HEAD answers a bare 404: there is no code telling a missing key
		// from a missing bucket.
		return false, nil
	}
	return false, fmt.Errorf("head registry record %s: %w", location(bucket, key), err)
}

// Write records live as the model serving on live.EndpointName: first the
// record of its configuration, then the endpoint's live record. The
// configuration's record goes first because a rollback restores it, so it
// must exist whenever the live record names that configuration.
func Write(ctx context.Context, api PutObjectAPI, bucket string, live pipeline.LiveModel) error {
	if live.EndpointName == "" || live.EndpointConfigName == "" {
		return faults.Invalidf("registry record for endpoint %q and configuration %q: both names are required", live.EndpointName, live.EndpointConfigName)
	}
	body, err := json.Marshal(live)
	if err != nil {
		return fmt.Errorf("encode registry record: %w", err)
	}
	for _, key := range []string{pipeline.ConfigRecordKey(live.EndpointName, live.EndpointConfigName), pipeline.RegistryKey(live.EndpointName)} {
		if err := put(ctx, api, bucket, key, body); err != nil {
			return err
		}
	}
	return nil
}

// Restore writes record, as read by ReadConfigRecord, as endpoint's live
// record.
func Restore(ctx context.Context, api PutObjectAPI, bucket, endpoint string, record []byte) error {
	return put(ctx, api, bucket, pipeline.RegistryKey(endpoint), record)
}

// get reads one record; nil, nil when the key does not exist.
func get(ctx context.Context, api GetObjectAPI, bucket, key string) ([]byte, error) {
	uri := location(bucket, key)
	out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var noKey *s3types.NoSuchKey
	switch {
	// Only a missing key means "no record": a missing bucket is a
	// configuration error and must not read as "nothing deployed".
	case errors.As(err, &noKey) || faults.Code(err) == "NoSuchKey":
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read registry record %s: %w", uri, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, MaxRecordBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read registry record %s: %w", uri, err)
	}
	if len(body) > MaxRecordBytes {
		return nil, faults.Invalidf("registry record %s is larger than %d bytes", uri, MaxRecordBytes)
	}
	return body, nil
}

func put(ctx context.Context, api PutObjectAPI, bucket, key string, body []byte) error {
	_, err := api.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(bucket),
		Key:         aws.String(key),
		Body:        bytes.NewReader(body),
		ContentType: aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("write registry record %s: %w", location(bucket, key), err)
	}
	return nil
}

func location(bucket, key string) string { return "s3://" + bucket + "/" + key }
