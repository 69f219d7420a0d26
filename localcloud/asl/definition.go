package asl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// State types.
const (
	TypeTask     = "Task"
	TypePass     = "Pass"
	TypeChoice   = "Choice"
	TypeWait     = "Wait"
	TypeSucceed  = "Succeed"
	TypeFail     = "Fail"
	TypeParallel = "Parallel"
	TypeMap      = "Map"
)

// StateMachine is a parsed and validated ASL definition (or one Parallel
// branch or Map item processor, which have the same shape).
type StateMachine struct {
	Comment        string
	StartAt        string
	States         map[string]*State
	TimeoutSeconds int // 0: none
}

// OptPath is an optional path field that may also be JSON null, which for
// InputPath, OutputPath and ResultPath means something different from absent.
type OptPath struct {
	Set  bool
	Null bool
	Path string
}

// Retrier is one element of a Retry field.
type Retrier struct {
	ErrorEquals     []string
	IntervalSeconds float64
	MaxAttempts     int
	BackoffRate     float64
	MaxDelaySeconds float64 // 0: no cap
	JitterStrategy  string  // "FULL" or "NONE"
}

// Catcher is one element of a Catch field.
type Catcher struct {
	ErrorEquals []string
	Next        string
	ResultPath  OptPath
}

// ChoiceRule is a Choice state's rule: either a comparison (Variable and
// Operator) or a boolean combination (And, Or, Not). Top-level rules have Next.
type ChoiceRule struct {
	Variable string
	Operator string
	Value    any
	And      []*ChoiceRule
	Or       []*ChoiceRule
	Not      *ChoiceRule
	Next     string
}

// State is one parsed state. Only the fields of its Type are set.
type State struct {
	Name    string
	Type    string
	Comment string
	Next    string
	End     bool

	InputPath, OutputPath, ResultPath OptPath
	Parameters                        any
	HasParameters                     bool
	ResultSelector                    any
	HasResultSelector                 bool

	// Pass
	Result    any
	HasResult bool

	// Task
	Resource             string
	TimeoutSeconds       int
	TimeoutSecondsPath   string
	HeartbeatSeconds     int
	HeartbeatSecondsPath string
	Retry                []Retrier
	Catch                []Catcher

	// Choice
	Choices []*ChoiceRule
	Default string

	// Wait
	Seconds       *float64
	Timestamp     string
	SecondsPath   string
	TimestampPath string

	// Fail
	Error, Cause, ErrorPath, CausePath string

	// Parallel
	Branches []*StateMachine

	// Map
	ItemProcessor                  *StateMachine
	ItemsPath                      OptPath
	ItemSelector                   any
	HasItemSelector                bool
	MaxConcurrency                 int
	MaxConcurrencyPath             string
	ToleratedFailurePercentage     float64
	HasToleratedFailurePercentage  bool
	ToleratedFailureCount          int
	HasToleratedFailureCount       bool
	ToleratedFailurePercentagePath string
	ToleratedFailureCountPath      string
}

// Diagnostic is one problem found in a definition, in AWS's terms: a code
// such as SCHEMA_VALIDATION_FAILED, a message and a JSON-pointer-like location.
type Diagnostic struct {
	Code     string
	Message  string
	Location string
}

// ValidationError lists every problem of an invalid definition. Its text has
// the shape of AWS's InvalidDefinition message.
type ValidationError struct {
	Diagnostics []Diagnostic
}

// Error implements error.
func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Diagnostics))
	for _, d := range e.Diagnostics {
		parts = append(parts, fmt.Sprintf("%s: %s at %s", d.Code, d.Message, d.Location))
	}
	return "Invalid State Machine Definition: '" + strings.Join(parts, ", ") + "'"
}

// Parse decodes and validates an ASL definition written for the JSONPath
// query language. Every problem found is reported in one *ValidationError.
func Parse(definition []byte) (*StateMachine, error) {
	raw, err := decodeJSON(definition)
	if err != nil {
		return nil, &ValidationError{Diagnostics: []Diagnostic{{Code: "INVALID_JSON_DESCRIPTION", Message: err.Error(), Location: "/"}}}
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, &ValidationError{Diagnostics: []Diagnostic{{Code: "SCHEMA_VALIDATION_FAILED", Message: "The definition must be a JSON object", Location: "/"}}}
	}
	p := &parser{}
	if ql, ok := obj["QueryLanguage"]; ok && ql != "JSONPath" {
		p.add("SCHEMA_VALIDATION_FAILED", "/QueryLanguage", "Only the JSONPath query language is supported by the local cloud, got %v", ql)
	}
	sm := p.machine(obj, "", true)
	p.uniqueNames(sm, "", map[string]string{})
	if len(p.diags) > 0 {
		return nil, &ValidationError{Diagnostics: p.diags}
	}
	return sm, nil
}

