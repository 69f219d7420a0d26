package lambdaemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gomlops/mlops/localcloud/statefile"
)

// Lambda's asynchronous invocation defaults.
const (
	defaultMaxRetryAttempts = 2
	defaultMaxEventAge      = 6 * time.Hour
	maxThrottleBackoff      = 5 * time.Minute
)

// InvokeAsync queues an Event invocation and returns once it is accepted,
// as Lambda's 202. The function then runs in the background; a function
// error is retried MaximumRetryAttempts times (default 2) one and two
// minutes apart on the service's clock; throttles are retried with backoff
// until MaximumEventAgeInSeconds (default 6 h). A failed event goes to the
// OnFailure destination (an invocation record) and to the dead-letter
// queue (the original event); a success goes to OnSuccess.
func (s *Service) InvokeAsync(ctx context.Context, fn string, payload []byte) error {
	_, err := s.invokeAsync(ctx, fn, payload)
	return err
}

func (s *Service) invokeAsync(_ context.Context, ref string, payload []byte) (string, error) {
	fn, err := s.lookup(ref)
	if err != nil {
		return "", err
	}
	payload, err = checkPayload(payload, maxAsyncPayload)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", serviceError("the local Lambda service is shut down")
	}
	s.async.Add(1)
	s.mu.Unlock()
	ev := pendingEvent{RequestID: newRequestID(), Function: fn.cfg.Name, Payload: payload, Accepted: s.clock.Now()}
	if err := s.savePending(ev); err != nil {
		s.async.Done()
		return "", serviceError("queue the event: %v", err)
	}
	go func() {
		defer s.async.Done()
		if s.runAsync(fn, ev.RequestID, payload, ev.Accepted) {
			s.dropPending(ev.RequestID)
		}
	}()
	return ev.RequestID, nil
}

// pendingEvent is an accepted Event invocation, kept in the state directory
// until it succeeded or went to its destinations, so a restart resumes it.
type pendingEvent struct {
	RequestID string          `json:"requestId"`
	Function  string          `json:"function"`
	Payload   json.RawMessage `json:"payload"`
	Accepted  time.Time       `json:"accepted"`
}

func (s *Service) pendingDir() string { return filepath.Join(s.stateDir, "lambda", "async") }

func (s *Service) savePending(ev pendingEvent) error {
	return statefile.Write(filepath.Join(s.pendingDir(), ev.RequestID+".json"), ev)
}

func (s *Service) dropPending(reqID string) {
	_ = os.Remove(filepath.Join(s.pendingDir(), reqID+".json"))
}

// resumePending restarts the Event invocations a previous run accepted
// but did not finish. Their event age counts from the first acceptance.
func (s *Service) resumePending() error {
	files, err := filepath.Glob(filepath.Join(s.pendingDir(), "*.json"))
	if err != nil {
		return err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read pending event %s: %w", f, err)
		}
		var ev pendingEvent
		if err := json.Unmarshal(b, &ev); err != nil || ev.RequestID == "" {
			return fmt.Errorf("pending event %s is corrupt (move it away to start): %v", f, err)
		}
		fn, err := s.lookup(ev.Function)
		if err != nil {
			return fmt.Errorf("pending event %s is for function %q, which the template no longer has (move it away to start)", f, ev.Function)
		}
		fn.logs.writeLine(nil, fmt.Sprintf("async event %s resumed from %s", ev.RequestID, f))
		s.async.Add(1)
		go func() {
			defer s.async.Done()
			if s.runAsync(fn, ev.RequestID, ev.Payload, ev.Accepted) {
				s.dropPending(ev.RequestID)
			}
		}()
	}
	return nil
}

