package asl

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomlops/mlops/localcloud/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// choiceDef is the Choice example of
// https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
const choiceDef = `{"StartAt":"ChoiceStateX","States":{
  "ChoiceStateX":{"Type":"Choice","Choices":[
    {"Not":{"Variable":"$.type","StringEquals":"Private"},"Next":"Public"},
    {"Variable":"$.value","NumericEquals":0,"Next":"ValueIsZero"},
    {"And":[{"Variable":"$.value","NumericGreaterThanEquals":20},{"Variable":"$.value","NumericLessThan":30}],"Next":"ValueInTwenties"}
  ],"Default":"DefaultState"},
  "Public":{"Type":"Pass","Result":"Public","End":true},
  "ValueIsZero":{"Type":"Pass","Result":"ValueIsZero","End":true},
  "ValueInTwenties":{"Type":"Pass","Result":"ValueInTwenties","End":true},
  "DefaultState":{"Type":"Fail","Error":"DefaultStateError","Cause":"No Matches!"}}}`

func TestGoldenChoice(t *testing.T) {
	tests := []struct {
		name, input, want, wantErr string
	}{
		{"not private", `{"type":"Public","value":22}`, `"Public"`, ""},
		{"zero", `{"type":"Private","value":0}`, `"ValueIsZero"`, ""},
		{"twenties", `{"type":"Private","value":22}`, `"ValueInTwenties"`, ""},
		{"default fails", `{"type":"Private","value":35}`, "", "DefaultStateError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _ := runManual(t, Config{}, choiceDef, tt.input)
			if tt.wantErr != "" {
				require.Equal(t, StatusFailed, res.Status)
				assert.Equal(t, tt.wantErr, res.Error)
				assert.Equal(t, "No Matches!", res.Cause)
				return
			}
			require.Equal(t, StatusSucceeded, res.Status, res.Cause)
			assert.JSONEq(t, tt.want, mustJSON(res.Output))
		})
	}
}