type parser struct {
	diags []Diagnostic
}

func (p *parser) add(code, loc, format string, args ...any) {
	if loc == "" {
		loc = "/"
	}
	p.diags = append(p.diags, Diagnostic{Code: code, Message: fmt.Sprintf(format, args...), Location: loc})
}

func (p *parser) schema(loc, format string, args ...any) {
	p.add("SCHEMA_VALIDATION_FAILED", loc, format, args...)
}

var topLevelFields = map[string]bool{"Comment": true, "StartAt": true, "States": true, "TimeoutSeconds": true, "Version": true, "QueryLanguage": true}
var branchFields = map[string]bool{"Comment": true, "StartAt": true, "States": true, "ProcessorConfig": true, "QueryLanguage": true}

func (p *parser) machine(obj map[string]any, loc string, top bool) *StateMachine {
	allowed := branchFields
	if top {
		allowed = topLevelFields
	}
	for _, k := range sortedKeys(obj) {
		if !allowed[k] {
			p.schema(loc+"/"+k, "Field %q is not supported", k)
		}
	}
	sm := &StateMachine{States: map[string]*State{}}
	sm.Comment, _ = obj["Comment"].(string)
	start, ok := obj["StartAt"]
	if !ok {
		p.schema(loc, "These fields are required: [StartAt]")
	} else if s, isStr := start.(string); !isStr || s == "" {
		p.schema(loc+"/StartAt", "Expected value of type: String")
	} else {
		sm.StartAt = s
	}
	if top {
		if v, ok := obj["TimeoutSeconds"]; ok {
			sm.TimeoutSeconds = p.positiveInt(v, loc+"/TimeoutSeconds")
		}
	}
	states, ok := obj["States"].(map[string]any)
	if !ok {
		if _, present := obj["States"]; present {
			p.schema(loc+"/States", "Expected value of type: Object")
		} else {
			p.schema(loc, "These fields are required: [States]")
		}
		return sm
	}
	if len(states) == 0 {
		p.schema(loc+"/States", "At least one state is required")
	}
	for _, name := range sortedKeys(states) {
		sloc := loc + "/States/" + name
		if len(name) > 80 {
			p.schema(sloc, "State names must be at most 80 characters")
		}
		so, ok := states[name].(map[string]any)
		if !ok {
			p.schema(sloc, "Expected value of type: Object")
			continue
		}
		sm.States[name] = p.state(name, so, sloc)
	}
	if sm.StartAt != "" && len(states) > 0 && sm.States[sm.StartAt] == nil {
		p.add("MISSING_TRANSITION_TARGET", loc+"/StartAt", "Missing 'Next' target: %s", sm.StartAt)
	}
	p.transitions(sm, loc)
	return sm
}

// uniqueNames reports state names used twice anywhere in the definition,
// Parallel branches and Map processors included: AWS requires state names to
// be unique in the whole state machine.
func (p *parser) uniqueNames(sm *StateMachine, loc string, seen map[string]string) {
	for _, name := range sortedKeys(sm.States) {
		sloc := loc + "/States/" + name
		if first, dup := seen[name]; dup {
			p.add("DUPLICATE_STATE_NAME", sloc, "Duplicate State name: %q (first defined at %s)", name, first)
		} else {
			seen[name] = sloc
		}
		st := sm.States[name]
		for i, b := range st.Branches {
			p.uniqueNames(b, fmt.Sprintf("%s/Branches[%d]", sloc, i), seen)
		}
		if st.ItemProcessor != nil {
			p.uniqueNames(st.ItemProcessor, sloc+"/ItemProcessor", seen)
		}
	}
}

