package sfnemu

import (
	"fmt"
	"sort"

	"github.com/gomlops/mlops/localcloud/asl"
)

// Mocks is the Options.Mock of a Step Functions Local MockConfigFile: an
// asl.Mocker that also tells StartExecution which "#<TestCase>" suffixes
// exist (TestCaseChecker).
type Mocks struct {
	*asl.Mocker
	cfg *asl.MockConfig
}

// NewMocks returns the mocks of cfg. testCase, when not empty, is run by
// every execution of each state machine that has a test case of that name
// (like choosing it with "#<TestCase>" on every StartExecution); it is an
// error when no state machine of cfg has it. Without it, only executions
// started with "#<TestCase>" are mocked.
func NewMocks(cfg *asl.MockConfig, testCase string) (*Mocks, error) {
	if cfg == nil {
		return nil, fmt.Errorf("no mock configuration")
	}
	cases := map[string]string{}
	if testCase != "" {
		var names []string
		for sm, m := range cfg.StateMachines {
			names = append(names, sm)
			if _, ok := m.TestCases[testCase]; ok {
				cases[sm] = testCase
			}
		}
		if len(cases) == 0 {
			sort.Strings(names)
			return nil, fmt.Errorf("no state machine of the mock configuration (%v) has a test case %q", names, testCase)
		}
	}
	m, err := cfg.Mocker(cases)
	if err != nil {
		return nil, err
	}
	return &Mocks{Mocker: m, cfg: cfg}, nil
}

// HasTestCase reports whether the mock configuration defines testCase for
// the state machine named stateMachine.
func (m *Mocks) HasTestCase(stateMachine, testCase string) bool {
	_, ok := m.cfg.StateMachines[stateMachine].TestCases[testCase]
	return ok
}

// TestCases returns the state machines of the configuration with the
// names of their test cases, sorted: what a banner can show.
func (m *Mocks) TestCases() map[string][]string {
	out := map[string][]string{}
	for sm, def := range m.cfg.StateMachines {
		for tc := range def.TestCases {
			out[sm] = append(out[sm], tc)
		}
		sort.Strings(out[sm])
	}
	return out
}