// TestChoiceOperators covers every comparison operator of
// https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
func TestChoiceOperators(t *testing.T) {
	input := `{"s":"abc","n":5,"f":2.5,"b":true,"t":"2026-11-25T09:00:00Z","nul":null,"s2":"abd","n2":5,"t2":"2026-11-25T10:00:00+01:00","glob":"log-2026.txt"}`
	tests := []struct {
		rule string
		want bool
	}{
		{`"Variable":"$.s","StringEquals":"abc"`, true},
		{`"Variable":"$.s","StringEquals":"abd"`, false},
		{`"Variable":"$.n","StringEquals":"5"`, false}, // wrong type never matches
		{`"Variable":"$.s","StringLessThan":"abd"`, true},
		{`"Variable":"$.s","StringGreaterThan":"abd"`, false},
		{`"Variable":"$.s","StringLessThanEquals":"abc"`, true},
		{`"Variable":"$.s","StringGreaterThanEquals":"abc"`, true},
		{`"Variable":"$.glob","StringMatches":"log-*.txt"`, true},
		{`"Variable":"$.glob","StringMatches":"log-\\*.txt"`, false},
		{`"Variable":"$.s","StringEqualsPath":"$.s2"`, false},
		{`"Variable":"$.s","StringLessThanPath":"$.s2"`, true},
		{`"Variable":"$.s","StringGreaterThanPath":"$.s2"`, false},
		{`"Variable":"$.s","StringLessThanEqualsPath":"$.s2"`, true},
		{`"Variable":"$.s","StringGreaterThanEqualsPath":"$.s2"`, false},
		{`"Variable":"$.n","NumericEquals":5`, true},
		{`"Variable":"$.f","NumericEquals":2.5`, true},
		{`"Variable":"$.n","NumericLessThan":5`, false},
		{`"Variable":"$.n","NumericGreaterThan":4.9`, true},
		{`"Variable":"$.n","NumericLessThanEquals":5`, true},
		{`"Variable":"$.n","NumericGreaterThanEquals":6`, false},
		{`"Variable":"$.n","NumericEqualsPath":"$.n2"`, true},
		{`"Variable":"$.f","NumericLessThanPath":"$.n"`, true},
		{`"Variable":"$.f","NumericGreaterThanPath":"$.n"`, false},
		{`"Variable":"$.n","NumericLessThanEqualsPath":"$.n2"`, true},
		{`"Variable":"$.n","NumericGreaterThanEqualsPath":"$.n2"`, true},
		{`"Variable":"$.b","BooleanEquals":true`, true},
		{`"Variable":"$.b","BooleanEqualsPath":"$.b"`, true},
		{`"Variable":"$.t","TimestampEquals":"2026-11-25T09:00:00Z"`, true},
		{`"Variable":"$.t","TimestampEqualsPath":"$.t2"`, true}, // same instant, other offset
		{`"Variable":"$.t","TimestampLessThan":"2026-11-25T09:00:01Z"`, true},
		{`"Variable":"$.t","TimestampGreaterThan":"2026-11-25T09:00:01Z"`, false},
		{`"Variable":"$.t","TimestampLessThanEquals":"2026-11-25T09:00:00Z"`, true},
		{`"Variable":"$.t","TimestampGreaterThanEquals":"2026-11-25T09:00:01Z"`, false},
		{`"Variable":"$.t","TimestampLessThanPath":"$.t2"`, false},
		{`"Variable":"$.t","TimestampGreaterThanPath":"$.t2"`, false},
		{`"Variable":"$.t","TimestampLessThanEqualsPath":"$.t2"`, true},
		{`"Variable":"$.t","TimestampGreaterThanEqualsPath":"$.t2"`, true},
		{`"Variable":"$.nul","IsNull":true`, true},
		{`"Variable":"$.s","IsNull":true`, false},
		{`"Variable":"$.missing","IsPresent":false`, true},
		{`"Variable":"$.s","IsPresent":true`, true},
		{`"Variable":"$.f","IsNumeric":true`, true},
		{`"Variable":"$.s","IsString":true`, true},
		{`"Variable":"$.b","IsBoolean":true`, true},
		{`"Variable":"$.t","IsTimestamp":true`, true},
		{`"Variable":"$.s","IsTimestamp":true`, false},
		{`"Or":[{"Variable":"$.n","NumericEquals":1},{"Variable":"$.s","StringEquals":"abc"}]`, true},
		{`"And":[{"Variable":"$.n","NumericEquals":5},{"Not":{"Variable":"$.b","BooleanEquals":true}}]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			def := `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{` + tt.rule + `,"Next":"Yes"}],"Default":"No"},
				"Yes":{"Type":"Pass","Result":true,"End":true},"No":{"Type":"Pass","Result":false,"End":true}}}`
			res, _ := runManual(t, Config{}, def, input)
			require.Equal(t, StatusSucceeded, res.Status, res.Cause)
			assert.Equal(t, tt.want, res.Output)
		})
	}
}

func TestChoiceNoMatchAndMissingVariable(t *testing.T) {
	def := `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":1,"Next":"Y"}]},"Y":{"Type":"Succeed"}}}`
	res, _ := runManual(t, Config{}, def, `{"x":2}`)
	assert.Equal(t, ErrNoChoiceMatched, res.Error)
	res, _ = runManual(t, Config{}, def, `{"y":2}`)
	assert.Equal(t, ErrRuntime, res.Error)
}

