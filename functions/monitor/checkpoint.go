package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gomlops/mlops/shared/faults"
)

// CheckpointVersion is the checkpoint format this function writes.
const CheckpointVersion = 1

// Checkpoint remembers which capture files have been counted.
//
// SageMaker writes capture files under hour partitions
// (<variant>/yyyy/mm/dd/hh/), named by the hour of the requests they hold,
// and uploads them minutes later. An hour partition is "open" while files may
// still land in it: from OpenFrom to now. Each run lists every open
// partition, counts the files not in Processed, and records them. Partitions
// older than the lateness window (and fully read) are closed: OpenFrom moves
// past them and their keys leave Processed, which therefore only ever holds
// the files of the last few hours.
type Checkpoint struct {
	Version  int    `json:"version"`
	Endpoint string `json:"endpoint"`
	// OpenFrom is the first hour partition that may still receive or hold
	// uncounted files.
	OpenFrom time.Time `json:"openFrom"`
	// Processed are the keys already counted in open partitions, sorted.
	Processed []string `json:"processed"`
	// UpdatedAt is when the run that wrote this checkpoint started.
	UpdatedAt time.Time `json:"updatedAt"`
}

// checkpointKey is where an endpoint's checkpoint lives in the artifacts
// bucket.
func checkpointKey(endpoint string) string { return "monitor/" + endpoint + "/checkpoint.json" }

// storedCheckpoint is a checkpoint and the ETag it was read with; the ETag
// makes the write back conditional, so of two overlapping runs only one
// commits.
type storedCheckpoint struct {
	Checkpoint
	etag   string
	exists bool
}

// loadCheckpoint reads the checkpoint; a missing one is not an error.
func loadCheckpoint(ctx context.Context, api S3API, bucket, endpoint string) (storedCheckpoint, error) {
	key := checkpointKey(endpoint)
	out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		if faults.KindOf(err) == faults.NotFound {
			return storedCheckpoint{}, nil
		}
		return storedCheckpoint{}, fmt.Errorf("get checkpoint s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, maxCheckpointBytes+1))
	if err != nil {
		return storedCheckpoint{}, fmt.Errorf("read checkpoint s3://%s/%s: %w", bucket, key, err)
	}
	var cp Checkpoint
	if len(data) > maxCheckpointBytes {
		return storedCheckpoint{}, faults.Invalidf("checkpoint s3://%s/%s is larger than %d bytes", bucket, key, maxCheckpointBytes)
	}
	if err := json.Unmarshal(data, &cp); err != nil {
		return storedCheckpoint{}, faults.Invalidf("checkpoint s3://%s/%s: %v (delete it to start over)", bucket, key, err)
	}
	if cp.Version != CheckpointVersion || cp.OpenFrom.IsZero() {
		return storedCheckpoint{}, faults.Invalidf("checkpoint s3://%s/%s: version %d without openFrom (delete it to start over)", bucket, key, cp.Version)
	}
	return storedCheckpoint{Checkpoint: cp, etag: aws.ToString(out.ETag), exists: true}, nil
}

// maxCheckpointBytes bounds what a checkpoint may grow to (a few hours of
// capture file keys need far less).
const maxCheckpointBytes = 8 << 20

// errLostRace reports that another run committed a checkpoint first.
var errLostRace = errors.New("another run updated the checkpoint first")

// saveCheckpoint writes cp only if nobody else wrote since it was read:
// If-Match on the ETag read, or If-None-Match for the first checkpoint.
func saveCheckpoint(ctx context.Context, api S3API, bucket string, prev storedCheckpoint, cp Checkpoint) error {
	data, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	in := &s3.PutObjectInput{
		Bucket:      aws.String(bucket),
		Key:         aws.String(checkpointKey(cp.Endpoint)),
		Body:        bytes.NewReader(data),
		ContentType: aws.String("application/json"),
	}
	if prev.exists {
		in.IfMatch = aws.String(prev.etag)
	} else {
		in.IfNoneMatch = aws.String("*")
	}
	if _, err := api.PutObject(ctx, in); err != nil {
		if faults.KindOf(err) == faults.Conflict {
			return fmt.Errorf("put checkpoint: %w: %w", errLostRace, err)
		}
		return fmt.Errorf("put checkpoint s3://%s/%s: %w", bucket, aws.ToString(in.Key), err)
	}
	return nil
}

// hourPrefix is the partition of hour h under a variant's capture prefix.
func hourPrefix(variantPrefix string, h time.Time) string {
	return variantPrefix + h.UTC().Format("2006/01/02/15") + "/"
}

// keyHour returns the hour partition a capture key belongs to
// (…/yyyy/mm/dd/hh/<file>).
func keyHour(key string) (time.Time, bool) {
	parts := strings.Split(key, "/")
	if len(parts) < 5 {
		return time.Time{}, false
	}
	p := parts[len(parts)-5 : len(parts)-1]
	t, err := time.Parse("2006/01/02/15", strings.Join(p, "/"))
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// nextCheckpoint computes the checkpoint after a run that started at now and
// counted done. firstIncomplete is the first hour the run could not finish
// (its budget ran out), or zero.
func nextCheckpoint(prev Checkpoint, endpoint string, now time.Time, lateness time.Duration, done []string, firstIncomplete time.Time) Checkpoint {
	openFrom := now.UTC().Truncate(time.Hour).Add(-lateness).Truncate(time.Hour)
	if !firstIncomplete.IsZero() && firstIncomplete.Before(openFrom) {
		openFrom = firstIncomplete
	}
	if openFrom.Before(prev.OpenFrom) {
		openFrom = prev.OpenFrom
	}
	seen := make(map[string]bool, len(prev.Processed)+len(done))
	var keep []string
	for _, k := range append(append([]string(nil), prev.Processed...), done...) {
		if seen[k] {
			continue
		}
		seen[k] = true
		if h, ok := keyHour(k); ok && h.Before(openFrom) {
			continue // its partition is closed
		}
		keep = append(keep, k)
	}
	sort.Strings(keep)
	return Checkpoint{Version: CheckpointVersion, Endpoint: endpoint, OpenFrom: openFrom, Processed: keep, UpdatedAt: now.UTC()}
}
