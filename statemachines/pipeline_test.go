package statemachines

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/gomlops/mlops/shared/faults"
	"github.com/gomlops/mlops/shared/pipeline"
)

// state is the part of an ASL state these tests inspect.
type state struct {
	Type           string          `json:"Type"`
	Resource       string          `json:"Resource"`
	Parameters     map[string]any  `json:"Parameters"`
	ResultSelector map[string]any  `json:"ResultSelector"`
	ResultPath     json.RawMessage `json:"ResultPath"`
	InputPath      string          `json:"InputPath"`
	TimeoutSeconds int             `json:"TimeoutSeconds"`
	Retry          []retrier       `json:"Retry"`
	Catch          []catcher       `json:"Catch"`
	Next           string          `json:"Next"`
	End            bool            `json:"End"`
	Choices        []map[string]any
	Default        string `json:"Default"`
	ErrorPath      string `json:"ErrorPath"`
	CausePath      string `json:"CausePath"`
}

type retrier struct {
	ErrorEquals     []string `json:"ErrorEquals"`
	IntervalSeconds int      `json:"IntervalSeconds"`
	MaxAttempts     int      `json:"MaxAttempts"`
	BackoffRate     float64  `json:"BackoffRate"`
	MaxDelaySeconds int      `json:"MaxDelaySeconds"`
	JitterStrategy  string   `json:"JitterStrategy"`
}

type catcher struct {
	ErrorEquals []string `json:"ErrorEquals"`
	ResultPath  string   `json:"ResultPath"`
	Next        string   `json:"Next"`
}

type definition struct {
	StartAt        string           `json:"StartAt"`
	TimeoutSeconds int              `json:"TimeoutSeconds"`
	States         map[string]state `json:"States"`
}

// resultPath returns the state's ResultPath; "$" when absent, "" when null.
func (s state) resultPath(t *testing.T) string {
	t.Helper()
	if len(s.ResultPath) == 0 {
		return "$"
	}
	var p *string
	require.NoError(t, json.Unmarshal(s.ResultPath, &p))
	if p == nil {
		return ""
	}
	return *p
}

// next lists every state s can transition to.
func (s state) next() []string {
	var out []string
	if s.Next != "" {
		out = append(out, s.Next)
	}
	if s.Default != "" {
		out = append(out, s.Default)
	}
	for _, c := range s.Choices {
		out = append(out, c["Next"].(string))
	}
	for _, c := range s.Catch {
		out = append(out, c.Next)
	}
	return out
}

func loadPipeline(t *testing.T) definition {
	t.Helper()
	raw, err := Pipeline()
	require.NoError(t, err)
	var def definition
	require.NoError(t, json.Unmarshal(raw, &def), "pipeline.asl.json is not JSON")
	require.NotEmpty(t, def.States)
	return def
}

// lambdaInvoke is the optimised Lambda integration every pipeline Task uses.
const lambdaInvoke = "arn:aws:states:::lambda:invoke"

// call is the Go contract of one Lambda action: what the state machine sends
// and what it gets back.
type call struct {
	request, result any
	// handle is the request field that carries the started work into a
	// status request.
	handle string
}

// contract maps each function's substitution name and action to its types.
var contract = map[string]map[pipeline.Action]call{
	"PrepareFunctionArn": {
		pipeline.ActionStart:  {request: pipeline.PrepareRequest{}, result: pipeline.PrepareResult{}},
		pipeline.ActionStatus: {request: pipeline.PrepareRequest{}, result: pipeline.Status{}, handle: "jobRunId"},
	},
	"TrainFunctionArn": {
		pipeline.ActionStart:  {request: pipeline.TrainRequest{}, result: pipeline.TrainResult{}},
		pipeline.ActionStatus: {request: pipeline.TrainRequest{}, result: pipeline.TrainStatus{}, handle: "trainingJobName"},
	},
	"DeployFunctionArn": {
		pipeline.ActionStart:  {request: pipeline.DeployRequest{}, result: pipeline.Deployment{}},
		pipeline.ActionStatus: {request: pipeline.DeployRequest{}, result: pipeline.Status{}, handle: "deployment"},
	},
}

