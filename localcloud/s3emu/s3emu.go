// Package s3emu is the local cloud's Amazon S3: gofakes3's S3 protocol
// over a versioning disk backend (objects are files under
// StateDir/s3/<bucket>/objects, so they survive restarts), with buckets
// from the template created at start and, for buckets with EventBridge
// notifications enabled, "Object Created" / "Object Deleted" events in
// AWS's exact shape sent to the local EventBridge.
//
// Clients reach it path-style (the SDKs, boto3 and the CLI do so by
// themselves when the endpoint is an IP address).
package s3emu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/eventbridge"
	"github.com/gomlops/mlops/localcloud/statefile"
	"github.com/johannesboyne/gofakes3"
)

// EventEmitter receives the S3 events of EventBridge-enabled buckets (the
// local EventBridge's Emit).
type EventEmitter interface {
	Emit(ctx context.Context, ev eventbridge.Event) error
}

// Bucket is a bucket to create at start (from the template).
type Bucket struct {
	// Name is the physical bucket name.
	Name string
	// EventBridge is NotificationConfiguration.EventBridgeConfiguration.
	EventBridge bool
	// Versioned is VersioningConfiguration.Status == Enabled.
	Versioned bool
}

// Options configure a Service.
type Options struct {
	// StateDir is the local cloud's state directory (objects live in
	// StateDir/s3).
	StateDir string
	// Clock stamps objects and events.
	Clock clock.Clock
	// Region and AccountID (defaults us-east-1, 123456789012).
	Region, AccountID string
	// Buckets are created (or updated) at start.
	Buckets []Bucket
	// Events receives Object Created / Object Deleted events; nil drops
	// them (buckets then behave as without notifications).
	Events EventEmitter
	// Logger receives event delivery failures (default: discard).
	Logger *slog.Logger
}

// Service is the S3 emulator. It is safe for concurrent use.
type Service struct {
	opts    Options
	backend *diskBackend
	s3      http.Handler
	logger  *slog.Logger

	mu        sync.Mutex
	notifPath string
	notif     map[string]*bucketNotification
	// writeLocks serialise event-producing requests per EventBridge-enabled
	// bucket, so that each event describes exactly the write it follows and
	// sequencers follow the order of the writes.
	writeLocks map[string]*sync.Mutex
}

type bucketNotification struct {
	EventBridge bool   `json:"eventBridge"`
	Sequencer   uint64 `json:"sequencer"`
}

var bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

type clockTime struct{ c clock.Clock }

func (t clockTime) Now() time.Time                   { return t.c.Now() }
func (t clockTime) Since(at time.Time) time.Duration { return t.c.Now().Sub(at) }

// New opens the object store under opts.StateDir and creates opts.Buckets.
func New(opts Options) (*Service, error) {
	if opts.StateDir == "" {
		return nil, errors.New("s3emu: StateDir is required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	root := filepath.Join(opts.StateDir, "s3")
	backend, err := newDiskBackend(root, opts.Clock.Now)
	if err != nil {
		return nil, fmt.Errorf("s3emu: %w", err)
	}
	s := &Service{opts: opts, backend: backend, logger: logger, notifPath: filepath.Join(root, "notifications.json"), notif: map[string]*bucketNotification{}, writeLocks: map[string]*sync.Mutex{}}
	if _, err := statefile.Read(s.notifPath, &s.notif); err != nil {
		return nil, fmt.Errorf("s3emu: stored notifications: %w", err)
	}
	s.s3 = gofakes3.New(backend,
		gofakes3.WithTimeSource(clockTime{opts.Clock}),
		// The clock may be fast-forwarded: never reject a request as skewed.
		gofakes3.WithTimeSkewLimit(0),
		gofakes3.WithHostBucket(false),
	).Server()
	for _, b := range opts.Buckets {
		if err := s.EnsureBucket(b); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// EnsureBucket creates the bucket if needed and applies its versioning and
// EventBridge settings.
func (s *Service) EnsureBucket(b Bucket) error {
	if !bucketNameRE.MatchString(b.Name) {
		return fmt.Errorf("s3emu: bucket name %q is not a valid S3 bucket name", b.Name)
	}
	exists, err := s.backend.BucketExists(b.Name)
	if err != nil {
		return fmt.Errorf("s3emu: bucket %s: %w", b.Name, err)
	}
	if !exists {
		if err := s.backend.CreateBucket(b.Name); err != nil {
			return fmt.Errorf("s3emu: create bucket %s: %w", b.Name, err)
		}
	}
	if b.Versioned {
		if err := s.backend.SetVersioningConfiguration(b.Name, gofakes3.VersioningConfiguration{Status: gofakes3.VersioningEnabled}); err != nil {
			return fmt.Errorf("s3emu: %w", err)
		}
	}
	return s.SetEventBridge(b.Name, b.EventBridge)
}

// SetEventBridge turns EventBridge notifications of a bucket on or off.
func (s *Service) SetEventBridge(bucket string, enabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.notif[bucket]
	if n == nil {
		n = &bucketNotification{}
		s.notif[bucket] = n
	}
	n.EventBridge = enabled
	return s.saveNotifLocked()
}

func (s *Service) saveNotifLocked() error {
	if err := statefile.Write(s.notifPath, s.notif); err != nil {
		return fmt.Errorf("s3emu: save notifications: %w", err)
	}
	return nil
}

// nextSequencer returns the bucket's next sequencer: monotonically
// increasing, fixed-width hex (so it also orders as a string), persisted.
func (s *Service) nextSequencer(bucket string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.notif[bucket]
	if n == nil || !n.EventBridge {
		return "", false
	}
	n.Sequencer++
	if err := s.saveNotifLocked(); err != nil {
		s.logger.Error("persist S3 sequencer", "bucket", bucket, "error", err.Error())
	}
	return fmt.Sprintf("%018X", n.Sequencer), true
}

// writeLock returns the bucket's write lock.
func (s *Service) writeLock(bucket string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.writeLocks[bucket]
	if l == nil {
		l = &sync.Mutex{}
		s.writeLocks[bucket] = l
	}
	return l
}

func (s *Service) eventBridgeEnabled(bucket string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.notif[bucket]
	return n != nil && n.EventBridge
}
