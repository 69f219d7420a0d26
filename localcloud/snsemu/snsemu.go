// Package snsemu emulates Amazon SNS for the local cloud: CreateTopic,
// ListTopics and Publish over the query protocol (the Go SDK v2, boto3 and
// the AWS CLI all speak it), with every published message appended to a
// readable outbox (StateDir/sns/outbox.jsonl, one JSON record a line) that
// a developer can tail and tests can read through Outbox.
package snsemu

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomlops/mlops/localcloud/awsproto"
	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/gomlops/mlops/localcloud/statefile"
)

const namespace = "http://sns.amazonaws.com/doc/2010-03-31/"

// Options configure a Service.
type Options struct {
	// StateDir is the local cloud's state directory (required).
	StateDir string
	// Clock stamps published messages.
	Clock clock.Clock
	// Region and AccountID build topic ARNs (defaults us-east-1,
	// 123456789012).
	Region, AccountID string
	// Topics are created at start (names from the template).
	Topics []string
}

// MessageAttribute is an SNS message attribute.
type MessageAttribute struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
}

// Record is one published message in the outbox.
type Record struct {
	MessageID         string                      `json:"messageId"`
	TopicARN          string                      `json:"topicArn"`
	Subject           string                      `json:"subject,omitempty"`
	Message           string                      `json:"message"`
	MessageStructure  string                      `json:"messageStructure,omitempty"`
	MessageAttributes map[string]MessageAttribute `json:"messageAttributes,omitempty"`
	Timestamp         time.Time                   `json:"timestamp"`
}

// Service is the SNS emulator. It is safe for concurrent use.
type Service struct {
	opts       Options
	topicsPath string
	outboxPath string
	mu         sync.Mutex
	topics     map[string]bool // ARN set
}

var topicNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

// New loads (or creates) the topics under opts.StateDir and creates
// opts.Topics.
func New(opts Options) (*Service, error) {
	if opts.StateDir == "" {
		return nil, errors.New("snsemu: StateDir is required")
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
	dir := filepath.Join(opts.StateDir, "sns")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("snsemu: create state dir: %w", err)
	}
	s := &Service{opts: opts, topicsPath: filepath.Join(dir, "topics.json"), outboxPath: filepath.Join(dir, "outbox.jsonl"), topics: map[string]bool{}}
	var arns []string
	if _, err := statefile.Read(s.topicsPath, &arns); err != nil {
		return nil, fmt.Errorf("snsemu: stored topics: %w", err)
	}
	for _, a := range arns {
		s.topics[a] = true
	}
	for _, name := range opts.Topics {
		if _, err := s.CreateTopic(name); err != nil {
			return nil, fmt.Errorf("snsemu: create topic %q: %w", name, err)
		}
	}
	return s, nil
}

// TopicARN returns the ARN of the named topic.
func (s *Service) TopicARN(name string) string {
	return "arn:aws:sns:" + s.opts.Region + ":" + s.opts.AccountID + ":" + name
}

// OutboxPath is the JSON-lines file every published message is appended to.
func (s *Service) OutboxPath() string { return s.outboxPath }