// config is what the LoadConfig Pass state puts at $.config.
type config struct {
	MaxValidationError float64 `json:"maxValidationError"`
}

// stateError is what a Catch (and the *Failed Pass states) put at $.error.
type stateError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// wantRoots are the execution state's top-level fields besides the input's:
// where each result lives, as the brief and docs/pipeline.md name them.
var wantRoots = map[string]reflect.Type{
	"prepare":       reflect.TypeFor[pipeline.PrepareResult](),
	"prepareStatus": reflect.TypeFor[pipeline.Status](),
	"train":         reflect.TypeFor[pipeline.TrainResult](),
	"training":      reflect.TypeFor[pipeline.TrainStatus](),
	"deployment":    reflect.TypeFor[pipeline.Deployment](),
	"deployStatus":  reflect.TypeFor[pipeline.Status](),
	"config":        reflect.TypeFor[config](),
	"error":         reflect.TypeFor[stateError](),
	"notifyError":   reflect.TypeFor[stateError](),
}

// contextPaths are the context object fields the definition may read.
var contextPaths = map[string]reflect.Type{
	"$$.Execution.Name": reflect.TypeFor[string](),
	"$$.Execution.Id":   reflect.TypeFor[string](),
}

// jsonField describes one JSON field of a Go struct.
type jsonField struct {
	typ       reflect.Type
	omitEmpty bool
}

// jsonFields returns t's JSON fields by name, following embedded structs the
// way encoding/json does.
func jsonFields(t reflect.Type) map[string]jsonField {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]jsonField{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = jsonField{typ: f.Type, omitEmpty: strings.Contains(opts, "omitempty")}
	}
	return out
}

// walk resolves the dotted field names in path against t.
func walk(t reflect.Type, path []string) (reflect.Type, error) {
	for i, name := range path {
		f, ok := jsonFields(t)[name]
		if !ok {
			return nil, fmt.Errorf("%s has no JSON field %q", t, strings.Join(path[:i+1], "."))
		}
		t = f.typ
	}
	return t, nil
}

// simplePath matches the reference paths the definition uses: $, $.a.b, $$.a.b.
var simplePath = regexp.MustCompile(`^\$\$?(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// stateModel resolves reference paths against the execution state: the
// pipeline.Input fields plus the roots the states write.
type stateModel struct {
	roots map[string]reflect.Type
}

func newStateModel() stateModel {
	roots := map[string]reflect.Type{}
	for name, f := range jsonFields(reflect.TypeFor[pipeline.Input]()) {
		roots[name] = f.typ
	}
	for name, t := range wantRoots {
		roots[name] = t
	}
	return stateModel{roots: roots}
}

// resolve returns the Go type at path, or an error naming what is missing.
func (m stateModel) resolve(path string) (reflect.Type, error) {
	if !simplePath.MatchString(path) {
		return nil, fmt.Errorf("%q is not a plain reference path", path)
	}
	if strings.HasPrefix(path, "$$") {
		if t, ok := contextPaths[path]; ok {
			return t, nil
		}
		return nil, fmt.Errorf("context path %q is not one the pipeline uses", path)
	}
	if path == "$" {
		return reflect.TypeFor[map[string]any](), nil
	}
	parts := strings.Split(strings.TrimPrefix(path, "$."), ".")
	root, ok := m.roots[parts[0]]
	if !ok {
		return nil, fmt.Errorf("%q: the execution state has no field %q", path, parts[0])
	}
	return walk(root, parts[1:])
}

// quoted matches an intrinsic function's string literal.
var quoted = regexp.MustCompile(`'(?:[^'\\]|\\.)*'`)

// argPath matches a path argument of an intrinsic function.
var argPath = regexp.MustCompile(`\$\$?(?:\.[A-Za-z_][A-Za-z0-9_]*)*`)

// pathsIn returns the reference paths a ".$" value reads: the value itself,
// or the path arguments of an intrinsic function call.
func pathsIn(v string) []string {
	if strings.HasPrefix(v, "$") {
		return []string{v}
	}
	return argPath.FindAllString(quoted.ReplaceAllString(v, "''"), -1)
}