// runAsync runs an Event invocation to its end; false means the service
// closed first (the event stays pending for the next start).
func (s *Service) runAsync(fn *function, reqID string, payload []byte, start time.Time) bool {
	ctx := s.asyncCtx
	maxRetries, maxAge := defaultMaxRetryAttempts, defaultMaxEventAge
	var onSuccess, onFailure string
	if c := fn.cfg.EventInvokeConfig; c != nil {
		if c.MaximumRetryAttempts != nil {
			maxRetries = *c.MaximumRetryAttempts
		}
		if c.MaximumEventAgeInSeconds != nil {
			maxAge = time.Duration(*c.MaximumEventAgeInSeconds) * time.Second
		}
		onSuccess, onFailure = c.OnSuccess, c.OnFailure
	}
	attempts := 0
	backoff := time.Second
	var last *InvokeOutput
	condition := ""
	for {
		out, err := s.InvokeFunction(ctx, InvokeInput{Function: fn.cfg.Name, Payload: payload, RequestID: reqID})
		if err != nil {
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status == 400 || apiErr.Status == 404 {
				if ctx.Err() != nil {
					fn.logs.writeLine(nil, fmt.Sprintf("async event %s kept for the next start (shutdown after %d attempts)", reqID, attempts))
					return false
				}
				last = nil
				condition = "RetriesExhausted"
				fn.logs.writeLine(nil, fmt.Sprintf("async event %s cannot run: %v", reqID, err))
				break
			}
			// Throttled or a service error: wait and retry; it does not
			// count as an attempt.
			if s.clock.Now().Add(backoff).Sub(start) > maxAge {
				condition = "EventAgeExceeded"
				break
			}
			if !s.sleep(backoff) {
				fn.logs.writeLine(nil, fmt.Sprintf("async event %s kept for the next start (shutdown while throttled)", reqID))
				return false
			}
			backoff = min(backoff*2, maxThrottleBackoff)
			continue
		}
		attempts++
		last = out
		if out.FunctionError == nil {
			if onSuccess != "" {
				s.deliver(fn, onSuccess, s.record(fn, reqID, "Success", attempts, payload, out))
			}
			return true
		}
		if attempts > maxRetries {
			condition = "RetriesExhausted"
			break
		}
		delay := time.Duration(attempts) * time.Minute // 1 min, then 2 min
		if s.clock.Now().Add(delay).Sub(start) > maxAge {
			condition = "EventAgeExceeded"
			break
		}
		fn.logs.writeLine(nil, fmt.Sprintf("async event %s failed (%s), retry %d/%d in %s", reqID, out.FunctionError.Type, attempts, maxRetries, delay))
		if !s.sleep(delay) {
			fn.logs.writeLine(nil, fmt.Sprintf("async event %s kept for the next start (shutdown before retry %d)", reqID, attempts))
			return false
		}
	}
	fn.logs.writeLine(nil, fmt.Sprintf("async event %s failed: %s after %d attempts", reqID, condition, attempts))
	delivered := false
	if onFailure != "" {
		s.deliver(fn, onFailure, s.record(fn, reqID, condition, attempts, payload, last))
		delivered = true
	}
	if fn.cfg.DeadLetterARN != "" {
		s.deliver(fn, fn.cfg.DeadLetterARN, payload)
		delivered = true
	}
	if !delivered {
		fn.logs.writeLine(nil, fmt.Sprintf("async event %s dropped: the function has no OnFailure destination or dead-letter queue (as in Lambda); event: %s", reqID, payload))
	}
	return true
}

// sleep waits d on the service's clock; false means the service closed.
func (s *Service) sleep(d time.Duration) bool {
	select {
	case <-s.clock.After(d):
		return true
	case <-s.closing:
		return false
	}
}

// record is Lambda's asynchronous invocation record for destinations.
func (s *Service) record(fn *function, reqID, condition string, attempts int, payload []byte, out *InvokeOutput) []byte {
	type requestContext struct {
		RequestID              string `json:"requestId"`
		FunctionARN            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	}
	type responseContext struct {
		StatusCode      int    `json:"statusCode"`
		ExecutedVersion string `json:"executedVersion"`
		FunctionError   string `json:"functionError,omitempty"`
	}
	rec := struct {
		Version         string           `json:"version"`
		Timestamp       string           `json:"timestamp"`
		RequestContext  requestContext   `json:"requestContext"`
		RequestPayload  json.RawMessage  `json:"requestPayload"`
		ResponseContext *responseContext `json:"responseContext,omitempty"`
		ResponsePayload json.RawMessage  `json:"responsePayload,omitempty"`
	}{
		Version:        "1.0",
		Timestamp:      s.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		RequestContext: requestContext{RequestID: reqID, FunctionARN: fn.cfg.ARN + ":$LATEST", Condition: condition, ApproximateInvokeCount: attempts},
		RequestPayload: payload,
	}
	if out != nil {
		rc := &responseContext{StatusCode: 200, ExecutedVersion: "$LATEST"}
		if out.FunctionError != nil {
			rc.FunctionError = "Unhandled"
		}
		rec.ResponseContext = rc
		if json.Valid(out.Payload) {
			rec.ResponsePayload = out.Payload
		} else {
			b, _ := json.Marshal(string(out.Payload))
			rec.ResponsePayload = b
		}
	}
	b, _ := json.Marshal(rec)
	return b
}

// deliver sends to a destination: a function of this service directly,
// anything else through Options.Destination. A delivery that cannot
// happen is logged loudly, never dropped silently.
func (s *Service) deliver(fn *function, arn string, body []byte) {
	if strings.HasPrefix(arn, "arn:aws:lambda:") {
		if _, err := s.invokeAsync(s.asyncCtx, arn, body); err != nil {
			fn.logs.writeLine(nil, fmt.Sprintf("ERROR deliver to destination %s: %v; record: %s", arn, err, body))
		}
		return
	}
	if s.opts.Destination == nil {
		fn.logs.writeLine(nil, fmt.Sprintf("ERROR no destination sender is wired for %s; record: %s", arn, body))
		return
	}
	if err := s.opts.Destination(s.asyncCtx, arn, body); err != nil {
		fn.logs.writeLine(nil, fmt.Sprintf("ERROR deliver to destination %s: %v; record: %s", arn, err, body))
	}
}