// TestGoldenRetryCatch follows the examples of
// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
func TestGoldenRetryCatch(t *testing.T) {
	t.Run("Catch a custom Lambda error and fall back", func(t *testing.T) {
		def := `{"StartAt":"CreateAccount","States":{
		  "CreateAccount":{"Type":"Task","Resource":"` + fnARN + `","Catch":[{"ErrorEquals":["CustomError"],"Next":"CustomErrorFallback"},{"ErrorEquals":["States.ALL"],"Next":"CatchAllFallback"}],"End":true},
		  "CustomErrorFallback":{"Type":"Pass","Result":"This is a fallback from a custom Lambda function exception","End":true},
		  "CatchAllFallback":{"Type":"Pass","Result":"This is a fallback from any error","End":true}}}`
		lam := &fakeLambda{handler: func(string, any) (any, error) { return nil, &fnError{"CustomError", "This is a custom error!"} }}
		res, h := runManual(t, Config{Lambda: lam}, def, `{}`)
		require.Equal(t, StatusSucceeded, res.Status, res.Cause)
		assert.Equal(t, "This is a fallback from a custom Lambda function exception", res.Output)
		assert.Contains(t, eventTypes(h), "LambdaFunctionFailed")
	})
	t.Run("Catch with ResultPath keeps the input and adds the error", func(t *testing.T) {
		def := `{"StartAt":"T","States":{
		  "T":{"Type":"Task","Resource":"` + fnARN + `","Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error-info","Next":"Recovery"}],"End":true},
		  "Recovery":{"Type":"Pass","End":true}}}`
		lam := &fakeLambda{handler: func(string, any) (any, error) { return nil, &fnError{"java.lang.Exception", "boom"} }}
		res, _ := runManual(t, Config{Lambda: lam}, def, `{"foo":"bar"}`)
		require.Equal(t, StatusSucceeded, res.Status, res.Cause)
		out := res.Output.(map[string]any)
		assert.Equal(t, "bar", out["foo"])
		info := out["error-info"].(map[string]any)
		assert.Equal(t, "java.lang.Exception", info["Error"])
		assert.JSONEq(t, `{"errorMessage":"boom","errorType":"java.lang.Exception"}`, info["Cause"].(string))
	})
	t.Run("Retry ErrorA twice then catch-all", func(t *testing.T) {
		def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `",
		  "Retry":[{"ErrorEquals":["ErrorA","ErrorB"],"IntervalSeconds":1,"BackoffRate":2.0,"MaxAttempts":2},{"ErrorEquals":["ErrorC"],"IntervalSeconds":5}],
		  "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Z"}],"End":true},"Z":{"Type":"Pass","Result":"caught","End":true}}}`
		m := clock.NewManual(testStart)
		lam := &fakeLambda{clk: m, handler: func(string, any) (any, error) { return nil, &fnError{"ErrorA", "a"} }}
		res, _ := runManual(t, Config{Clock: m, Lambda: lam}, def, `{}`)
		require.Equal(t, StatusSucceeded, res.Status)
		assert.Equal(t, "caught", res.Output)
		calls := lam.Calls()
		require.Len(t, calls, 3, "one try and MaxAttempts=2 retries")
		assert.Equal(t, []time.Duration{0, time.Second, 3 * time.Second}, offsets(calls))
	})
	t.Run("MaxAttempts 0 means never retry", func(t *testing.T) {
		def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `",
		  "Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":0}],"End":true}}}`
		lam := &fakeLambda{handler: func(string, any) (any, error) { return nil, &fnError{"Boom", "b"} }}
		res, _ := runManual(t, Config{Lambda: lam}, def, `{}`)
		assert.Equal(t, "Boom", res.Error)
		assert.Len(t, lam.Calls(), 1)
	})
	t.Run("States.Runtime is neither retried nor caught", func(t *testing.T) {
		def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `","InputPath":"$.missing",
		  "Retry":[{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Z"}],"End":true},"Z":{"Type":"Succeed"}}}`
		lam := &fakeLambda{handler: echoGreeting}
		res, _ := runManual(t, Config{Lambda: lam}, def, `{}`)
		assert.Equal(t, ErrRuntime, res.Error)
		assert.Empty(t, lam.Calls())
	})
}

func offsets(calls []lambdaCall) []time.Duration {
	var out []time.Duration
	for _, c := range calls {
		out = append(out, c.at.Sub(calls[0].at))
	}
	return out
}

// TestRetryTiming checks backoff, MaxDelaySeconds and FULL jitter on the
// manual clock (no real sleeping).
func TestRetryTiming(t *testing.T) {
	tests := []struct {
		name    string
		retrier string
		random  float64
		want    []time.Duration // offsets of each attempt from the first
	}{
		{"timeout example: 3s then 4.5s", `{"ErrorEquals":["Flaky"],"IntervalSeconds":3,"MaxAttempts":2,"BackoffRate":1.5}`, 0.5,
			[]time.Duration{0, 3 * time.Second, 7500 * time.Millisecond}},
		{"defaults: 1s, 2s, 4s", `{"ErrorEquals":["Flaky"]}`, 0.5,
			[]time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second}},
		{"MaxDelaySeconds caps the backoff", `{"ErrorEquals":["Flaky"],"IntervalSeconds":2,"MaxAttempts":4,"BackoffRate":3,"MaxDelaySeconds":10}`, 0.5,
			[]time.Duration{0, 2 * time.Second, 8 * time.Second, 18 * time.Second, 28 * time.Second}},
		{"FULL jitter scales each delay", `{"ErrorEquals":["Flaky"],"IntervalSeconds":4,"MaxAttempts":2,"BackoffRate":2,"JitterStrategy":"FULL"}`, 0.25,
			[]time.Duration{0, time.Second, 3 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `","Retry":[` + tt.retrier + `],"End":true}}}`
			m := clock.NewManual(testStart)
			lam := &fakeLambda{clk: m, handler: func(string, any) (any, error) { return nil, &fnError{"Flaky", "try again"} }}
			res, _ := runManual(t, Config{Clock: m, Lambda: lam, Random: func() float64 { return tt.random }}, def, `{}`)
			assert.Equal(t, "Flaky", res.Error)
			assert.Equal(t, tt.want, offsets(lam.Calls()))
		})
	}
}