// dynamicValues returns key -> value for every "key.$" in a payload template,
// with nested objects' keys joined by dots.
func dynamicValues(prefix string, tmpl map[string]any, out map[string]string) map[string]string {
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range tmpl {
		switch v := v.(type) {
		case map[string]any:
			dynamicValues(prefix+k+".", v, out)
		case string:
			if name, ok := strings.CutSuffix(k, ".$"); ok {
				out[prefix+name] = v
			}
		}
	}
	return out
}

// readPaths returns every reference path a state reads, with where it reads it.
func readPaths(s state) map[string]string {
	out := map[string]string{}
	add := func(where, v string) {
		for _, p := range pathsIn(v) {
			out[p] = where
		}
	}
	for k, v := range dynamicValues("", s.Parameters, nil) {
		add("Parameters."+k, v)
	}
	if s.InputPath != "" {
		add("InputPath", s.InputPath)
	}
	if s.ErrorPath != "" {
		add("ErrorPath", s.ErrorPath)
	}
	if s.CausePath != "" {
		add("CausePath", s.CausePath)
	}
	var rules func(rs []any)
	rule := func(r map[string]any) {
		for k, v := range r {
			switch {
			case k == "Variable" || strings.HasSuffix(k, "Path"):
				add("Choices."+k, v.(string))
			case k == "And" || k == "Or":
				rules(v.([]any))
			case k == "Not":
				rules([]any{v})
			}
		}
	}
	rules = func(rs []any) {
		for _, r := range rs {
			rule(r.(map[string]any))
		}
	}
	for _, c := range s.Choices {
		rule(c)
	}
	return out
}

// lambdaCall identifies the contract of a Lambda Task.
func lambdaCall(t *testing.T, name string, s state) (fn string, action pipeline.Action, c call) {
	t.Helper()
	fnRef, _ := s.Parameters["FunctionName"].(string)
	fn = strings.TrimSuffix(strings.TrimPrefix(fnRef, "${"), "}")
	actions, ok := contract[fn]
	require.True(t, ok, "%s: FunctionName %q is not a pipeline function", name, fnRef)
	payload, ok := s.Parameters["Payload"].(map[string]any)
	require.True(t, ok, "%s: Parameters.Payload must be an object", name)
	a, _ := payload["action"].(string)
	action = pipeline.Action(a)
	c, ok = actions[action]
	require.True(t, ok, "%s: action %q is not one %s has", name, a, fn)
	return fn, action, c
}

func TestEveryTaskHasTimeoutRetryAndCatch(t *testing.T) {
	def := loadPipeline(t)
	wantRetried := []string{faults.TransientErrorName, "Lambda.ServiceException", "Lambda.AWSLambdaException",
		"Lambda.SdkClientException", "Lambda.TooManyRequestsException", "States.Timeout"}
	tasks := 0
	for name, s := range def.States {
		if s.Type != "Task" {
			continue
		}
		tasks++
		t.Run(name, func(t *testing.T) {
			assert.Positive(t, s.TimeoutSeconds, "TimeoutSeconds")
			require.NotEmpty(t, s.Retry, "Retry")
			for _, r := range s.Retry {
				assert.Positive(t, r.MaxAttempts, "MaxAttempts")
				assert.Greater(t, r.BackoffRate, 1.0, "BackoffRate: retries must back off")
				assert.Positive(t, r.MaxDelaySeconds, "MaxDelaySeconds")
				assert.Equal(t, "FULL", r.JitterStrategy)
				assert.NotContains(t, r.ErrorEquals, faults.PermanentErrorName, "a permanent error must not be retried")
			}
			require.NotEmpty(t, s.Catch, "Catch")
			last := s.Catch[len(s.Catch)-1]
			assert.Equal(t, []string{"States.ALL"}, last.ErrorEquals, "the last catcher catches everything")
			assert.NotEmpty(t, last.ResultPath, "the caught error is kept for the notification")
			if s.Resource == lambdaInvoke {
				assert.ElementsMatch(t, wantRetried, s.Retry[0].ErrorEquals)
				assert.Equal(t, "$.error", last.ResultPath)
				assert.Equal(t, "NotifyFailure", last.Next, "a failed Lambda task notifies")
				return
			}
			assert.Equal(t, "arn:aws:states:::sns:publish", s.Resource, "only Lambda and SNS tasks are expected")
			assert.Equal(t, "${TopicArn}", s.Parameters["TopicArn"])
			assert.Equal(t, []string{"States.ALL"}, s.Retry[0].ErrorEquals, "notifications retry every error")
			assert.Equal(t, "Fail", def.States[last.Next].Type, "a failed notification fails the execution")
		})
	}
	assert.Equal(t, 9, tasks, "6 Lambda tasks and 3 notifications")
}