// transitions checks every Next target exists and every state is reachable.
func (p *parser) transitions(sm *StateMachine, loc string) {
	for _, name := range sortedKeys(sm.States) {
		st := sm.States[name]
		for _, t := range st.targets() {
			if sm.States[t.next] == nil {
				p.add("MISSING_TRANSITION_TARGET", loc+"/States/"+name+t.field, "Missing 'Next' target: %s", t.next)
			}
		}
	}
	if sm.States[sm.StartAt] == nil {
		return
	}
	seen := map[string]bool{sm.StartAt: true}
	queue := []string{sm.StartAt}
	for len(queue) > 0 {
		st := sm.States[queue[0]]
		queue = queue[1:]
		for _, t := range st.targets() {
			if sm.States[t.next] != nil && !seen[t.next] {
				seen[t.next] = true
				queue = append(queue, t.next)
			}
		}
	}
	for _, name := range sortedKeys(sm.States) {
		if !seen[name] {
			p.add("UNREACHABLE_STATE", loc+"/States/"+name, "State %q is not reachable", name)
		}
	}
}

type target struct{ field, next string }

func (s *State) targets() []target {
	var out []target
	if s.Next != "" {
		out = append(out, target{"/Next", s.Next})
	}
	if s.Default != "" {
		out = append(out, target{"/Default", s.Default})
	}
	for i, c := range s.Choices {
		if c.Next != "" {
			out = append(out, target{fmt.Sprintf("/Choices[%d]/Next", i), c.Next})
		}
	}
	for i, c := range s.Catch {
		if c.Next != "" {
			out = append(out, target{fmt.Sprintf("/Catch[%d]/Next", i), c.Next})
		}
	}
	return out
}

var commonFields = []string{"Type", "Comment", "QueryLanguage"}

var stateFields = map[string][]string{
	TypeTask:     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Retry", "Catch", "Credentials"},
	TypePass:     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "Result"},
	TypeChoice:   {"InputPath", "OutputPath", "Choices", "Default"},
	TypeWait:     {"Next", "End", "InputPath", "OutputPath", "Seconds", "Timestamp", "SecondsPath", "TimestampPath"},
	TypeSucceed:  {"InputPath", "OutputPath"},
	TypeFail:     {"Error", "Cause", "ErrorPath", "CausePath"},
	TypeParallel: {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch", "Branches"},
	TypeMap: {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch",
		"ItemProcessor", "Iterator", "ItemsPath", "ItemSelector", "MaxConcurrency", "MaxConcurrencyPath",
		"ToleratedFailurePercentage", "ToleratedFailureCount", "ToleratedFailurePercentagePath", "ToleratedFailureCountPath", "Label"},
}

func (p *parser) state(name string, obj map[string]any, loc string) *State {
	st := &State{Name: name}
	typ, _ := obj["Type"].(string)
	fields, known := stateFields[typ]
	if !known {
		if _, ok := obj["Type"]; !ok {
			p.schema(loc, "These fields are required: [Type]")
		} else {
			p.schema(loc+"/Type", "Value is not a valid state type: %v", obj["Type"])
		}
		return st
	}
	st.Type = typ
	allowed := map[string]bool{}
	for _, f := range append(append([]string{}, commonFields...), fields...) {
		allowed[f] = true
	}
	for _, k := range sortedKeys(obj) {
		if !allowed[k] {
			p.schema(loc+"/"+k, "Field %q is not supported for state type %s", k, typ)
		}
	}
	st.Comment, _ = obj["Comment"].(string)
	if ql, ok := obj["QueryLanguage"]; ok && ql != "JSONPath" {
		p.schema(loc+"/QueryLanguage", "Only the JSONPath query language is supported by the local cloud")
	}
	// Transitions.
	switch typ {
	case TypeChoice, TypeSucceed, TypeFail:
	default:
		next, hasNext := obj["Next"]
		end, hasEnd := obj["End"]
		switch {
		case hasNext && hasEnd:
			p.schema(loc, "Only one of the fields [Next, End] may be specified")
		case !hasNext && !hasEnd:
			p.schema(loc, "One of the fields [Next, End] is required")
		case hasNext:
			st.Next = p.str(next, loc+"/Next")
		default:
			b, ok := end.(bool)
			if !ok || !b {
				p.schema(loc+"/End", "End must be true")
			}
			st.End = true
		}
	}
	st.InputPath = p.optPath(obj, "InputPath", loc, false)
	st.OutputPath = p.optPath(obj, "OutputPath", loc, false)
	st.ResultPath = p.optPath(obj, "ResultPath", loc, true)
	if v, ok := obj["Parameters"]; ok {
		st.Parameters, st.HasParameters = v, true
		p.template(v, loc+"/Parameters")
	}
	if v, ok := obj["ResultSelector"]; ok {
		st.ResultSelector, st.HasResultSelector = v, true
		p.template(v, loc+"/ResultSelector")
	}
	if _, ok := obj["Retry"]; ok {
		st.Retry = p.retry(obj["Retry"], loc+"/Retry")
	}
	if _, ok := obj["Catch"]; ok {
		st.Catch = p.catch(obj["Catch"], loc+"/Catch")
	}
	switch typ {
	case TypePass:
		if v, ok := obj["Result"]; ok {
			st.Result, st.HasResult = v, true
		}
	case TypeTask:
		p.task(st, obj, loc)
	case TypeChoice:
		p.choice(st, obj, loc)
	case TypeWait:
		p.wait(st, obj, loc)
	case TypeFail:
		p.fail(st, obj, loc)
	case TypeParallel:
		branches, ok := obj["Branches"].([]any)
		if !ok || len(branches) == 0 {
			p.schema(loc, "These fields are required: [Branches] (a non-empty array)")
		}
		for i, b := range branches {
			bo, ok := b.(map[string]any)
			bloc := fmt.Sprintf("%s/Branches[%d]", loc, i)
			if !ok {
				p.schema(bloc, "Expected value of type: Object")
				continue
			}
			st.Branches = append(st.Branches, p.machine(bo, bloc, false))
		}
	case TypeMap:
		p.mapState(st, obj, loc)
	}
	return st
}