func TestRetryThenSucceed(t *testing.T) {
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `","Retry":[{"ErrorEquals":["TransientError"],"IntervalSeconds":10}],"End":true}}}`
	m := clock.NewManual(testStart)
	n := 0
	lam := &fakeLambda{clk: m, handler: func(string, any) (any, error) {
		n++
		if n < 3 {
			return nil, &fnError{"TransientError", "later"}
		}
		return map[string]any{"ok": true}, nil
	}}
	res, h := runManual(t, Config{Clock: m, Lambda: lam}, def, `{}`)
	require.Equal(t, StatusSucceeded, res.Status)
	assert.Equal(t, map[string]any{"ok": true}, res.Output)
	assert.Equal(t, 30*time.Second, m.Now().Sub(testStart), "10s + 20s of retry delay on the manual clock")
	assert.Equal(t, []string{"ExecutionStarted", "TaskStateEntered",
		"LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed",
		"LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed",
		"LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded",
		"TaskStateExited", "ExecutionSucceeded"}, eventTypes(h))
}

// blockingLambda never answers until its context ends.
type blockingLambda struct{}

func (blockingLambda) Invoke(ctx context.Context, _ string, _ []byte) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestTimeouts(t *testing.T) {
	t.Run("Task TimeoutSeconds gives States.Timeout", func(t *testing.T) {
		def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"},"TimeoutSeconds":30,"End":true}}}`
		m := clock.NewManual(testStart)
		res, h := runManual(t, Config{Clock: m, Lambda: blockingLambda{}}, def, `{}`)
		assert.Equal(t, ErrTimeout, res.Error)
		assert.Equal(t, 30*time.Second, m.Now().Sub(testStart))
		assert.Contains(t, eventTypes(h), "TaskTimedOut")
	})
	t.Run("timeout retried then caught", func(t *testing.T) {
		def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `","TimeoutSeconds":5,
		  "Retry":[{"ErrorEquals":["States.Timeout"],"IntervalSeconds":3,"MaxAttempts":2,"BackoffRate":1.5}],
		  "Catch":[{"ErrorEquals":["States.Timeout"],"Next":"Late"}],"End":true},"Late":{"Type":"Pass","Result":"late","End":true}}}`
		m := clock.NewManual(testStart)
		res, _ := runManual(t, Config{Clock: m, Lambda: blockingLambda{}}, def, `{}`)
		require.Equal(t, StatusSucceeded, res.Status)
		assert.Equal(t, "late", res.Output)
		assert.Equal(t, (5+3+5+4.5+5)*float64(time.Second), float64(m.Now().Sub(testStart)))
	})
	t.Run("execution TimeoutSeconds", func(t *testing.T) {
		def := `{"TimeoutSeconds":60,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}`
		m := clock.NewManual(testStart)
		res, h := runManual(t, Config{Clock: m}, def, `{}`)
		assert.Equal(t, StatusTimedOut, res.Status)
		assert.Equal(t, ErrTimeout, res.Error)
		assert.Equal(t, "ExecutionTimedOut", eventTypes(h)[len(h.Events())-1])
	})
}

func TestWait(t *testing.T) {
	tests := []struct {
		name, state, input string
		want               time.Duration
	}{
		{"seconds", `"Seconds":10`, `{}`, 10 * time.Second},
		{"timestamp", `"Timestamp":"2026-11-25T10:00:00Z"`, `{}`, time.Hour},
		{"seconds path", `"SecondsPath":"$.wait"`, `{"wait":90}`, 90 * time.Second},
		{"timestamp path", `"TimestampPath":"$.until"`, `{"until":"2026-11-25T09:05:00Z"}`, 5 * time.Minute},
		{"timestamp in the past", `"Timestamp":"2020-01-01T00:00:00Z"`, `{}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"StartAt":"W","States":{"W":{"Type":"Wait",` + tt.state + `,"End":true}}}`
			m := clock.NewManual(testStart)
			res, _ := runManual(t, Config{Clock: m}, def, tt.input)
			require.Equal(t, StatusSucceeded, res.Status, res.Cause)
			assert.Equal(t, tt.want, m.Now().Sub(testStart))
			assert.JSONEq(t, tt.input, mustJSON(res.Output))
		})
	}
	t.Run("bad seconds path", func(t *testing.T) {
		def := `{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.wait","End":true}}}`
		res, _ := runManual(t, Config{}, def, `{"wait":"soon"}`)
		assert.Equal(t, ErrRuntime, res.Error)
	})
}