func TestGraph(t *testing.T) {
	def := loadPipeline(t)
	assert.Positive(t, def.TimeoutSeconds, "a top-level TimeoutSeconds bounds the polling loops")
	require.Contains(t, def.States, def.StartAt)

	t.Run("transitions name existing states", func(t *testing.T) {
		for name, s := range def.States {
			for _, n := range s.next() {
				assert.Contains(t, def.States, n, "%s -> %s", name, n)
			}
			terminal := s.Type == "Succeed" || s.Type == "Fail" || s.End
			assert.Equal(t, terminal, len(s.next()) == 0, "%s: only terminal states have no successor", name)
		}
	})
	t.Run("every state is reachable", func(t *testing.T) {
		seen := map[string]bool{}
		var visit func(string)
		visit = func(n string) {
			if seen[n] {
				return
			}
			seen[n] = true
			for _, m := range def.States[n].next() {
				visit(m)
			}
		}
		visit(def.StartAt)
		for name := range def.States {
			assert.True(t, seen[name], "%s is unreachable", name)
		}
	})
	t.Run("every loop waits", func(t *testing.T) {
		// Without Wait states the graph must be acyclic, or a loop would
		// poll as fast as Step Functions transitions.
		const (
			white = iota
			grey
			black
		)
		color := map[string]int{}
		var visit func(path []string, n string)
		visit = func(path []string, n string) {
			if def.States[n].Type == "Wait" || color[n] == black {
				return
			}
			if color[n] == grey {
				t.Errorf("loop without a Wait state: %s -> %s", strings.Join(path, " -> "), n)
				return
			}
			color[n] = grey
			for _, m := range def.States[n].next() {
				visit(append(path, n), m)
			}
			color[n] = black
		}
		for name := range def.States {
			visit(nil, name)
		}
	})
	t.Run("a rejected model is not a failure", func(t *testing.T) {
		assert.Equal(t, "Succeed", def.States[def.States["NotifyRejected"].Next].Type)
		assert.Equal(t, "Fail", def.States[def.States["NotifyFailure"].Next].Type)
		assert.Equal(t, "Succeed", def.States[def.States["NotifySuccess"].Next].Type)
	})
}