func (p *parser) task(st *State, obj map[string]any, loc string) {
	r, ok := obj["Resource"].(string)
	if !ok {
		p.schema(loc, "These fields are required: [Resource]")
	} else if _, err := ParseResource(r); err != nil {
		p.schema(loc+"/Resource", "%v", err)
	}
	st.Resource = r
	if v, ok := obj["TimeoutSeconds"]; ok {
		st.TimeoutSeconds = p.positiveInt(v, loc+"/TimeoutSeconds")
	}
	if v, ok := obj["HeartbeatSeconds"]; ok {
		st.HeartbeatSeconds = p.positiveInt(v, loc+"/HeartbeatSeconds")
	}
	if v, ok := obj["TimeoutSecondsPath"]; ok {
		st.TimeoutSecondsPath = p.path(v, loc+"/TimeoutSecondsPath", true)
	}
	if v, ok := obj["HeartbeatSecondsPath"]; ok {
		st.HeartbeatSecondsPath = p.path(v, loc+"/HeartbeatSecondsPath", true)
	}
	if st.TimeoutSeconds > 0 && st.TimeoutSecondsPath != "" {
		p.schema(loc, "Only one of the fields [TimeoutSeconds, TimeoutSecondsPath] may be specified")
	}
	if st.HeartbeatSeconds > 0 && st.HeartbeatSecondsPath != "" {
		p.schema(loc, "Only one of the fields [HeartbeatSeconds, HeartbeatSecondsPath] may be specified")
	}
	if st.HeartbeatSeconds > 0 && st.TimeoutSeconds > 0 && st.HeartbeatSeconds >= st.TimeoutSeconds {
		p.schema(loc+"/HeartbeatSeconds", "HeartbeatSeconds must be smaller than TimeoutSeconds")
	}
}

func (p *parser) wait(st *State, obj map[string]any, loc string) {
	n := 0
	if v, ok := obj["Seconds"]; ok {
		n++
		f, isNum := toFloat(v)
		if !isNum || f < 0 {
			p.schema(loc+"/Seconds", "Expected a non-negative number")
		}
		st.Seconds = &f
	}
	if v, ok := obj["Timestamp"]; ok {
		n++
		st.Timestamp = p.str(v, loc+"/Timestamp")
		if _, err := parseTimestamp(st.Timestamp); err != nil {
			p.schema(loc+"/Timestamp", "Value is not a valid RFC3339 timestamp: %q", st.Timestamp)
		}
	}
	if v, ok := obj["SecondsPath"]; ok {
		n++
		st.SecondsPath = p.path(v, loc+"/SecondsPath", true)
	}
	if v, ok := obj["TimestampPath"]; ok {
		n++
		st.TimestampPath = p.path(v, loc+"/TimestampPath", true)
	}
	if n != 1 {
		p.schema(loc, "Exactly one of the fields [Seconds, Timestamp, SecondsPath, TimestampPath] is required")
	}
}

