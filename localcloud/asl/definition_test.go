package asl

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRejectsInvalidDefinitions(t *testing.T) {
	tests := []struct {
		name, def, wantCode, wantText string
	}{
		{"not JSON", `{"StartAt":`, "INVALID_JSON_DESCRIPTION", ""},
		{"not an object", `[1]`, "SCHEMA_VALIDATION_FAILED", "JSON object"},
		{"missing StartAt", `{"States":{"A":{"Type":"Succeed"}}}`, "SCHEMA_VALIDATION_FAILED", "[StartAt]"},
		{"missing States", `{"StartAt":"A"}`, "SCHEMA_VALIDATION_FAILED", "[States]"},
		{"StartAt names no state", `{"StartAt":"B","States":{"A":{"Type":"Succeed"}}}`, "MISSING_TRANSITION_TARGET", "B"},
		{"unknown Next", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nope"}}}`, "MISSING_TRANSITION_TARGET", "Nope at /States/A/Next"},
		{"unreachable state", `{"StartAt":"A","States":{"A":{"Type":"Succeed"},"B":{"Type":"Succeed"}}}`, "UNREACHABLE_STATE", `"B"`},
		{"unknown type", `{"StartAt":"A","States":{"A":{"Type":"Sleep","End":true}}}`, "SCHEMA_VALIDATION_FAILED", "state type"},
		{"no Next nor End", `{"StartAt":"A","States":{"A":{"Type":"Pass"}}}`, "SCHEMA_VALIDATION_FAILED", "[Next, End]"},
		{"both Next and End", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"A","End":true}}}`, "SCHEMA_VALIDATION_FAILED", "Only one"},
		{"bad InputPath", `{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"data","End":true}}}`, "INVALID_JSON_PATH", "must start with $"},
		{"ResultPath with wildcard", `{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$.a[*]","End":true}}}`, "INVALID_REFERENCE_PATH", "reference path"},
		{"bad Parameters path", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"nope"},"End":true}}}`, "INVALID_JSON_PATH", ""},
		{"bad intrinsic", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"States.Nope()"},"End":true}}}`, "INVALID_INTRINSIC_FUNCTION", "unknown function"},
		{"intrinsic arity", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"States.ArrayLength()"},"End":true}}}`, "INVALID_INTRINSIC_FUNCTION", "takes 1"},
		{"Task without Resource", `{"StartAt":"A","States":{"A":{"Type":"Task","End":true}}}`, "SCHEMA_VALIDATION_FAILED", "[Resource]"},
		{"bad Resource", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"lambda","End":true}}}`, "SCHEMA_VALIDATION_FAILED", "resource ARN"},
		{"unsupported field", `{"StartAt":"A","States":{"A":{"Type":"Pass","Foo":1,"End":true}}}`, "SCHEMA_VALIDATION_FAILED", `"Foo"`},
		{"Choice rule without operator", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","Next":"B"}]},"B":{"Type":"Succeed"}}}`, "SCHEMA_VALIDATION_FAILED", "exactly one"},
		{"Choice wrong literal type", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":"1","Next":"B"}]},"B":{"Type":"Succeed"}}}`, "SCHEMA_VALIDATION_FAILED", "Number"},
		{"Wait with two fields", `{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":1,"SecondsPath":"$.s","End":true}}}`, "SCHEMA_VALIDATION_FAILED", "Exactly one"},
		{"States.ALL not last", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["X"]}],"End":true}}}`, "SCHEMA_VALIDATION_FAILED", "States.ALL"},
		{"bad JitterStrategy", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Retry":[{"ErrorEquals":["X"],"JitterStrategy":"SOME"}],"End":true}}}`, "SCHEMA_VALIDATION_FAILED", "JitterStrategy"},
		{"BackoffRate below 1", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Retry":[{"ErrorEquals":["X"],"BackoffRate":0.5}],"End":true}}}`, "SCHEMA_VALIDATION_FAILED", "BackoffRate"},
		{"heartbeat not below timeout", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":10,"HeartbeatSeconds":10,"End":true}}}`, "SCHEMA_VALIDATION_FAILED", "HeartbeatSeconds"},
		{"Catch to unknown state", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Catch":[{"ErrorEquals":["X"],"Next":"Z"}],"End":true}}}`, "MISSING_TRANSITION_TARGET", "Catch[0]/Next"},
		{"error inside a Parallel branch", `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"X","States":{"X":{"Type":"Pass","Next":"Y"}}}]}}}`, "MISSING_TRANSITION_TARGET", "/States/P/Branches[0]/States/X/Next"},
		{"Map without processor", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true}}}`, "SCHEMA_VALIDATION_FAILED", "[ItemProcessor]"},
		{"Next into a branch from outside is unknown", `{"StartAt":"P","States":{"P":{"Type":"Parallel","Next":"X","Branches":[{"StartAt":"X","States":{"X":{"Type":"Succeed"}}}]}}}`, "MISSING_TRANSITION_TARGET", "X"},
		{"sync on lambda", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.sync","End":true}}}`, "SCHEMA_VALIDATION_FAILED", "does not support"},
		{"duplicate state names across branches", `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"X","States":{"X":{"Type":"Succeed"}}},{"StartAt":"X","States":{"X":{"Type":"Succeed"}}}]}}}`, "DUPLICATE_STATE_NAME", `"X"`},
		{"JSONata", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Succeed"}}}`, "SCHEMA_VALIDATION_FAILED", "JSONPath"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.def))
			require.Error(t, err)
			var ve *ValidationError
			require.True(t, errors.As(err, &ve))
			assert.Contains(t, err.Error(), "Invalid State Machine Definition")
			assert.Contains(t, err.Error(), tt.wantCode)
			assert.Contains(t, err.Error(), tt.wantText)
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"X"},"B":{"Type":"Task","End":true}}}`))
	var ve *ValidationError
	require.True(t, errors.As(err, &ve))
	codes := map[string]bool{}
	for _, d := range ve.Diagnostics {
		codes[d.Code] = true
	}
	assert.True(t, codes["MISSING_TRANSITION_TARGET"])
	assert.True(t, codes["UNREACHABLE_STATE"])
	assert.True(t, codes["SCHEMA_VALIDATION_FAILED"])
}

func TestParseAcceptsValidDefinitions(t *testing.T) {
	defs := []string{
		choiceDef,
		`{"Comment":"x","Version":"1.0","TimeoutSeconds":10,"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3:getObject.waitForTaskToken","HeartbeatSecondsPath":"$.h","End":true}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2","Parameters":{"StateMachineArn":"arn"},"End":true}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Fail","ErrorPath":"$.e","CausePath":"States.Format('x {}', $.c)"}}}`,
	}
	for _, d := range defs {
		_, err := Parse([]byte(d))
		assert.NoError(t, err)
	}
}

// FuzzParse feeds arbitrary bytes to the definition parser and validator:
// it must never panic, and whatever it accepts must run structural
// invariants (StartAt exists, every Next resolves).
func FuzzParse(f *testing.F) {
	f.Add([]byte(choiceDef))
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"States.Format('{}', $.a)"},"End":true}}}`))
	f.Add([]byte(`{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.i","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`))
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Retry":[{"ErrorEquals":["States.ALL"],"MaxDelaySeconds":3,"JitterStrategy":"FULL"}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"B"}],"End":true},"B":{"Type":"Fail"}}}`))
	f.Add([]byte(`{"StartAt":"W","States":{"W":{"Type":"Wait","TimestampPath":"$..x[?(@.a>1)]","End":true}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sm, err := Parse(data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Diagnostics) == 0 {
				t.Fatalf("error is not a ValidationError with diagnostics: %v", err)
			}
			return
		}
		checkMachine(t, sm)
	})
}

func checkMachine(t *testing.T, sm *StateMachine) {
	if sm.States[sm.StartAt] == nil {
		t.Fatalf("accepted StartAt %q that names no state", sm.StartAt)
	}
	for name, st := range sm.States {
		for _, tg := range st.targets() {
			if sm.States[tg.next] == nil {
				t.Fatalf("accepted state %q with unknown target %q", name, tg.next)
			}
		}
		for _, b := range st.Branches {
			checkMachine(t, b)
		}
		if st.ItemProcessor != nil {
			checkMachine(t, st.ItemProcessor)
		}
	}
}

// FuzzIntrinsic parses arbitrary intrinsic expressions; whatever parses
// must evaluate against sample data without panicking, returning a value
// or an error.
func FuzzIntrinsic(f *testing.F) {
	for _, s := range []string{
		"States.Format('Hello, {}!', $.name)",
		"States.ArrayPartition($.a, 2)",
		"States.Hash($.name, 'SHA-256')",
		"States.JsonMerge($.o, $.o, false)",
		"States.StringSplit(States.Format('{},{}', $.name, $.name), ',')",
		"States.MathRandom(1, 10, 7)",
		"States.ArrayGetItem(States.ArrayRange(1, 9, 2), 3)",
		`States.Format('\{\} {}', $$.Execution.Name)`,
	} {
		f.Add(s)
	}
	data := mustDecodeAny(`{"name":"x","a":[1,2,3],"o":{"k":1}}`)
	ctx := mustDecodeAny(`{"Execution":{"Name":"e"}}`)
	f.Fuzz(func(t *testing.T, expr string) {
		call, err := parseIntrinsic(expr)
		if err != nil {
			return
		}
		env := &intrinsicEnv{data: data, context: ctx, random: func() float64 { return 0.5 }, uuid: func() string { return "u" }}
		_, _ = call.eval(env) // errors are fine; panics are not
	})
}
