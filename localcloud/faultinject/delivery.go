package faultinject

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gomlops/mlops/localcloud/eventbridge"
)

// defaultReorderHold is how long ActionReorder holds an event when no
// later event overtakes it.
const defaultReorderHold = 5 * time.Second

var deliveryActions = map[string]bool{ActionDuplicate: true, ActionDelay: true, ActionReorder: true, ActionFail: true, ActionThrottle: true}

// deliver runs send under the event faults matching (service, op,
// target). Duplicates are sent one after the other and the first error is
// returned. Late and held events are sent in the background (Wait waits
// for them) when async is true, else the caller waits for them.
func (inj *Injector) deliver(ctx context.Context, service, op, target string, async bool, send func(context.Context) error) error {
	rule := inj.decide(service, op, target, func(a string) bool { return deliveryActions[a] })
	if rule == nil {
		err := send(ctx)
		inj.overtake(service, op, target)
		return err
	}
	switch rule.Action {
	case ActionThrottle:
		return ThrottleError(service)
	case ActionFail:
		return failError(rule)
	case ActionDuplicate:
		times := rule.Times
		if times == 0 {
			times = 2
		}
		var errs []error
		for range times {
			errs = append(errs, send(ctx))
		}
		inj.overtake(service, op, target)
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	case ActionDelay:
		return inj.later(ctx, async, func(ctx context.Context) error {
			inj.sleep(ctx, time.Duration(rule.Latency))
			return send(ctx)
		})
	case ActionReorder:
		release := make(chan struct{})
		inj.mu.Lock()
		inj.held[rule.ID] = append(inj.held[rule.ID], release)
		inj.mu.Unlock()
		return inj.later(ctx, async, func(ctx context.Context) error {
			select {
			case <-release:
			case <-inj.clock.After(latencyOr(rule, defaultReorderHold)):
			case <-ctx.Done():
			}
			return send(ctx)
		})
	}
	return send(ctx)
}

// later runs fn now (waiting) or in the background.
func (inj *Injector) later(ctx context.Context, async bool, fn func(context.Context) error) error {
	if !async {
		return fn(ctx)
	}
	inj.pending.Add(1)
	go func() {
		defer inj.pending.Done()
		_ = fn(context.WithoutCancel(ctx))
	}()
	return nil
}

// overtake releases the events held by reorder rules of the same point
// (service and operation, whatever the target): they arrive after this
// later delivery.
func (inj *Injector) overtake(service, op, _ string) {
	if inj == nil {
		return
	}
	inj.mu.Lock()
	defer inj.mu.Unlock()
	for _, a := range inj.rules {
		if a.Action == ActionReorder && matchName(a.Service, service) && matchName(a.Operation, op) {
			inj.releaseLocked(a.ID)
		}
	}
}

func (inj *Injector) releaseLocked(id string) {
	for _, ch := range inj.held[id] {
		close(ch)
	}
	delete(inj.held, id)
}

// EventEmitter is what S3 emits its notifications to (s3emu.EventEmitter).
type EventEmitter interface {
	Emit(ctx context.Context, ev eventbridge.Event) error
}

// Emitter wraps the emitter S3 notifications go to (service "s3",
// operation OpNotify, target "bucket/key"): duplicate, delay, reorder.
// Late events leave S3's request at once, as in AWS. A nil injector
// returns next.
func (inj *Injector) Emitter(next EventEmitter) EventEmitter {
	if inj == nil {
		return next
	}
	return emitter{inj: inj, next: next}
}

type emitter struct {
	inj  *Injector
	next EventEmitter
}

func (e emitter) Emit(ctx context.Context, ev eventbridge.Event) error {
	return e.inj.deliver(ctx, "s3", OpNotify, objectOf(ev), true, func(ctx context.Context) error {
		return e.next.Emit(ctx, ev)
	})
}

// objectOf is "bucket/key" of an S3 event, or its detail-type.
func objectOf(ev eventbridge.Event) string {
	var d struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key string `json:"key"`
		} `json:"object"`
	}
	if json.Unmarshal(ev.Detail, &d) == nil && d.Bucket.Name != "" {
		return d.Bucket.Name + "/" + d.Object.Key
	}
	return ev.DetailType
}

// LambdaTargets wraps EventBridge's Lambda target invoker (service
// "events", operation OpDeliver, target the function ARN): duplicate,
// delay, reorder, or fail/throttle the delivery (EventBridge then retries
// and dead-letters it). Late deliveries hold EventBridge's delivery
// goroutine, as the event is still in flight. A nil injector returns next.
func (inj *Injector) LambdaTargets(next eventbridge.LambdaInvoker) eventbridge.LambdaInvoker {
	if inj == nil {
		return next
	}
	return lambdaTargets{inj: inj, next: next}
}

type lambdaTargets struct {
	inj  *Injector
	next eventbridge.LambdaInvoker
}

func (l lambdaTargets) InvokeAsync(ctx context.Context, fn string, payload []byte) error {
	return l.inj.deliver(ctx, "events", OpDeliver, fn, false, func(ctx context.Context) error {
		return l.next.InvokeAsync(ctx, fn, payload)
	})
}

// ExecutionTargets wraps EventBridge's Step Functions target starter
// (target the state machine ARN), like LambdaTargets. Every duplicate
// gets the name EventBridge chose for the delivery.
func (inj *Injector) ExecutionTargets(next eventbridge.ExecutionStarter) eventbridge.ExecutionStarter {
	if inj == nil {
		return next
	}
	return executionTargets{inj: inj, next: next}
}

type executionTargets struct {
	inj  *Injector
	next eventbridge.ExecutionStarter
}

func (s executionTargets) StartExecution(ctx context.Context, arn, name, input string) error {
	return s.inj.deliver(ctx, "events", OpDeliver, arn, false, func(ctx context.Context) error {
		return s.next.StartExecution(ctx, arn, name, input)
	})
}