func (p *parser) fail(st *State, obj map[string]any, loc string) {
	if v, ok := obj["Error"]; ok {
		st.Error = p.str(v, loc+"/Error")
	}
	if v, ok := obj["Cause"]; ok {
		st.Cause = p.str(v, loc+"/Cause")
	}
	if v, ok := obj["ErrorPath"]; ok {
		st.ErrorPath = p.pathOrIntrinsic(v, loc+"/ErrorPath")
	}
	if v, ok := obj["CausePath"]; ok {
		st.CausePath = p.pathOrIntrinsic(v, loc+"/CausePath")
	}
	if st.Error != "" && st.ErrorPath != "" {
		p.schema(loc, "Only one of the fields [Error, ErrorPath] may be specified")
	}
	if st.Cause != "" && st.CausePath != "" {
		p.schema(loc, "Only one of the fields [Cause, CausePath] may be specified")
	}
}

func (p *parser) mapState(st *State, obj map[string]any, loc string) {
	proc, field := obj["ItemProcessor"], "ItemProcessor"
	if proc == nil {
		proc, field = obj["Iterator"], "Iterator"
	}
	po, ok := proc.(map[string]any)
	if !ok {
		p.schema(loc, "These fields are required: [ItemProcessor]")
	} else {
		if cfg, ok := po["ProcessorConfig"].(map[string]any); ok {
			if mode, _ := cfg["Mode"].(string); mode == "DISTRIBUTED" {
				p.schema(loc+"/"+field+"/ProcessorConfig/Mode", "DISTRIBUTED Map is not supported by the local cloud; use INLINE")
			}
		}
		st.ItemProcessor = p.machine(po, loc+"/"+field, false)
	}
	st.ItemsPath = p.optPath(obj, "ItemsPath", loc, true)
	if v, ok := obj["ItemSelector"]; ok {
		st.ItemSelector, st.HasItemSelector = v, true
		p.template(v, loc+"/ItemSelector")
	} else if st.HasParameters {
		// Parameters is the legacy name of ItemSelector in a Map state.
		st.ItemSelector, st.HasItemSelector = st.Parameters, true
		st.Parameters, st.HasParameters = nil, false
	}
	if v, ok := obj["MaxConcurrency"]; ok {
		st.MaxConcurrency = p.nonNegativeInt(v, loc+"/MaxConcurrency")
	}
	if v, ok := obj["MaxConcurrencyPath"]; ok {
		st.MaxConcurrencyPath = p.path(v, loc+"/MaxConcurrencyPath", true)
	}
	if v, ok := obj["ToleratedFailurePercentage"]; ok {
		f, isNum := toFloat(v)
		if !isNum || f < 0 || f > 100 {
			p.schema(loc+"/ToleratedFailurePercentage", "Expected a number between 0 and 100")
		}
		st.ToleratedFailurePercentage, st.HasToleratedFailurePercentage = f, true
	}
	if v, ok := obj["ToleratedFailureCount"]; ok {
		st.ToleratedFailureCount, st.HasToleratedFailureCount = p.nonNegativeInt(v, loc+"/ToleratedFailureCount"), true
	}
	if v, ok := obj["ToleratedFailurePercentagePath"]; ok {
		st.ToleratedFailurePercentagePath = p.path(v, loc+"/ToleratedFailurePercentagePath", true)
	}
	if v, ok := obj["ToleratedFailureCountPath"]; ok {
		st.ToleratedFailureCountPath = p.path(v, loc+"/ToleratedFailureCountPath", true)
	}
}

