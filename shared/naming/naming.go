// Package naming derives deterministic, AWS-valid resource names.
//
// The same input always yields the same name, which is what makes every step
// idempotent: a duplicate S3 event derives the same execution name (and Step
// Functions refuses a second execution), a retried training launch derives the
// same job name (and SageMaker answers that it exists). Names keep a readable
// part for humans and a hash for uniqueness.
package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Limits of the AWS APIs the names are used with.
const (
	// MaxExecutionName is Step Functions' limit on execution names.
	MaxExecutionName = 80
	// MaxSageMakerName is the limit on training job, model, endpoint and
	// endpoint configuration names.
	MaxSageMakerName = 63
	hashLen          = 16
)

// ObjectIdentity identifies one version of one S3 object as delivered by an
// S3 event. The sequencer distinguishes two writes of the same key in an
// unversioned bucket.
type ObjectIdentity struct {
	Bucket    string
	Key       string
	VersionID string
	Sequencer string
}

// Hash returns a stable hex digest of parts, separated unambiguously.
func Hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Execution returns the Step Functions execution name for a dataset object:
// "<prefix>-<readable part of the key>-<hash>", at most 80 characters of
// [A-Za-z0-9-]. The prefix says what started it ("ingest", "retrain").
func Execution(prefix string, obj ObjectIdentity) string {
	return compose(prefix, baseName(obj.Key), Hash(obj.Bucket, obj.Key, obj.VersionID, obj.Sequencer), MaxExecutionName)
}

// Retrain returns the execution name for a retraining of endpoint on dataset
// started inside a guard window (for example the cooldown window's start as
// RFC 3339): two alarm events inside one window derive the same name, so at
// most one retraining starts.
func Retrain(endpoint, window string, dataset ObjectIdentity) string {
	return compose("retrain", endpoint, Hash(endpoint, window, dataset.Bucket, dataset.Key, dataset.VersionID, dataset.Sequencer), MaxExecutionName)
}

// Resource returns a SageMaker-valid name ("<kind>-<readable>-<hash>",
// at most 63 characters matching ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}) for a
// resource of kind (e.g. "train", "model", "config") made by execution.
func Resource(kind, execution string) string {
	return compose(kind, execution, Hash(kind, execution), MaxSageMakerName)
}

// compose joins prefix, a slug of readable and a hash, within max characters.
func compose(prefix, readable, hash string, max int) string {
	prefix = slug(prefix)
	h := hash[:hashLen]
	room := max - len(prefix) - len(h) - 2
	r := slug(readable)
	if len(r) > room {
		r = strings.Trim(r[:room], "-")
	}
	parts := []string{}
	for _, p := range []string{prefix, r, h} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "-")
}

// slug keeps ASCII letters and digits, turns every other run into one "-"
// and trims dashes at both ends.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteRune(c)
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	return strings.Trim(b.String(), "-")
}

// baseName is the last path element of key without its extension.
func baseName(key string) string {
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		key = key[i+1:]
	}
	if i := strings.LastIndexByte(key, '.'); i > 0 {
		key = key[:i]
	}
	return key
}
