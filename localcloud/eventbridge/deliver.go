package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gomlops/mlops/localcloud/awsproto"
)

// Default retry policy of an EventBridge rule target.
const (
	defaultRetryAttempts = 185
	defaultMaxEventAge   = 24 * time.Hour
	maxBackoff           = 5 * time.Minute
)

// PutEventsEntry is one entry of PutEvents.
type PutEventsEntry struct {
	Source       string   `json:"Source"`
	DetailType   string   `json:"DetailType"`
	Detail       string   `json:"Detail"`
	Resources    []string `json:"Resources,omitempty"`
	Time         *float64 `json:"Time,omitempty"` // epoch seconds, as the SDKs send it
	EventBusName string   `json:"EventBusName,omitempty"`
}

// PutEventsResultEntry is the result of one entry: an EventId or an error.
type PutEventsResultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// PutEvents validates each entry as AWS does, emits the valid ones and
// returns one result per entry plus the failed count.
func (s *Service) PutEvents(ctx context.Context, entries []PutEventsEntry) ([]PutEventsResultEntry, int, error) {
	if len(entries) == 0 || len(entries) > 10 {
		return nil, 0, validationf("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and 10")
	}
	results := make([]PutEventsResultEntry, len(entries))
	failed := 0
	for i, e := range entries {
		ev, code, msg := s.entryEvent(e)
		if code == "" {
			if err := s.Emit(ctx, ev); err != nil {
				code, msg = "InternalException", "failed to route the event"
			}
		}
		if code != "" {
			results[i] = PutEventsResultEntry{ErrorCode: code, ErrorMessage: msg}
			failed++
			continue
		}
		results[i] = PutEventsResultEntry{EventID: ev.ID}
	}
	return results, failed, nil
}

func (s *Service) entryEvent(e PutEventsEntry) (Event, string, string) {
	switch {
	case e.Source == "":
		return Event{}, "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
	case e.DetailType == "":
		return Event{}, "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
	case e.Detail == "":
		return Event{}, "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
	case strings.HasPrefix(e.Source, "aws."):
		return Event{}, "NotAuthorizedForSourceException", "Not authorized for the source."
	}
	var detail map[string]any
	if err := json.Unmarshal([]byte(e.Detail), &detail); err != nil || detail == nil {
		return Event{}, "MalformedDetail", "Detail is malformed."
	}
	if err := s.checkBus(e.EventBusName); err != nil {
		return Event{}, "InvalidArgument", "Event bus " + e.EventBusName + " does not exist."
	}
	ev := Event{ID: newUUID(), DetailType: e.DetailType, Source: e.Source, Resources: e.Resources, Detail: json.RawMessage(e.Detail)}
	if e.Time != nil {
		sec := int64(*e.Time)
		ev.Time = time.Unix(sec, 0).UTC().Format(time.RFC3339)
	}
	return ev, "", ""
}

// Emit fills in the envelope defaults (version "0", id, account, region,
// time from the clock, empty resources and detail) and routes the event
// to the targets of every enabled rule whose pattern matches. Deliveries
// run in the background; Wait waits for them.
func (s *Service) Emit(ctx context.Context, ev Event) error {
	if ev.Version == "" {
		ev.Version = "0"
	}
	if ev.ID == "" {
		ev.ID = newUUID()
	}
	if ev.Account == "" {
		ev.Account = s.opts.AccountID
	}
	if ev.Region == "" {
		ev.Region = s.opts.Region
	}
	if ev.Time == "" {
		ev.Time = s.opts.Clock.Now().UTC().Format(time.RFC3339)
	}
	if ev.Resources == nil {
		ev.Resources = []string{}
	}
	if len(ev.Detail) == 0 {
		ev.Detail = json.RawMessage("{}")
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	var decoded map[string]any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&decoded); err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	s.mu.Lock()
	var matched []*compiledRule
	for _, n := range s.sortedNamesLocked() {
		cr := s.rules[n]
		if cr.State == "ENABLED" && cr.pattern != nil && cr.pattern.MatchValue(decoded) {
			matched = append(matched, cr)
		}
	}
	s.mu.Unlock()
	for _, cr := range matched {
		s.dispatch(cr, raw, decoded)
	}
	return nil
}

// dispatch starts one background delivery per target.
func (s *Service) dispatch(cr *compiledRule, raw []byte, decoded map[string]any) {
	ingested := s.opts.Clock.Now()
	for _, t := range cr.Targets {
		s.inflight.Add(1)
		go func(t Target) {
			defer s.inflight.Done()
			s.deliver(cr.Name, t, raw, decoded, ingested)
		}(t)
	}
}

// deliveryError classifies a failed target call for the DLQ attributes.
type deliveryError struct {
	code      string
	retryable bool
	err       error
}