func (p *parser) retry(v any, loc string) []Retrier {
	list, ok := v.([]any)
	if !ok {
		p.schema(loc, "Expected value of type: Array")
		return nil
	}
	var out []Retrier
	for i, e := range list {
		eloc := fmt.Sprintf("%s[%d]", loc, i)
		o, ok := e.(map[string]any)
		if !ok {
			p.schema(eloc, "Expected value of type: Object")
			continue
		}
		for _, k := range sortedKeys(o) {
			switch k {
			case "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment":
			default:
				p.schema(eloc+"/"+k, "Field %q is not supported in a Retrier", k)
			}
		}
		r := Retrier{
			ErrorEquals:     p.errorEquals(o["ErrorEquals"], eloc, i == len(list)-1),
			IntervalSeconds: defaultRetryIntervalSeconds,
			MaxAttempts:     defaultRetryMaxAttempts,
			BackoffRate:     defaultRetryBackoffRate,
			JitterStrategy:  "NONE",
		}
		if x, ok := o["IntervalSeconds"]; ok {
			r.IntervalSeconds = float64(p.positiveInt(x, eloc+"/IntervalSeconds"))
		}
		if x, ok := o["MaxAttempts"]; ok {
			r.MaxAttempts = p.nonNegativeInt(x, eloc+"/MaxAttempts")
		}
		if x, ok := o["BackoffRate"]; ok {
			f, isNum := toFloat(x)
			if !isNum || f < 1 {
				p.schema(eloc+"/BackoffRate", "BackoffRate must be a number >= 1.0")
			}
			r.BackoffRate = f
		}
		if x, ok := o["MaxDelaySeconds"]; ok {
			r.MaxDelaySeconds = float64(p.positiveInt(x, eloc+"/MaxDelaySeconds"))
		}
		if x, ok := o["JitterStrategy"]; ok {
			s, _ := x.(string)
			if s != "FULL" && s != "NONE" {
				p.schema(eloc+"/JitterStrategy", "JitterStrategy must be FULL or NONE")
			}
			r.JitterStrategy = s
		}
		out = append(out, r)
	}
	return out
}

func (p *parser) catch(v any, loc string) []Catcher {
	list, ok := v.([]any)
	if !ok {
		p.schema(loc, "Expected value of type: Array")
		return nil
	}
	var out []Catcher
	for i, e := range list {
		eloc := fmt.Sprintf("%s[%d]", loc, i)
		o, ok := e.(map[string]any)
		if !ok {
			p.schema(eloc, "Expected value of type: Object")
			continue
		}
		c := Catcher{ErrorEquals: p.errorEquals(o["ErrorEquals"], eloc, i == len(list)-1)}
		if n, ok := o["Next"]; ok {
			c.Next = p.str(n, eloc+"/Next")
		} else {
			p.schema(eloc, "These fields are required: [Next]")
		}
		c.ResultPath = p.optPath(o, "ResultPath", eloc, true)
		for _, k := range sortedKeys(o) {
			switch k {
			case "ErrorEquals", "Next", "ResultPath", "Comment":
			default:
				p.schema(eloc+"/"+k, "Field %q is not supported in a Catcher", k)
			}
		}
		out = append(out, c)
	}
	return out
}

func (p *parser) errorEquals(v any, loc string, last bool) []string {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		p.schema(loc, "These fields are required: [ErrorEquals] (a non-empty array of strings)")
		return nil
	}
	var out []string
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			p.schema(loc+"/ErrorEquals", "Expected value of type: String")
			continue
		}
		out = append(out, s)
	}
	for _, s := range out {
		if s == ErrAll && (len(out) != 1 || !last) {
			p.schema(loc+"/ErrorEquals", "States.ALL must appear alone in the last Retrier or Catcher")
		}
	}
	return out
}

var comparisonOperators = map[string]string{
	// operator → kind of literal ("string", "number", "bool", "timestamp", "path", "presence")
	"StringEquals": "string", "StringLessThan": "string", "StringGreaterThan": "string",
	"StringLessThanEquals": "string", "StringGreaterThanEquals": "string", "StringMatches": "string",
	"StringEqualsPath": "path", "StringLessThanPath": "path", "StringGreaterThanPath": "path",
	"StringLessThanEqualsPath": "path", "StringGreaterThanEqualsPath": "path",
	"NumericEquals": "number", "NumericLessThan": "number", "NumericGreaterThan": "number",
	"NumericLessThanEquals": "number", "NumericGreaterThanEquals": "number",
	"NumericEqualsPath": "path", "NumericLessThanPath": "path", "NumericGreaterThanPath": "path",
	"NumericLessThanEqualsPath": "path", "NumericGreaterThanEqualsPath": "path",
	"BooleanEquals": "bool", "BooleanEqualsPath": "path",
	"TimestampEquals": "timestamp", "TimestampLessThan": "timestamp", "TimestampGreaterThan": "timestamp",
	"TimestampLessThanEquals": "timestamp", "TimestampGreaterThanEquals": "timestamp",
	"TimestampEqualsPath": "path", "TimestampLessThanPath": "path", "TimestampGreaterThanPath": "path",
	"TimestampLessThanEqualsPath": "path", "TimestampGreaterThanEqualsPath": "path",
	"IsNull": "bool", "IsPresent": "bool", "IsNumeric": "bool", "IsString": "bool", "IsBoolean": "bool", "IsTimestamp": "bool",
}

