// Package sqsemu emulates the part of Amazon SQS the local cloud needs for
// dead-letter queues and destinations: CreateQueue, GetQueueUrl, ListQueues,
// SendMessage, ReceiveMessage, DeleteMessage and GetQueueAttributes, over
// AWS JSON 1.0 (the Go SDK v2, recent boto3) and the query protocol (AWS
// CLI v1), plus a typed Go API for the other emulators. Queues and their
// messages are kept in one JSON file in the state directory, so they
// survive a restart.
package sqsemu

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomlops/mlops/localcloud/awsmetrics"
	"github.com/gomlops/mlops/localcloud/awsproto"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/statefile"
)

// Options configure a Service.
type Options struct {
	// StateDir is the local cloud's state directory; the queues live in
	// StateDir/sqs/queues.json.
	StateDir string
	// Clock drives visibility timeouts, delays and timestamps.
	Clock clock.Clock
	// Region and AccountID build queue ARNs (defaults us-east-1 and
	// 123456789012).
	Region, AccountID string
	// BaseURL is the endpoint URL queue URLs start with (default
	// http://127.0.0.1:4566).
	BaseURL string
	// Queues are created at start (physical names from the template).
	Queues []string
	// Metrics receives the queues' metrics (AWS/SQS, by QueueName):
	// NumberOfMessagesSent at each send, ApproximateNumberOfMessagesVisible
	// from RunMetrics; nil publishes nothing.
	Metrics awsmetrics.Sink
	// Logger receives metric publishing failures (nil: dropped).
	Logger *slog.Logger
}

// MessageAttribute is an SQS message attribute value.
type MessageAttribute struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

// Message is a stored message.
type Message struct {
	MessageID       string                      `json:"messageId"`
	Body            string                      `json:"body"`
	Attributes      map[string]MessageAttribute `json:"messageAttributes,omitempty"`
	SentAt          time.Time                   `json:"sentAt"`
	VisibleAt       time.Time                   `json:"visibleAt"`
	ReceiveCount    int                         `json:"receiveCount"`
	FirstReceivedAt time.Time                   `json:"firstReceivedAt,omitzero"`
	ReceiptHandle   string                      `json:"receiptHandle,omitempty"`
}

type queue struct {
	Name       string            `json:"name"`
	CreatedAt  time.Time         `json:"createdAt"`
	Attributes map[string]string `json:"attributes"`
	Messages   []*Message        `json:"messages"`
}

// Service is the SQS emulator. It is safe for concurrent use.
type Service struct {
	opts   Options
	path   string
	mu     sync.Mutex
	queues map[string]*queue
	seq    int64
	notify chan struct{}
}

var queueNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}(\.fifo)?$`)

// New loads (or creates) the queue state under opts.StateDir.
func New(opts Options) (*Service, error) {
	if opts.StateDir == "" {
		return nil, errors.New("sqsemu: StateDir is required")
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
	if opts.BaseURL == "" {
		opts.BaseURL = "http://127.0.0.1:4566"
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	dir := filepath.Join(opts.StateDir, "sqs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sqsemu: create state dir: %w", err)
	}
	s := &Service{opts: opts, path: filepath.Join(dir, "queues.json"), queues: map[string]*queue{}, notify: make(chan struct{})}
	var st storedState
	if _, err := statefile.Read(s.path, &st); err != nil {
		return nil, fmt.Errorf("sqsemu: stored state: %w", err)
	}
	s.seq = st.Seq
	for k, q := range st.Queues {
		s.queues[k] = q
	}
	for _, name := range opts.Queues {
		if _, err := s.CreateQueue(name, nil); err != nil {
			return nil, fmt.Errorf("sqsemu: create queue %q: %w", name, err)
		}
	}
	return s, nil
}

// save writes the state atomically. Callers hold s.mu.
func (s *Service) save() error {
	if err := statefile.Write(s.path, storedState{Seq: s.seq, Queues: s.queues}); err != nil {
		return fmt.Errorf("save sqs state: %w", err)
	}
	return nil
}

// storedState is what queues.json holds.
type storedState struct {
	Seq    int64             `json:"seq"`
	Queues map[string]*queue `json:"queues"`
}

// wake tells long-polling receivers that something changed. Callers hold s.mu.
func (s *Service) wake() {
	close(s.notify)
	s.notify = make(chan struct{})
}

// QueueURL returns the URL of the named queue.
func (s *Service) QueueURL(name string) string {
	return s.opts.BaseURL + "/" + s.opts.AccountID + "/" + name
}

// QueueARN returns the ARN of the named queue.
func (s *Service) QueueARN(name string) string {
	return "arn:aws:sqs:" + s.opts.Region + ":" + s.opts.AccountID + ":" + name
}

// queueName extracts the queue name from a URL, an ARN or a bare name.
func queueName(ref string) string {
	ref = strings.TrimRight(ref, "/")
	if strings.HasPrefix(ref, "arn:") {
		return ref[strings.LastIndex(ref, ":")+1:]
	}
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

func errNoQueue(ref string) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "QueueDoesNotExist", "The specified queue %s does not exist.", queueName(ref))
}

// lookup returns the queue for ref. Callers hold s.mu.
func (s *Service) lookup(ref string) (*queue, error) {
	if ref == "" {
		return nil, awsproto.Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter QueueUrl.")
	}
	q, ok := s.queues[queueName(ref)]
	if !ok {
		return nil, errNoQueue(ref)
	}
	return q, nil
}

var defaultQueueAttributes = map[string]string{
	"VisibilityTimeout":             "30",
	"DelaySeconds":                  "0",
	"MessageRetentionPeriod":        "345600",
	"MaximumMessageSize":            "262144",
	"ReceiveMessageWaitTimeSeconds": "0",
}

// CreateQueue creates the queue (or returns the existing one when the
// attributes agree, as SQS does) and returns its URL.
func (s *Service) CreateQueue(name string, attributes map[string]string) (string, error) {
	if !queueNameRE.MatchString(name) {
		return "", awsproto.Errorf(http.StatusBadRequest, "InvalidParameterValue", "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	for k, v := range attributes {
		if _, known := defaultQueueAttributes[k]; !known && k != "RedrivePolicy" && k != "Policy" && k != "KmsMasterKeyId" && k != "FifoQueue" && k != "SqsManagedSseEnabled" {
			return "", awsproto.Errorf(http.StatusBadRequest, "InvalidAttributeName", "Unknown Attribute %s.", k)
		}
		if _, numeric := defaultQueueAttributes[k]; numeric {
			if _, err := strconv.Atoi(v); err != nil {
				return "", awsproto.Errorf(http.StatusBadRequest, "InvalidAttributeValue", "Invalid value for the parameter %s.", k)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.queues[name]; ok {
		for k, v := range attributes {
			if q.Attributes[k] != v {
				return "", awsproto.Errorf(http.StatusBadRequest, "QueueAlreadyExists", "A queue already exists with the same name and a different value for attribute %s", k)
			}
		}
		return s.QueueURL(name), nil
	}
	attrs := map[string]string{}
	for k, v := range defaultQueueAttributes {
		attrs[k] = v
	}
	for k, v := range attributes {
		attrs[k] = v
	}
	s.queues[name] = &queue{Name: name, CreatedAt: s.opts.Clock.Now(), Attributes: attrs}
	if err := s.save(); err != nil {
		delete(s.queues, name)
		return "", err
	}
	return s.QueueURL(name), nil
}

// GetQueueURL returns the URL of an existing queue.
func (s *Service) GetQueueURL(name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.queues[name]; !ok {
		return "", errNoQueue(name)
	}
	return s.QueueURL(name), nil
}

// ListQueues returns the URLs of the queues whose name starts with prefix.
func (s *Service) ListQueues(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name := range s.queues {
		if strings.HasPrefix(name, prefix) {
			out = append(out, s.QueueURL(name))
		}
	}
	sort.Strings(out)
	return out
}

// SendMessage enqueues body on the queue named by URL, ARN or name, with
// string attributes, and returns the message id. It is the Go API other
// emulators use for dead-letter queues.
func (s *Service) SendMessage(ctx context.Context, queueRef, body string, attributes map[string]string) (string, error) {
	attrs := make(map[string]MessageAttribute, len(attributes))
	for k, v := range attributes {
		attrs[k] = MessageAttribute{DataType: "String", StringValue: v}
	}
	m, err := s.send(ctx, queueRef, body, attrs, -1)
	if err != nil {
		return "", err
	}
	return m.MessageID, nil
}

// Deliver sends record to the queue ARN: the destination callback Lambda's
// asynchronous invocation and other emulators use for OnFailure/OnSuccess.
func (s *Service) Deliver(ctx context.Context, destinationARN string, record []byte) error {
	_, err := s.SendMessage(ctx, destinationARN, string(record), nil)
	return err
}

func (s *Service) send(ctx context.Context, queueRef, body string, attrs map[string]MessageAttribute, delaySeconds int) (*Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("send message: %w", err)
	}
	if body == "" {
		return nil, awsproto.Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter MessageBody.")
	}
	if len(body) > 262144 {
		return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.")
	}
	for name, a := range attrs {
		if a.DataType == "" || (a.StringValue == "" && a.BinaryValue == nil) {
			return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidParameterValue", "The message attribute '%s' must contain a non-empty message attribute value and type.", name)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(queueRef)
	if err != nil {
		return nil, err
	}
	if delaySeconds < 0 {
		delaySeconds, _ = strconv.Atoi(q.Attributes["DelaySeconds"])
	}
	if delaySeconds > 900 {
		return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidParameterValue", "Value %d for parameter DelaySeconds is invalid. Reason: must be <= 900.", delaySeconds)
	}
	now := s.opts.Clock.Now()
	s.seq++
	m := &Message{
		MessageID:  messageID(s.seq, now),
		Body:       body,
		Attributes: attrs,
		SentAt:     now,
		VisibleAt:  now.Add(time.Duration(delaySeconds) * time.Second),
	}
	q.Messages = append(q.Messages, m)
	if err := s.save(); err != nil {
		q.Messages = q.Messages[:len(q.Messages)-1]
		return nil, err
	}
	s.wake()
	s.publishSentLocked(q.Name, now)
	return m, nil
}

func messageID(seq int64, now time.Time) string {
	sum := md5.Sum([]byte(fmt.Sprintf("%d/%d", seq, now.UnixNano())))
	h := hex.EncodeToString(sum[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Receive returns up to max visible messages (1..10) and hides them for
// visibility (negative: the queue's VisibilityTimeout). With wait > 0 it
// waits, in real time, up to wait for a message to arrive.
func (s *Service) Receive(ctx context.Context, queueRef string, max int, visibility, wait time.Duration) ([]Message, error) {
	if max == 0 {
		max = 1
	}
	if max < 1 || max > 10 {
		return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidParameterValue", "Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", max)
	}
	deadline := time.Now().Add(wait)
	for {
		s.mu.Lock()
		msgs, err := s.receiveLocked(queueRef, max, visibility)
		notify := s.notify
		s.mu.Unlock()
		if err != nil || len(msgs) > 0 || wait <= 0 {
			return msgs, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		timer := time.NewTimer(min(left, 200*time.Millisecond))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("receive message: %w", ctx.Err())
		case <-notify:
		case <-timer.C:
		}
		timer.Stop()
	}
}

func (s *Service) receiveLocked(queueRef string, max int, visibility time.Duration) ([]Message, error) {
	q, err := s.lookup(queueRef)
	if err != nil {
		return nil, err
	}
	if visibility < 0 {
		vt, _ := strconv.Atoi(q.Attributes["VisibilityTimeout"])
		visibility = time.Duration(vt) * time.Second
	}
	now := s.opts.Clock.Now()
	var out []Message
	for _, m := range q.Messages {
		if len(out) == max {
			break
		}
		if m.VisibleAt.After(now) {
			continue
		}
		m.ReceiveCount++
		if m.FirstReceivedAt.IsZero() {
			m.FirstReceivedAt = now
		}
		m.VisibleAt = now.Add(visibility)
		s.seq++
		m.ReceiptHandle = m.MessageID + "#" + strconv.FormatInt(s.seq, 10)
		out = append(out, *m)
	}
	if len(out) > 0 {
		if err := s.save(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteMessage removes the message a receipt handle names. Deleting an
// already-deleted message succeeds, as in SQS.
func (s *Service) DeleteMessage(queueRef, receiptHandle string) error {
	if receiptHandle == "" {
		return awsproto.Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter ReceiptHandle.")
	}
	id, _, ok := strings.Cut(receiptHandle, "#")
	if !ok {
		return awsproto.Errorf(http.StatusBadRequest, "ReceiptHandleIsInvalid", "The input receipt handle \"%s\" is not a valid receipt handle.", receiptHandle)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(queueRef)
	if err != nil {
		return err
	}
	for i, m := range q.Messages {
		if m.MessageID == id {
			q.Messages = append(q.Messages[:i:i], q.Messages[i+1:]...)
			return s.save()
		}
	}
	return nil
}

// Messages returns a copy of every message on the queue, visible or not,
// without changing anything: tests and the CLI read dead-letter queues
// with it.
func (s *Service) Messages(queueRef string) ([]Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(queueRef)
	if err != nil {
		return nil, err
	}
	out := make([]Message, len(q.Messages))
	for i, m := range q.Messages {
		out[i] = *m
	}
	return out, nil
}

// QueueAttributes returns the queue's attributes including the
// approximate message counts and its ARN.
func (s *Service) QueueAttributes(queueRef string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(queueRef)
	if err != nil {
		return nil, err
	}
	now := s.opts.Clock.Now()
	visible, inflight, delayed := 0, 0, 0
	for _, m := range q.Messages {
		switch {
		case !m.VisibleAt.After(now):
			visible++
		case m.ReceiveCount == 0:
			delayed++
		default:
			inflight++
		}
	}
	out := map[string]string{}
	for k, v := range q.Attributes {
		out[k] = v
	}
	out["ApproximateNumberOfMessages"] = strconv.Itoa(visible)
	out["ApproximateNumberOfMessagesNotVisible"] = strconv.Itoa(inflight)
	out["ApproximateNumberOfMessagesDelayed"] = strconv.Itoa(delayed)
	out["QueueArn"] = s.QueueARN(q.Name)
	out["CreatedTimestamp"] = strconv.FormatInt(q.CreatedAt.Unix(), 10)
	out["LastModifiedTimestamp"] = strconv.FormatInt(q.CreatedAt.Unix(), 10)
	return out, nil
}

// md5OfAttributes computes MD5OfMessageAttributes the way SQS does (and the
// SDKs verify): for each attribute in name order, length-prefixed name,
// length-prefixed data type, a transport byte (1 string, 2 binary) and the
// length-prefixed value.
func md5OfAttributes(attrs map[string]MessageAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	h := md5.New()
	put := func(b []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, name := range names {
		a := attrs[name]
		put([]byte(name))
		put([]byte(a.DataType))
		if strings.HasPrefix(a.DataType, "Binary") {
			h.Write([]byte{2})
			put(a.BinaryValue)
		} else {
			h.Write([]byte{1})
			put([]byte(a.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