func classify(err error) deliveryError {
	code := ""
	var coder interface{ ErrorCode() string }
	var awsErr *awsproto.Error
	switch {
	case errors.As(err, &awsErr):
		code = awsErr.Code
	case errors.As(err, &coder):
		code = coder.ErrorCode()
	}
	switch {
	case strings.Contains(code, "NotFound") || strings.Contains(code, "DoesNotExist") || code == "NonExistentQueue":
		return deliveryError{code: "RESOURCE_NOT_FOUND", err: err}
	case strings.Contains(code, "AccessDenied") || strings.Contains(code, "NotAuthorized"):
		return deliveryError{code: "NO_PERMISSIONS", err: err}
	case strings.Contains(code, "Throttl") || strings.Contains(code, "TooManyRequests"):
		return deliveryError{code: "THROTTLING", retryable: true, err: err}
	}
	return deliveryError{code: "SDK_CLIENT_ERROR", retryable: true, err: err}
}

func (s *Service) deliver(rule string, t Target, raw []byte, decoded map[string]any, ingested time.Time) {
	ctx := s.ctx
	payload, err := s.targetInput(rule, t, raw, decoded, ingested)
	if err != nil {
		// A transformer that fails on this event fails without retries.
		s.deadLetter(ctx, rule, t, raw, deliveryError{code: "INVALID_PARAMETER", err: err}, "", 0)
		return
	}
	maxAttempts, maxAge := defaultRetryAttempts, defaultMaxEventAge
	if rp := t.RetryPolicy; rp != nil {
		if rp.MaximumRetryAttempts != nil {
			maxAttempts = *rp.MaximumRetryAttempts
		}
		if rp.MaximumEventAgeInSeconds != nil {
			maxAge = time.Duration(*rp.MaximumEventAgeInSeconds) * time.Second
		}
	}
	backoff := time.Second
	for retries := 0; ; retries++ {
		err := s.invoke(ctx, t.Arn, payload)
		if err == nil {
			return
		}
		de := classify(err)
		s.logger.WarnContext(ctx, "event delivery failed", "rule", rule, "target", t.ID, "arn", t.Arn, "attempt", retries+1, "error", err.Error())
		if !de.retryable {
			s.deadLetter(ctx, rule, t, raw, de, "", retries)
			return
		}
		if retries >= maxAttempts {
			s.deadLetter(ctx, rule, t, raw, de, "MaximumRetryAttemptsExhausted", retries)
			return
		}
		if s.opts.Clock.Now().Add(backoff).Sub(ingested) > maxAge {
			s.deadLetter(ctx, rule, t, raw, de, "MaximumEventAgeExhausted", retries)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.opts.Clock.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// deadLetter sends the original event to the target's DLQ with AWS's
// attributes, or logs the drop when there is none.
func (s *Service) deadLetter(ctx context.Context, rule string, t Target, raw []byte, de deliveryError, exhausted string, retries int) {
	if t.DeadLetterConfig == nil || t.DeadLetterConfig.Arn == "" {
		s.logger.ErrorContext(ctx, "event dropped after failed delivery (no dead-letter queue)", "rule", rule, "target", t.ID, "error", de.err.Error())
		return
	}
	if s.opts.SQS == nil {
		s.logger.ErrorContext(ctx, "event dropped: dead-letter queue configured but SQS is not wired", "rule", rule, "target", t.ID)
		return
	}
	attrs := map[string]string{
		"RULE_ARN":       s.RuleARN(rule),
		"TARGET_ARN":     t.Arn,
		"ERROR_CODE":     de.code,
		"ERROR_MESSAGE":  truncate(de.err.Error(), 1024),
		"RETRY_ATTEMPTS": strconv.Itoa(retries),
	}
	if exhausted != "" {
		attrs["EXHAUSTED_RETRY_CONDITION"] = exhausted
	}
	// The DLQ gets the event itself, even when it was delivered to the
	// target transformed; a closed service still records it.
	if _, err := s.opts.SQS.SendMessage(context.WithoutCancel(ctx), t.DeadLetterConfig.Arn, string(raw), attrs); err != nil {
		s.logger.ErrorContext(ctx, "event dropped: sending to the dead-letter queue failed", "rule", rule, "target", t.ID, "dlq", t.DeadLetterConfig.Arn, "error", err.Error())
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// invoke calls the service a target ARN names.
func (s *Service) invoke(ctx context.Context, arn string, payload []byte) error {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return awsproto.Errorf(http.StatusBadRequest, "ResourceNotFoundException", "malformed target ARN %s", arn)
	}
	switch parts[2] {
	case "lambda":
		if s.opts.Lambda == nil {
			return errors.New("lambda targets are not wired in this local cloud")
		}
		return s.opts.Lambda.InvokeAsync(ctx, arn, payload)
	case "states":
		if s.opts.StepFunctions == nil {
			return errors.New("step functions targets are not wired in this local cloud")
		}
		return s.opts.StepFunctions.StartExecution(ctx, arn, newUUID(), string(payload))
	case "sqs":
		if s.opts.SQS == nil {
			return errors.New("sqs targets are not wired in this local cloud")
		}
		_, err := s.opts.SQS.SendMessage(ctx, arn, string(payload), nil)
		return err
	case "sns":
		if s.opts.SNS == nil {
			return errors.New("sns targets are not wired in this local cloud")
		}
		return s.opts.SNS.Deliver(ctx, arn, payload)
	}
	return awsproto.Errorf(http.StatusBadRequest, "ResourceNotFoundException", "target service %q is not emulated by the local cloud", parts[2])
}