func (p *parser) choice(st *State, obj map[string]any, loc string) {
	list, ok := obj["Choices"].([]any)
	if !ok || len(list) == 0 {
		p.schema(loc, "These fields are required: [Choices] (a non-empty array)")
	}
	for i, c := range list {
		cloc := fmt.Sprintf("%s/Choices[%d]", loc, i)
		o, ok := c.(map[string]any)
		if !ok {
			p.schema(cloc, "Expected value of type: Object")
			continue
		}
		r := p.rule(o, cloc, true)
		st.Choices = append(st.Choices, r)
	}
	if d, ok := obj["Default"]; ok {
		st.Default = p.str(d, loc+"/Default")
	}
}

func (p *parser) rule(o map[string]any, loc string, top bool) *ChoiceRule {
	r := &ChoiceRule{}
	if top {
		if n, ok := o["Next"]; ok {
			r.Next = p.str(n, loc+"/Next")
		} else {
			p.schema(loc, "These fields are required: [Next]")
		}
	} else if _, ok := o["Next"]; ok {
		p.schema(loc+"/Next", "Nested choice rules must not have a Next field")
	}
	var ops []string
	for _, k := range sortedKeys(o) {
		switch k {
		case "Next", "Comment", "Variable":
		case "And", "Or", "Not":
			ops = append(ops, k)
		default:
			if _, ok := comparisonOperators[k]; ok {
				ops = append(ops, k)
			} else {
				p.schema(loc+"/"+k, "Field %q is not supported in a choice rule", k)
			}
		}
	}
	if len(ops) != 1 {
		p.schema(loc, "A choice rule needs exactly one comparison operator or And/Or/Not, found %d", len(ops))
		return r
	}
	op := ops[0]
	switch op {
	case "And", "Or":
		list, ok := o[op].([]any)
		if !ok || len(list) == 0 {
			p.schema(loc+"/"+op, "Expected a non-empty array of choice rules")
			return r
		}
		for i, e := range list {
			eo, ok := e.(map[string]any)
			eloc := fmt.Sprintf("%s/%s[%d]", loc, op, i)
			if !ok {
				p.schema(eloc, "Expected value of type: Object")
				continue
			}
			sub := p.rule(eo, eloc, false)
			if op == "And" {
				r.And = append(r.And, sub)
			} else {
				r.Or = append(r.Or, sub)
			}
		}
		if _, ok := o["Variable"]; ok {
			p.schema(loc+"/Variable", "And/Or rules must not have a Variable")
		}
		return r
	case "Not":
		eo, ok := o[op].(map[string]any)
		if !ok {
			p.schema(loc+"/Not", "Expected value of type: Object")
			return r
		}
		r.Not = p.rule(eo, loc+"/Not", false)
		return r
	}
	v, ok := o["Variable"]
	if !ok {
		p.schema(loc, "These fields are required: [Variable]")
	} else {
		r.Variable = p.path(v, loc+"/Variable", false)
	}
	r.Operator = op
	r.Value = o[op]
	switch comparisonOperators[op] {
	case "string":
		if _, ok := r.Value.(string); !ok {
			p.schema(loc+"/"+op, "Expected value of type: String")
		}
	case "number":
		if _, ok := toFloat(r.Value); !ok {
			p.schema(loc+"/"+op, "Expected value of type: Number")
		}
	case "bool":
		if _, ok := r.Value.(bool); !ok {
			p.schema(loc+"/"+op, "Expected value of type: Boolean")
		}
	case "timestamp":
		s, _ := r.Value.(string)
		if _, err := parseTimestamp(s); err != nil {
			p.schema(loc+"/"+op, "Value is not a valid RFC3339 timestamp")
		}
	case "path":
		r.Value = p.path(r.Value, loc+"/"+op, false)
	}
	return r
}