// TestGoldenMap follows
// https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html
func TestGoldenMap(t *testing.T) {
	t.Run("ItemsPath and ItemSelector with the context object", func(t *testing.T) {
		def := `{"StartAt":"Validate-All","States":{"Validate-All":{"Type":"Map","InputPath":"$.detail","ItemsPath":"$.shipped","MaxConcurrency":0,
		  "ItemSelector":{"parcel.$":"$$.Map.Item.Value","courier.$":"$.delivery-partner"},
		  "ItemProcessor":{"StartAt":"Validate","States":{"Validate":{"Type":"Task","Resource":"` + fnARN + `","End":true}}},
		  "ResultPath":"$.detail.shipped","End":true}}}`
		input := `{"ship-date":"2016-03-14T01:59:00Z","detail":{"delivery-partner":"UQS","shipped":[
		  {"prod":"R31","dest-code":9511,"quantity":1344},{"prod":"S39","dest-code":9511,"quantity":40},
		  {"prod":"R31","dest-code":9833,"quantity":12},{"prod":"R40","dest-code":9860,"quantity":887},
		  {"prod":"R40","dest-code":9511,"quantity":1220}]}}`
		lam := &fakeLambda{handler: func(_ string, p any) (any, error) { return p, nil }}
		res, h := runManual(t, Config{Lambda: lam}, def, input)
		require.Equal(t, StatusSucceeded, res.Status, res.Cause)
		assert.Len(t, lam.Calls(), 5)
		shipped := res.Output.(map[string]any)["detail"].(map[string]any)["shipped"].([]any)
		require.Len(t, shipped, 5)
		assert.JSONEq(t, `{"parcel":{"prod":"R31","dest-code":9511,"quantity":1344},"courier":"UQS"}`, mustJSON(shipped[0]))
		assert.JSONEq(t, `{"parcel":{"prod":"R40","dest-code":9511,"quantity":1220},"courier":"UQS"}`, mustJSON(shipped[4]))
		assert.Equal(t, "2016-03-14T01:59:00Z", res.Output.(map[string]any)["ship-date"])
		types := eventTypes(h)
		assert.Contains(t, types, "MapStateStarted")
		assert.Equal(t, 5, count(types, "MapIterationSucceeded"))
	})
	t.Run("context index and value", func(t *testing.T) {
		def := `{"StartAt":"ExampleMapState","States":{"ExampleMapState":{"Type":"Map",
		  "ItemSelector":{"ContextIndex.$":"$$.Map.Item.Index","ContextValue.$":"$$.Map.Item.Value"},
		  "ItemProcessor":{"StartAt":"TestPass","States":{"TestPass":{"Type":"Pass","End":true}}},"End":true}}}`
		res, _ := runManual(t, Config{}, def, `[{"who":"bob"},{"who":"meg"},{"who":"joe"}]`)
		require.Equal(t, StatusSucceeded, res.Status, res.Cause)
		assert.JSONEq(t, `[{"ContextIndex":0,"ContextValue":{"who":"bob"}},{"ContextIndex":1,"ContextValue":{"who":"meg"}},{"ContextIndex":2,"ContextValue":{"who":"joe"}}]`, mustJSON(res.Output))
	})
	t.Run("legacy Iterator and Parameters", func(t *testing.T) {
		def := `{"StartAt":"M","States":{"M":{"Type":"Map","Parameters":{"v.$":"$$.Map.Item.Value"},
		  "Iterator":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`
		res, _ := runManual(t, Config{}, def, `[1,2]`)
		require.Equal(t, StatusSucceeded, res.Status, res.Cause)
		assert.JSONEq(t, `[{"v":1},{"v":2}]`, mustJSON(res.Output))
	})
}

func count(list []string, s string) int {
	n := 0
	for _, e := range list {
		if e == s {
			n++
		}
	}
	return n
}