// TestLambdaPayloadsMatchRequestTypes checks every Payload key a Task sends is
// a JSON field of the request type, every required field is sent, and each
// value has the field's Go type.
func TestLambdaPayloadsMatchRequestTypes(t *testing.T) {
	def := loadPipeline(t)
	model := newStateModel()
	for name, s := range def.States {
		if s.Resource != lambdaInvoke {
			continue
		}
		t.Run(name, func(t *testing.T) {
			_, action, c := lambdaCall(t, name, s)
			payload := s.Parameters["Payload"].(map[string]any)
			fields := jsonFields(reflect.TypeOf(c.request))
			sent := map[string]bool{}
			for key, v := range payload {
				field, dynamic := strings.CutSuffix(key, ".$")
				sent[field] = true
				f, ok := fields[field]
				if !assert.True(t, ok, "Payload key %q is not a JSON field of %T", field, c.request) {
					continue
				}
				if !dynamic {
					assert.Equal(t, reflect.String, f.typ.Kind(), "literal %q", field)
					continue
				}
				src, err := model.resolve(v.(string))
				if assert.NoError(t, err, "Payload.%s", key) {
					assert.Equal(t, deref(f.typ), deref(src), "Payload.%s = %s: types differ", key, v)
				}
			}
			for field, f := range fields {
				if !f.omitEmpty {
					assert.True(t, sent[field], "required field %q of %T is not sent", field, c.request)
				}
			}
			assert.Equal(t, "$$.Execution.Name", payload["executionName.$"], "the execution name derives every resource name")
			if action == pipeline.ActionStatus {
				assert.True(t, sent[c.handle], "a status request carries %q", c.handle)
			} else if c.handle != "" {
				assert.False(t, sent[c.handle])
			}
		})
	}
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// TestLambdaResultsMatchResultTypes checks what each Task keeps of its
// Lambda's answer: either every field of the result type picked by name (only
// possible when none is optional, since a missing path fails the execution),
// or the whole Payload, unwrapped by the next Pass state. Either way the
// result lands at its documented root of the execution state.
func TestLambdaResultsMatchResultTypes(t *testing.T) {
	def := loadPipeline(t)
	gotRoots := map[string]reflect.Type{}
	for name, s := range def.States {
		if s.Resource != lambdaInvoke {
			continue
		}
		t.Run(name, func(t *testing.T) {
			_, _, c := lambdaCall(t, name, s)
			resultType := reflect.TypeOf(c.result)
			fields := jsonFields(resultType)
			rp := s.resultPath(t)
			require.Regexp(t, `^\$\.[A-Za-z]+$`, rp, "ResultPath is a top-level field")
			root := strings.TrimPrefix(rp, "$.")
			assert.NotContains(t, gotRoots, root, "two tasks write %s", rp)
			gotRoots[root] = resultType

			if whole, ok := s.ResultSelector["Payload.$"]; ok {
				assert.Len(t, s.ResultSelector, 1)
				assert.Equal(t, "$.Payload", whole)
				unwrap := def.States[s.Next]
				assert.Equal(t, "Pass", unwrap.Type, "%s: the next state unwraps the Payload", name)
				assert.Equal(t, rp+".Payload", unwrap.InputPath)
				assert.Equal(t, rp, unwrap.resultPath(t))
				assert.Nil(t, unwrap.Parameters)
				return
			}
			picked := map[string]bool{}
			for key, v := range s.ResultSelector {
				field, dynamic := strings.CutSuffix(key, ".$")
				require.True(t, dynamic, "ResultSelector.%s picks from the result", key)
				assert.Equal(t, "$.Payload."+field, v, "ResultSelector.%s keeps the field's name", key)
				f, ok := fields[field]
				if assert.True(t, ok, "%q is not a JSON field of %s", field, resultType) {
					assert.False(t, f.omitEmpty, "%s.%s is optional: picking it fails when it is absent", resultType, field)
				}
				picked[field] = true
			}
			for field := range fields {
				assert.True(t, picked[field], "%s.%s is dropped", resultType, field)
			}
		})
	}
	for root, want := range wantRoots {
		if got, ok := gotRoots[root]; ok {
			assert.Equal(t, want, got, "$.%s", root)
		}
	}
	assert.Len(t, gotRoots, 6, "one root per Lambda call")
}

// TestEveryPathReadExistsInTheContract resolves every reference path the
// definition reads ($.training.metric.value, $.prepare.outputs.baseline, ...)
// against the Go types of shared/pipeline.
func TestEveryPathReadExistsInTheContract(t *testing.T) {
	def := loadPipeline(t)
	model := newStateModel()
	n := 0
	for name, s := range def.States {
		for path, where := range readPaths(s) {
			if s.Type == "Pass" && where == "InputPath" && path == s.resultPath(t)+".Payload" {
				continue // an unwrap state; TestLambdaResultsMatchResultTypes checks it
			}
			n++
			if _, err := model.resolve(path); err != nil {
				t.Errorf("%s.%s reads %s: %v", name, where, path, err)
			}
		}
	}
	assert.Greater(t, n, 30, "the walk found the definition's paths")

	t.Run("LoadConfig writes the config type", func(t *testing.T) {
		s := def.States["LoadConfig"]
		assert.Equal(t, "$.config", s.resultPath(t))
		var keys []string
		for k := range s.Parameters {
			keys = append(keys, strings.TrimSuffix(k, ".$"))
		}
		var want []string
		for k := range jsonFields(reflect.TypeFor[config]()) {
			want = append(want, k)
		}
		assert.ElementsMatch(t, want, keys)
		assert.Equal(t, "States.StringToJson('${MaxValidationError}')", s.Parameters["maxValidationError.$"])
	})
}

func TestResolveRejectsUnknownFields(t *testing.T) {
	model := newStateModel()
	tests := []struct {
		name, path, wantErr string
	}{
		{"known nested", "$.training.metric.value", ""},
		{"embedded status field", "$.training.state", ""},
		{"input field", "$.dataset.versionId", ""},
		{"typo in field", "$.training.metric.valeu", `no JSON field "metric.valeu"`},
		{"unknown root", "$.trained.metric", `no field "trained"`},
		{"go name instead of json name", "$.prepare.JobRunID", `no JSON field "JobRunID"`},
		{"unknown context path", "$$.Execution.StartTime", "not one the pipeline uses"},
		{"filter expression", "$.a[0]", "not a plain reference path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := model.resolve(tt.path)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestPathsIn(t *testing.T) {
	tests := []struct {
		name, v string
		want    []string
	}{
		{"plain", "$.a.b", []string{"$.a.b"}},
		{"context", "$$.Execution.Name", []string{"$$.Execution.Name"}},
		{"format", "States.Format('x {} $.not.a.path', $$.Execution.Id, States.JsonToString($.error))", []string{"$$.Execution.Id", "$.error"}},
		{"literal only", "States.StringToJson('${MaxValidationError}')", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, pathsIn(tt.v))
		})
	}
}

// TestChoicesCompareKnownStates checks the polling Choices test exactly the
// states a status action returns.
func TestChoicesCompareKnownStates(t *testing.T) {
	def := loadPipeline(t)
	known := map[string]bool{string(pipeline.StateRunning): true, string(pipeline.StateSucceeded): true, string(pipeline.StateFailed): true}
	for _, name := range []string{"PrepareDone", "TrainingDone", "DeploymentDone"} {
		t.Run(name, func(t *testing.T) {
			s := def.States[name]
			require.Equal(t, "Choice", s.Type)
			var got []string
			for _, c := range s.Choices {
				v, _ := c["StringEquals"].(string)
				assert.True(t, known[v], "%q is not a pipeline.State", v)
				got = append(got, v)
			}
			assert.ElementsMatch(t, []string{"RUNNING", "SUCCEEDED", "FAILED"}, got)
			assert.NotEmpty(t, s.Default, "an unknown state fails instead of erroring")
		})
	}
}

// templateSubstitutions returns the DefinitionSubstitutions keys of the
// template's state machine whose DefinitionUri is file.
func templateSubstitutions(t *testing.T, file string) []string {
	t.Helper()
	raw, err := os.ReadFile("../template.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	require.NotEmpty(t, doc.Content)
	resources := mapping(doc.Content[0], "Resources")
	require.NotNil(t, resources, "template has no Resources")
	var keys []string
	found := 0
	for i := 0; i+1 < len(resources.Content); i += 2 {
		res := resources.Content[i+1]
		typ := mapping(res, "Type")
		props := mapping(res, "Properties")
		if typ == nil || typ.Value != "AWS::Serverless::StateMachine" || props == nil {
			continue
		}
		if uri := mapping(props, "DefinitionUri"); uri == nil || uri.Value != file {
			continue
		}
		found++
		subs := mapping(props, "DefinitionSubstitutions")
		require.NotNil(t, subs, "%s has no DefinitionSubstitutions", resources.Content[i].Value)
		for j := 0; j < len(subs.Content); j += 2 {
			keys = append(keys, subs.Content[j].Value)
		}
	}
	require.Equal(t, 1, found, "one state machine uses %s", file)
	sort.Strings(keys)
	return keys
}

// mapping returns the value of key in a YAML mapping node, or nil.
func mapping(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func TestSubstitutionsMatchTheTemplate(t *testing.T) {
	raw, err := Pipeline()
	require.NoError(t, err)
	want := []string{"DeployFunctionArn", "MaxValidationError", "PrepareFunctionArn", "TopicArn", "TrainFunctionArn"}
	assert.Equal(t, want, Placeholders(raw), "placeholders in the definition")
	assert.Equal(t, Placeholders(raw), templateSubstitutions(t, PipelineFile),
		"template DefinitionSubstitutions and the definition's ${...} must name the same values")
}
