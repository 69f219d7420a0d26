package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// TaskMocker answers Task states with mocked responses instead of calling
// their integration: Step Functions Local's mocked service integrations.
// Config.Mock takes one; nil calls every integration.
type TaskMocker interface {
	// MockTask returns the mocked outcome of one invocation of the Task
	// state named state in the execution: its raw result (what the
	// integration would have returned, before ResultSelector) or a
	// failure. ok false means the state is not mocked: call the service.
	MockTask(exec ExecutionInfo, state string) (result any, fail *Failure, ok bool)
}

// callTask is one Task attempt: the mocked response when the engine has a
// mocker that mocks this state, else the real integration call.
func (e *Engine) callTask(ctx context.Context, info ExecutionInfo, state string, r *Resource, params any) (any, bool, error) {
	if e.cfg.Mock != nil {
		if v, fail, ok := e.cfg.Mock.MockTask(info, state); ok {
			if fail != nil {
				return nil, true, fail
			}
			return v, true, nil
		}
	}
	v, err := e.callIntegration(ctx, r, params)
	return v, false, err
}

// MockConfig is an AWS Step Functions Local MockConfigFile:
//
//	{"StateMachines": {"<name>": {"TestCases": {"<case>": {"<state>": "<response>"}}}},
//	 "MockedResponses": {"<response>": {"0": {"Return": ...}, "1-2": {"Throw": {"Error": "...", "Cause": "..."}}}}}
//
// Keys of a mocked response are zero-based invocation numbers of the state
// in one execution (every attempt counts, retries and loop passes alike),
// single ("3") or ranges ("1-2").
type MockConfig struct {
	StateMachines   map[string]MockStateMachine `json:"StateMachines"`
	MockedResponses map[string]MockedResponse   `json:"MockedResponses"`
}

// MockStateMachine lists the test cases of one state machine: each maps
// state names to mocked response names.
type MockStateMachine struct {
	TestCases map[string]map[string]string `json:"TestCases"`
}

// MockedResponse maps invocation numbers ("0", "1-2") to responses.
type MockedResponse map[string]MockStep

// MockStep is one mocked answer: exactly one of Return (the service's
// response) and Throw.
type MockStep struct {
	Return json.RawMessage `json:"Return,omitempty"`
	Throw  *MockThrow      `json:"Throw,omitempty"`
}

// MockThrow is a mocked failure with its error name and cause.
type MockThrow struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// LoadMockConfig reads and validates a MockConfigFile.
func LoadMockConfig(name string) (*MockConfig, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read mock config: %w", err)
	}
	cfg, err := ParseMockConfig(data)
	if err != nil {
		return nil, fmt.Errorf("mock config %s: %w", name, err)
	}
	return cfg, nil
}

