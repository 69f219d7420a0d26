package stack

import (
	"errors"
	"fmt"
	"sort"

	"github.com/gomlops/mlops/localcloud/asl"
	"github.com/gomlops/mlops/localcloud/samtemplate"
	"github.com/gomlops/mlops/localcloud/sfnemu"
)

// ErrMockConfig is wrapped by Start's errors about Options.MockConfig and
// Options.MockTestCase, so that a caller can name the file they came from.
var ErrMockConfig = errors.New("mock config")

// newMocks builds the Step Functions mocks of cfg for the template's state
// machines. A MockConfigFile names state machines by name, as Step
// Functions Local does; the template's logical id works too (the name a
// template gives is often generated). A state machine the template does
// not have is an error: a typo must not silently call the real services.
func newMocks(cfg *asl.MockConfig, testCase string, machines []samtemplate.StateMachine) (*sfnemu.Mocks, error) {
	if cfg == nil {
		return nil, errors.New("a mock test case needs a mock config (MockConfigFile)")
	}
	byName := map[string]string{} // name or logical id -> name
	var known []string
	for _, m := range machines {
		byName[m.Name], byName[m.LogicalID] = m.Name, m.Name
		known = append(known, m.Name)
	}
	sort.Strings(known)
	named := &asl.MockConfig{StateMachines: map[string]asl.MockStateMachine{}, MockedResponses: cfg.MockedResponses}
	keys := make([]string, 0, len(cfg.StateMachines))
	for k := range cfg.StateMachines {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		name, ok := byName[k]
		if !ok {
			errs = append(errs, fmt.Errorf("StateMachines.%s is not a state machine of the template (names: %v; logical ids work too)", k, known))
			continue
		}
		if _, dup := named.StateMachines[name]; dup {
			errs = append(errs, fmt.Errorf("StateMachines.%s: state machine %s is listed twice (by name and by logical id)", k, name))
			continue
		}
		named.StateMachines[name] = cfg.StateMachines[k]
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return sfnemu.NewMocks(named, testCase)
}