// concurrencyLambda records the highest number of concurrent invocations.
type concurrencyLambda struct {
	mu       sync.Mutex
	cur, max int
	release  chan struct{}
}

func (c *concurrencyLambda) Invoke(ctx context.Context, _ string, p []byte) ([]byte, error) {
	c.mu.Lock()
	c.cur++
	c.max = max(c.max, c.cur)
	c.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	c.mu.Lock()
	c.cur--
	c.mu.Unlock()
	if strings.Contains(string(p), `"fail"`) {
		return nil, &fnError{"ItemError", "bad item"}
	}
	return p, nil
}

func TestMapConcurrencyAndTolerance(t *testing.T) {
	proc := `"ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `","End":true}}}`
	t.Run("MaxConcurrency limits parallel iterations", func(t *testing.T) {
		lam := &concurrencyLambda{}
		def := `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":2,` + proc + `,"End":true}}}`
		res, _ := runManual(t, Config{Lambda: lam}, def, `["a","b","c","d","e","f"]`)
		require.Equal(t, StatusSucceeded, res.Status, res.Cause)
		assert.LessOrEqual(t, lam.max, 2)
		assert.JSONEq(t, `["a","b","c","d","e","f"]`, mustJSON(res.Output))
	})
	tests := []struct {
		name, tolerance, input, wantErr string
	}{
		{"no tolerance: the item's error fails the Map", ``, `["a","fail","c"]`, "ItemError"},
		{"count tolerated", `"ToleratedFailureCount":1,`, `["a","fail","c"]`, ""},
		{"count exceeded", `"ToleratedFailureCount":1,`, `["fail","fail","c"]`, ErrExceedToleratedFailure},
		{"percentage tolerated", `"ToleratedFailurePercentage":50,`, `["fail","b","c","fail"]`, ""},
		{"percentage exceeded", `"ToleratedFailurePercentage":25,`, `["fail","b","c","fail"]`, ErrExceedToleratedFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"StartAt":"M","States":{"M":{"Type":"Map",` + tt.tolerance + proc + `,"End":true}}}`
			res, _ := runManual(t, Config{Lambda: &concurrencyLambda{}}, def, tt.input)
			if tt.wantErr == "" {
				require.Equal(t, StatusSucceeded, res.Status, res.Cause)
				assert.Contains(t, mustJSON(res.Output), `"Error":"ItemError"`)
				return
			}
			assert.Equal(t, tt.wantErr, res.Error)
		})
	}
	t.Run("items must be an array", func(t *testing.T) {
		def := `{"StartAt":"M","States":{"M":{"Type":"Map",` + proc + `,"End":true}}}`
		res, _ := runManual(t, Config{Lambda: &concurrencyLambda{}}, def, `{"a":1}`)
		assert.Equal(t, ErrRuntime, res.Error)
	})
}

// TestGoldenParallel follows
// https://docs.aws.amazon.com/step-functions/latest/dg/state-parallel.html
func TestGoldenParallel(t *testing.T) {
	def := `{"StartAt":"LookupCustomerInfo","States":{"LookupCustomerInfo":{"Type":"Parallel","End":true,"Branches":[
	  {"StartAt":"LookupAddress","States":{"LookupAddress":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:AddressFinder","End":true}}},
	  {"StartAt":"LookupPhone","States":{"LookupPhone":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:PhoneFinder","End":true}}}]}}}`
	lam := &fakeLambda{handler: func(fn string, p any) (any, error) {
		if strings.HasSuffix(fn, "AddressFinder") {
			return map[string]any{"address": "1 Main St"}, nil
		}
		return map[string]any{"phone": "555-0100"}, nil
	}}
	res, h := runManual(t, Config{Lambda: lam}, def, `{"customer":"c1"}`)
	require.Equal(t, StatusSucceeded, res.Status, res.Cause)
	assert.JSONEq(t, `[{"address":"1 Main St"},{"phone":"555-0100"}]`, mustJSON(res.Output))
	types := eventTypes(h)
	assert.Contains(t, types, "ParallelStateStarted")
	assert.Contains(t, types, "ParallelStateSucceeded")

	t.Run("a failing branch fails the Parallel with its error and can be caught", func(t *testing.T) {
		def := `{"StartAt":"Par","States":{"Par":{"Type":"Parallel","Catch":[{"ErrorEquals":["Nope"],"ResultPath":"$.err","Next":"Handled"}],"Next":"Done","Branches":[
		  {"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":100,"End":true}}},
		  {"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Nope","Cause":"branch failed"}}}]},
		  "Done":{"Type":"Succeed"},"Handled":{"Type":"Pass","End":true}}}`
		res, _ := runManual(t, Config{}, def, `{"x":1}`)
		require.Equal(t, StatusSucceeded, res.Status, res.Cause)
		assert.JSONEq(t, `{"x":1,"err":{"Error":"Nope","Cause":"branch failed"}}`, mustJSON(res.Output))
	})
}

func TestHistoryShape(t *testing.T) {
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload.$":"$"},"OutputPath":"$.Payload","Next":"Done"},"Done":{"Type":"Succeed"}}}`
	lam := &fakeLambda{handler: func(_ string, p any) (any, error) { return map[string]any{"got": p}, nil }}
	res, h := runManual(t, Config{Lambda: lam}, def, `{"a":1}`)
	require.Equal(t, StatusSucceeded, res.Status, res.Cause)
	assert.JSONEq(t, `{"got":{"a":1}}`, mustJSON(res.Output))
	evs := h.Events()
	assert.Equal(t, []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited",
		"SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"}, eventTypes(h))
	for i, e := range evs {
		assert.Equal(t, int64(i+1), e.ID)
		assert.Equal(t, int64(i), e.PreviousEventID)
	}
	sched := evs[2]
	assert.Equal(t, "taskScheduledEventDetails", sched.DetailsKey)
	assert.Equal(t, "lambda", sched.Details["resourceType"])
	assert.Equal(t, "invoke", sched.Details["resource"])
	assert.JSONEq(t, `{"FunctionName":"f","Payload":{"a":1}}`, sched.Details["parameters"].(string))
	succeeded := evs[4].Details["output"].(string)
	assert.Contains(t, succeeded, `"StatusCode":200`)
	assert.Contains(t, succeeded, `"ExecutedVersion":"$LATEST"`)
	assert.Contains(t, succeeded, `"SdkHttpMetadata"`)
}

func TestIntegrationErrors(t *testing.T) {
	tests := []struct {
		name     string
		resource string
		params   string
		cfg      Config
		wantErr  string
	}{
		{"lambda:invoke function error keeps errorType", "arn:aws:states:::lambda:invoke", `{"FunctionName":"f"}`,
			Config{Lambda: &fakeLambda{handler: func(string, any) (any, error) { return nil, &fnError{"PermanentError", "bad"} }}}, "PermanentError"},
		{"lambda throttle", "arn:aws:states:::lambda:invoke", `{"FunctionName":"f"}`,
			Config{Lambda: &fakeLambda{handler: func(string, any) (any, error) { return nil, &apiError{"TooManyRequestsException", "slow down"} }}}, "Lambda.TooManyRequestsException"},
		{"lambda unknown error", "arn:aws:states:::lambda:invoke", `{"FunctionName":"f"}`,
			Config{Lambda: &fakeLambda{handler: func(string, any) (any, error) { return nil, errors.New("socket closed") }}}, "Lambda.ServiceException"},
		{"aws-sdk error gets the service prefix and Exception suffix", "arn:aws:states:::aws-sdk:s3:getObject", `{"Bucket":"b","Key":"k"}`,
			Config{SDK: &fakeSDK{handler: func(string, string, any) (any, error) { return nil, &apiError{"NoSuchKey", "gone"} }}}, "S3.NoSuchKeyException"},
		{"sagemaker sdk error", "arn:aws:states:::aws-sdk:sagemaker:describeTrainingJob", `{"TrainingJobName":"j"}`,
			Config{SDK: &fakeSDK{handler: func(string, string, any) (any, error) { return nil, &apiError{"ResourceNotFound", "no"} }}}, "SageMaker.ResourceNotFoundException"},
		{"sns error", "arn:aws:states:::sns:publish", `{"TopicArn":"t","Message":"m"}`,
			Config{SNS: &fakeSNS{err: &apiError{"NotFoundException", "no topic"}}}, "Sns.NotFoundException"},
		{"unwired integration is a runtime error", "arn:aws:states:::glue:startJobRun.sync", `{"JobName":"j"}`, Config{}, ErrRuntime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + tt.resource + `","Parameters":` + tt.params + `,"End":true}}}`
			res, _ := runManual(t, tt.cfg, def, `{}`)
			require.Equal(t, StatusFailed, res.Status)
			assert.Equal(t, tt.wantErr, res.Error, res.Cause)
		})
	}
}

func TestSDKCallParams(t *testing.T) {
	var gotService, gotAction string
	var gotParams any
	sdk := &fakeSDK{handler: func(s, a string, p any) (any, error) {
		gotService, gotAction, gotParams = s, a, p
		return map[string]any{"TrainingJobStatus": "InProgress"}, nil
	}}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:sagemaker:describeTrainingJob",
	  "Parameters":{"TrainingJobName.$":"$.job"},"ResultPath":"$.status","End":true}}}`
	res, _ := runManual(t, Config{SDK: sdk}, def, `{"job":"train-1"}`)
	require.Equal(t, StatusSucceeded, res.Status, res.Cause)
	assert.Equal(t, "sagemaker", gotService)
	assert.Equal(t, "DescribeTrainingJob", gotAction)
	assert.Equal(t, map[string]any{"TrainingJobName": "train-1"}, gotParams)
	assert.JSONEq(t, `{"job":"train-1","status":{"TrainingJobStatus":"InProgress"}}`, mustJSON(res.Output))
}

func TestSNSAndEvents(t *testing.T) {
	sns := &fakeSNS{}
	ev := &fakeEvents{}
	def := `{"StartAt":"N","States":{"N":{"Type":"Task","Resource":"arn:aws:states:::sns:publish",
	  "Parameters":{"TopicArn":"arn:aws:sns:us-east-1:123456789012:t","Subject":"done","Message.$":"$"},"ResultPath":"$.sns","Next":"E"},
	  "E":{"Type":"Task","Resource":"arn:aws:states:::events:putEvents","Parameters":{"Entries":[{"Source":"mlops","DetailType":"Done","Detail.$":"$.x"}]},"ResultPath":"$.ev","End":true}}}`
	res, _ := runManual(t, Config{SNS: sns, Events: ev}, def, `{"x":{"k":1}}`)
	require.Equal(t, StatusSucceeded, res.Status, res.Cause)
	msgs := sns.Messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, "done", msgs[0].subject)
	assert.JSONEq(t, `{"x":{"k":1}}`, msgs[0].message)
	out := res.Output.(map[string]any)
	assert.Equal(t, "msg-1", out["sns"].(map[string]any)["MessageId"])
	assert.JSONEq(t, `{"Entries":[{"EventId":"ev-1"}],"FailedEntryCount":0}`, mustJSON(out["ev"]))
	require.Len(t, ev.entries, 1)
	assert.Equal(t, EventEntry{Source: "mlops", DetailType: "Done", Detail: `{"k":1}`}, ev.entries[0])
}

type fakeEvents struct{ entries []EventEntry }

func (f *fakeEvents) PutEvents(_ context.Context, entries []EventEntry) ([]string, error) {
	f.entries = append(f.entries, entries...)
	var ids []string
	for i := range entries {
		ids = append(ids, "ev-"+string(rune('1'+i)))
	}
	return ids, nil
}

// payloadError is a function error carrying the function's JSON error document.
type payloadError struct{ fnError }

func (e *payloadError) ErrorPayload() []byte {
	return []byte(`{"errorMessage":"m","errorType":"Custom","stackTrace":["main.go:1"]}`)
}

func TestLambdaErrorCauseAndTimeoutPath(t *testing.T) {
	t.Run("the function's error document is the cause", func(t *testing.T) {
		def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `","End":true}}}`
		lam := &fakeLambda{handler: func(string, any) (any, error) { return nil, &payloadError{fnError{"Custom", "m"}} }}
		res, _ := runManual(t, Config{Lambda: lam}, def, `{}`)
		assert.Equal(t, "Custom", res.Error)
		assert.Equal(t, `{"errorMessage":"m","errorType":"Custom","stackTrace":["main.go:1"]}`, res.Cause)
	})
	t.Run("TimeoutSecondsPath reads the state input", func(t *testing.T) {
		def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `","TimeoutSecondsPath":"$.limit","Parameters":{"x":1},"End":true}}}`
		m := clock.NewManual(testStart)
		res, _ := runManual(t, Config{Clock: m, Lambda: blockingLambda{}}, def, `{"limit":42}`)
		assert.Equal(t, ErrTimeout, res.Error)
		assert.Equal(t, 42*time.Second, m.Now().Sub(testStart))
	})
}