// optPath reads an optional path that may be null. Reference paths (for
// ResultPath and ItemsPath) may not contain wildcards or filters.
func (p *parser) optPath(obj map[string]any, field, loc string, reference bool) OptPath {
	v, ok := obj[field]
	if !ok {
		return OptPath{}
	}
	if v == nil {
		if field == "ItemsPath" {
			p.schema(loc+"/"+field, "ItemsPath must not be null")
		}
		return OptPath{Set: true, Null: true}
	}
	return OptPath{Set: true, Path: p.path(v, loc+"/"+field, reference)}
}

func (p *parser) path(v any, loc string, reference bool) string {
	s, ok := v.(string)
	if !ok {
		p.schema(loc, "Expected value of type: String")
		return ""
	}
	if _, err := compilePath(s, reference); err != nil {
		code := "INVALID_JSON_PATH"
		if reference {
			code = "INVALID_REFERENCE_PATH"
		}
		p.add(code, loc, "%v", err)
	}
	return s
}

func (p *parser) pathOrIntrinsic(v any, loc string) string {
	s, ok := v.(string)
	if ok && strings.HasPrefix(s, "States.") {
		if _, err := parseIntrinsic(s); err != nil {
			p.add("INVALID_INTRINSIC_FUNCTION", loc, "%v", err)
		}
		return s
	}
	return p.path(v, loc, false)
}

// template checks a Parameters/ResultSelector/ItemSelector payload template:
// every "key.$" value is a path, a context path or an intrinsic call.
func (p *parser) template(v any, loc string) {
	switch t := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(t) {
			if strings.HasSuffix(k, ".$") {
				s, ok := t[k].(string)
				if !ok {
					p.schema(loc+"/"+k, "The value of a field ending in .$ must be a path string")
					continue
				}
				if strings.HasPrefix(s, "States.") {
					if _, err := parseIntrinsic(s); err != nil {
						p.add("INVALID_INTRINSIC_FUNCTION", loc+"/"+k, "%v", err)
					}
					continue
				}
				p.path(s, loc+"/"+k, false)
				continue
			}
			p.template(t[k], loc+"/"+k)
		}
	case []any:
		for i, e := range t {
			p.template(e, fmt.Sprintf("%s[%d]", loc, i))
		}
	}
}

func (p *parser) str(v any, loc string) string {
	s, ok := v.(string)
	if !ok {
		p.schema(loc, "Expected value of type: String")
	}
	return s
}

func (p *parser) positiveInt(v any, loc string) int {
	n, ok := toInt(v)
	if !ok || n <= 0 {
		p.schema(loc, "Expected a positive integer")
		return 0
	}
	return n
}

func (p *parser) nonNegativeInt(v any, loc string) int {
	n, ok := toInt(v)
	if !ok || n < 0 {
		p.schema(loc, "Expected a non-negative integer")
		return 0
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// decodeJSON decodes a JSON document into generic values, integers as int64
// (when exact) and other numbers as float64, rejecting trailing data.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return normalizeNumbers(v), nil
}

// DecodeJSON decodes a JSON document the way the interpreter represents
// values: objects as map[string]any, arrays as []any, integers as int64.
func DecodeJSON(data []byte) (any, error) { return decodeJSON(data) }

func normalizeNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeNumbers(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = normalizeNumbers(e)
		}
		return t
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t)
		}
		return t
	case int:
		return int64(t)
	}
	return v
}

func toFloat(v any) (float64, bool) {
	switch t := v.(type) {
	case int64:
		return float64(t), true
	case float64:
		return t, true
	case int:
		return float64(t), true
	}
	return 0, false
}

func toInt(v any) (int, bool) {
	switch t := v.(type) {
	case int64:
		return int(t), true
	case int:
		return t, true
	case float64:
		if t == math.Trunc(t) {
			return int(t), true
		}
	}
	return 0, false
}

// parseTimestamp parses an ASL timestamp: RFC3339 with an uppercase T and an
// explicit offset or Z.
func parseTimestamp(s string) (time.Time, error) {
	if !strings.Contains(s, "T") {
		return time.Time{}, fmt.Errorf("%q is not an RFC3339 timestamp", s)
	}
	return time.Parse(time.RFC3339Nano, s)
}