// CreateTopic creates the topic (idempotent) and returns its ARN.
func (s *Service) CreateTopic(name string) (string, error) {
	if !topicNameRE.MatchString(name) {
		return "", awsproto.Errorf(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Topic Name")
	}
	arn := s.TopicARN(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.topics[arn] {
		return arn, nil
	}
	s.topics[arn] = true
	if err := s.saveTopics(); err != nil {
		delete(s.topics, arn)
		return "", err
	}
	return arn, nil
}

func (s *Service) saveTopics() error {
	if err := statefile.Write(s.topicsPath, s.listLocked()); err != nil {
		return fmt.Errorf("save topics: %w", err)
	}
	return nil
}

func (s *Service) listLocked() []string {
	out := make([]string, 0, len(s.topics))
	for a := range s.topics {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// ListTopics returns every topic ARN, sorted.
func (s *Service) ListTopics() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listLocked()
}

// Publish appends a message to the outbox and returns its id.
func (s *Service) Publish(ctx context.Context, topicARN, subject, message string, attrs map[string]MessageAttribute) (string, error) {
	return s.publish(ctx, Record{TopicARN: topicARN, Subject: subject, Message: message, MessageAttributes: attrs})
}

// Deliver publishes record to the topic ARN: the destination callback for
// Lambda's asynchronous OnFailure/OnSuccess and other emulators.
func (s *Service) Deliver(ctx context.Context, destinationARN string, record []byte) error {
	_, err := s.Publish(ctx, destinationARN, "", string(record), nil)
	return err
}

func (s *Service) publish(ctx context.Context, rec Record) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	if rec.TopicARN == "" {
		return "", awsproto.Errorf(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter")
	}
	if rec.Message == "" {
		return "", awsproto.Errorf(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Empty message")
	}
	if len(rec.Message) > 262144 {
		return "", awsproto.Errorf(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Message too long")
	}
	if len(rec.Subject) > 100 {
		return "", awsproto.Errorf(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Subject")
	}
	if rec.MessageStructure == "json" {
		var m map[string]any
		if err := json.Unmarshal([]byte(rec.Message), &m); err != nil {
			return "", awsproto.Errorf(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Message Structure - No JSON message body is parseable")
		}
		if _, ok := m["default"]; !ok {
			return "", awsproto.Errorf(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Message Structure - No default entry in JSON message body")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.topics[rec.TopicARN] {
		return "", awsproto.Errorf(http.StatusNotFound, "NotFound", "Topic does not exist")
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	rec.MessageID = h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	rec.Timestamp = s.opts.Clock.Now().UTC()
	line, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("encode outbox record: %w", err)
	}
	f, err := os.OpenFile(s.outboxPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return "", fmt.Errorf("open outbox: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("append to outbox: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("close outbox: %w", err)
	}
	return rec.MessageID, nil
}

// Outbox returns every message published so far, oldest first (across
// restarts). topicARN filters when not empty.
func (s *Service) Outbox(topicARN string) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.Open(s.outboxPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open outbox: %w", err)
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	for n := 1; sc.Scan(); n++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("outbox line %d: %w", n, err)
		}
		if topicARN == "" || r.TopicARN == topicARN {
			out = append(out, r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return out, nil
}

// ServeHTTP answers query-protocol SNS actions.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	action, form, err := awsproto.QueryAction(r)
	if err != nil {
		awsproto.WriteQueryError(w, err)
		return
	}
	switch action {
	case "CreateTopic":
		arn, err := s.CreateTopic(form.Get("Name"))
		write(w, action, struct {
			TopicArn string `xml:"TopicArn"`
		}{arn}, err)
	case "ListTopics":
		type member struct {
			TopicArn string `xml:"TopicArn"`
		}
		var out struct {
			Topics []member `xml:"Topics>member"`
		}
		for _, a := range s.ListTopics() {
			out.Topics = append(out.Topics, member{a})
		}
		write(w, action, out, nil)
	case "Publish":
		topic := form.Get("TopicArn")
		if topic == "" {
			topic = form.Get("TargetArn")
		}
		attrs, err := queryAttributes(form)
		if err != nil {
			awsproto.WriteQueryError(w, err)
			return
		}
		id, err := s.publish(r.Context(), Record{TopicARN: topic, Subject: form.Get("Subject"), Message: form.Get("Message"),
			MessageStructure: form.Get("MessageStructure"), MessageAttributes: attrs})
		write(w, action, struct {
			MessageID string `xml:"MessageId"`
		}{id}, err)
	default:
		awsproto.WriteQueryError(w, awsproto.InvalidAction(action))
	}
}

// queryAttributes reads MessageAttributes.entry.N.{Name,Value.DataType,
// Value.StringValue}.
func queryAttributes(form url.Values) (map[string]MessageAttribute, error) {
	var out map[string]MessageAttribute
	for i := 1; ; i++ {
		p := "MessageAttributes.entry." + strconv.Itoa(i) + "."
		name := form.Get(p + "Name")
		if name == "" {
			return out, nil
		}
		a := MessageAttribute{DataType: form.Get(p + "Value.DataType"), StringValue: form.Get(p + "Value.StringValue")}
		if a.DataType == "" {
			return nil, awsproto.Errorf(http.StatusBadRequest, "ParameterValueInvalid", "The message attribute '%s' must contain non-empty message attribute type.", name)
		}
		if out == nil {
			out = map[string]MessageAttribute{}
		}
		out[name] = a
	}
}

func write(w http.ResponseWriter, action string, result any, err error) {
	if err != nil {
		awsproto.WriteQueryError(w, err)
		return
	}
	awsproto.WriteQuery(w, action, namespace, result)
}