// ParseMockConfig decodes and validates a MockConfigFile: every test case
// names existing responses, every key is "N" or "N-M" without overlaps,
// every step has exactly one of Return and Throw (with an Error).
func ParseMockConfig(data []byte) (*MockConfig, error) {
	var cfg MockConfig
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	var errs []error
	for _, sm := range sortedKeys(cfg.StateMachines) {
		for _, tc := range sortedKeys(cfg.StateMachines[sm].TestCases) {
			for _, st := range sortedKeys(cfg.StateMachines[sm].TestCases[tc]) {
				resp := cfg.StateMachines[sm].TestCases[tc][st]
				if _, ok := cfg.MockedResponses[resp]; !ok {
					errs = append(errs, fmt.Errorf("StateMachines.%s.TestCases.%s.%s: mocked response %q is not defined in MockedResponses", sm, tc, st, resp))
				}
			}
		}
	}
	for _, name := range sortedKeys(cfg.MockedResponses) {
		if _, err := cfg.MockedResponses[name].steps(); err != nil {
			errs = append(errs, fmt.Errorf("MockedResponses.%s: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// mockRange is one key of a mocked response: invocations from..to.
type mockRange struct {
	from, to int
	step     MockStep
}

// steps returns the response's ranges in order, validated.
func (m MockedResponse) steps() ([]mockRange, error) {
	if len(m) == 0 {
		return nil, errors.New("no responses")
	}
	var out []mockRange
	for key, step := range m {
		from, to, err := parseMockKey(key)
		if err != nil {
			return nil, err
		}
		switch {
		case (len(step.Return) > 0) == (step.Throw != nil):
			return nil, fmt.Errorf("%q: exactly one of Return and Throw is required", key)
		case step.Throw != nil && step.Throw.Error == "":
			return nil, fmt.Errorf("%q: Throw needs an Error", key)
		case len(step.Return) > 0 && !json.Valid(step.Return):
			return nil, fmt.Errorf("%q: Return is not valid JSON", key)
		}
		out = append(out, mockRange{from: from, to: to, step: step})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].from < out[j].from })
	if out[0].from != 0 {
		return nil, errors.New("the first invocation is \"0\": a mocked response must start there")
	}
	for i := 1; i < len(out); i++ {
		if out[i].from <= out[i-1].to {
			return nil, fmt.Errorf("invocation %d is mocked twice", out[i].from)
		}
	}
	return out, nil
}

// parseMockKey parses "N" or "N-M" (N <= M, both >= 0).
func parseMockKey(key string) (int, int, error) {
	a, b, isRange := strings.Cut(key, "-")
	from, err := strconv.Atoi(a)
	if err != nil || from < 0 {
		return 0, 0, fmt.Errorf("key %q: want an invocation number like \"0\" or a range like \"1-2\"", key)
	}
	if !isRange {
		return from, from, nil
	}
	to, err := strconv.Atoi(b)
	if err != nil || to < from {
		return 0, 0, fmt.Errorf("key %q: want a range N-M with N <= M", key)
	}
	return from, to, nil
}

// Mocker answers the states of the selected test cases. It counts each
// state's invocations per execution. It is safe for concurrent use.
type Mocker struct {
	cfg   *MockConfig
	cases map[string]string // state machine name -> test case

	mu     sync.Mutex
	counts map[string]int // execution ARN + "\x00" + state -> invocations
}

// Mocker returns a TaskMocker running testCases: state machine name ->
// test case name. An execution whose state machine ARN ends in
// "#<TestCase>" (how Step Functions Local selects one) runs that test
// case instead. Unknown names are errors.
func (c *MockConfig) Mocker(testCases map[string]string) (*Mocker, error) {
	for sm, tc := range testCases {
		m, ok := c.StateMachines[sm]
		if !ok {
			return nil, fmt.Errorf("mock config has no state machine %q", sm)
		}
		if _, ok := m.TestCases[tc]; !ok {
			return nil, fmt.Errorf("mock config has no test case %q for state machine %q", tc, sm)
		}
	}
	return &Mocker{cfg: c, cases: testCases, counts: map[string]int{}}, nil
}

// MockTask implements TaskMocker. An invocation number without a key of
// its own (past the last key, or in a gap) gets the response of the last
// key before it.
func (m *Mocker) MockTask(exec ExecutionInfo, state string) (any, *Failure, bool) {
	name := exec.StateMachineName
	tc := m.cases[name]
	if i := strings.LastIndex(exec.StateMachineARN, "#"); i >= 0 {
		tc = exec.StateMachineARN[i+1:]
		if name == "" {
			name = exec.StateMachineARN[strings.LastIndex(exec.StateMachineARN[:i], ":")+1 : i]
		}
	}
	if tc == "" {
		return nil, nil, false
	}
	respName, ok := m.cfg.StateMachines[name].TestCases[tc][state]
	if !ok {
		return nil, nil, false // not mocked in this test case: the real service answers
	}
	steps, err := m.cfg.MockedResponses[respName].steps()
	if err != nil {
		return nil, failf(ErrRuntime, "mocked response %q: %v", respName, err), true
	}
	m.mu.Lock()
	key := exec.ARN + "\x00" + state
	n := m.counts[key]
	m.counts[key] = n + 1
	m.mu.Unlock()
	// The range holding n, else (a gap, or past the end) the last range
	// before it.
	step := steps[0].step
	for _, s := range steps {
		if s.from <= n {
			step = s.step
		}
	}
	if step.Throw != nil {
		return nil, &Failure{Name: step.Throw.Error, Cause: step.Throw.Cause}, true
	}
	v, err := decodeJSON(step.Return)
	if err != nil {
		return nil, failf(ErrRuntime, "mocked response %q: %v", respName, err), true
	}
	return v, nil, true
}

// Invocations returns how often state was invoked (mocked) in the
// execution with ARN execARN.
func (m *Mocker) Invocations(execARN, state string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts[execARN+"\x00"+state]
}
