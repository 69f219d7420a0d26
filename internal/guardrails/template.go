// Package guardrails checks the SAM template and the state machine
// definitions against security and reliability rules ported from public
// scanners (checkov, cfn-nag, the serverless rules for cfn-lint, AWS Control
// Tower proactive controls, AWS Config managed rules) plus the project's own
// contracts. `go test` runs them over the real template, so a change that
// opens a hole or drops a retry fails the build. docs/guardrails.md lists the
// rules and how to suppress one.
package guardrails

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlops/mlops/internal/cfnyaml"
	"github.com/gomlops/mlops/internal/samglobals"
)

// Resource is one template resource with SAM Globals already applied.
type Resource struct {
	ID         string
	Type       string
	Properties map[string]any
	Metadata   map[string]any
}

// Template is a decoded SAM template with Globals applied and the state
// machine definitions it points at loaded.
type Template struct {
	// Dir is the directory of the template; DefinitionUri and the events/
	// fixtures are resolved against it.
	Dir        string
	Parameters map[string]any
	Resources  map[string]*Resource
	// Definitions holds the parsed ASL of each state machine, by logical id.
	Definitions map[string]map[string]any
	// DefinitionErrors records state machines whose definition could not be
	// loaded; the sfn rules report them.
	DefinitionErrors map[string]error
	// Raw is a copy of the decoded template, for rules that hand it to the
	// local cloud's loader (which resolves intrinsics to local values).
	Raw map[string]any
}

// Load reads and decodes the template at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	raw, err := cfnyaml.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return New(raw, filepath.Dir(path))
}

// New builds a Template from a decoded template (cfnyaml.Decode output).
// raw is not modified: Globals are applied to copies.
func New(raw map[string]any, dir string) (*Template, error) {
	t := &Template{
		Dir:              dir,
		Parameters:       asMap(raw["Parameters"]),
		Resources:        map[string]*Resource{},
		Definitions:      map[string]map[string]any{},
		DefinitionErrors: map[string]error{},
		Raw:              cfnyaml.DeepCopy(raw).(map[string]any),
	}
	if t.Parameters == nil {
		t.Parameters = map[string]any{}
	}
	resources, ok := raw["Resources"].(map[string]any)
	if !ok && raw["Resources"] != nil {
		return nil, fmt.Errorf("Resources is %T, want a mapping", raw["Resources"])
	}
	globals := asMap(raw["Globals"])
	for id, v := range resources {
		body, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resource %s is %T, want a mapping", id, v)
		}
		typ, _ := body["Type"].(string)
		if typ == "" {
			return nil, fmt.Errorf("resource %s has no Type", id)
		}
		var global map[string]any
		if section, ok := samglobals.Section(typ); ok {
			global = asMap(globals[section])
		}
		// Merge copies: raw is never modified.
		props := samglobals.Merge(global, asMap(body["Properties"]))
		md, _ := cfnyaml.DeepCopy(body["Metadata"]).(map[string]any)
		t.Resources[id] = &Resource{ID: id, Type: typ, Properties: props, Metadata: md}
	}
	for _, r := range t.Sorted("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine") {
		def, err := t.loadDefinition(r)
		if err != nil {
			t.DefinitionErrors[r.ID] = err
			continue
		}
		t.Definitions[r.ID] = def
	}
	return t, nil
}

func (t *Template) loadDefinition(r *Resource) (map[string]any, error) {
	var data []byte
	switch {
	case r.Properties["Definition"] != nil:
		def, ok := r.Properties["Definition"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("Definition is %T, want a mapping", r.Properties["Definition"])
		}
		return def, nil
	case r.Properties["DefinitionUri"] != nil:
		uri, ok := r.Properties["DefinitionUri"].(string)
		if !ok {
			return nil, fmt.Errorf("DefinitionUri is not a local path (%v): the guardrails cannot read it", r.Properties["DefinitionUri"])
		}
		b, err := os.ReadFile(filepath.Join(t.Dir, uri))
		if err != nil {
			return nil, fmt.Errorf("read DefinitionUri: %w", err)
		}
		data = b
	case r.Properties["DefinitionString"] != nil:
		s, ok := r.Properties["DefinitionString"].(string)
		if !ok {
			if sub, isSub := asMap(r.Properties["DefinitionString"])["Fn::Sub"].(string); isSub {
				s, ok = sub, true
			}
		}
		if !ok {
			return nil, fmt.Errorf("DefinitionString is not a literal or a string Fn::Sub")
		}
		data = []byte(s)
	default:
		return nil, fmt.Errorf("no Definition, DefinitionUri or DefinitionString the guardrails can read")
	}
	var def map[string]any
	if err := json.Unmarshal(data, &def); err != nil {
		return nil, fmt.Errorf("parse definition: %w", err)
	}
	return def, nil
}

// Sorted returns the resources of the given types (all when none given),
// ordered by logical id so findings come out in a stable order.
func (t *Template) Sorted(types ...string) []*Resource {
	var out []*Resource
	for _, r := range t.Resources {
		if len(types) == 0 || contains(types, r.Type) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Functions returns the Lambda functions (SAM and plain) by logical id.
func (t *Template) Functions() []*Resource {
	return t.Sorted("AWS::Serverless::Function", "AWS::Lambda::Function")
}

// refTarget returns the logical id a value points at: {"Ref": X},
// {"Fn::GetAtt": [X, attr]} or a string Fn::Sub whose only variable is X or X.attr.
func refTarget(v any) (string, bool) {
	m := asMap(v)
	if m == nil {
		return "", false
	}
	if s, ok := m["Ref"].(string); ok {
		return s, true
	}
	if l, ok := m["Fn::GetAtt"].([]any); ok && len(l) > 0 {
		s, ok := l[0].(string)
		return s, ok
	}
	if s, ok := m["Fn::Sub"].(string); ok {
		vars := subVars(s)
		if len(vars) >= 1 {
			// The resource named last-but-pseudo is the target, e.g.
			// arn:${AWS::Partition}:sqs:...:${Queue.QueueName}.
			for i := len(vars) - 1; i >= 0; i-- {
				if !strings.HasPrefix(vars[i], "AWS::") {
					id, _, _ := strings.Cut(vars[i], ".")
					return id, true
				}
			}
		}
	}
	return "", false
}

// subVars lists the ${...} variables of a Fn::Sub string, skipping ${!literal}.
func subVars(s string) []string {
	var out []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return out
		}
		j := strings.Index(s[i:], "}")
		if j < 0 {
			return out
		}
		name := s[i+2 : i+j]
		if !strings.HasPrefix(name, "!") {
			out = append(out, name)
		}
		s = s[i+j+1:]
	}
}

// references lists every logical id a value refers to, anywhere inside it.
func references(v any) []string {
	var out []string
	walk(v, func(x any) {
		m := asMap(x)
		if m == nil {
			return
		}
		if s, ok := m["Ref"].(string); ok {
			out = append(out, s)
		}
		if l, ok := m["Fn::GetAtt"].([]any); ok && len(l) > 0 {
			if s, ok := l[0].(string); ok {
				out = append(out, s)
			}
		}
		sub := m["Fn::Sub"]
		var vars map[string]any
		if l, ok := sub.([]any); ok && len(l) == 2 {
			sub = l[0]
			vars = asMap(l[1])
		}
		if s, ok := sub.(string); ok {
			for _, name := range subVars(s) {
				id, _, _ := strings.Cut(name, ".")
				if _, local := vars[id]; !local {
					out = append(out, id)
				}
			}
		}
	})
	return out
}

// walk calls fn on v and every value nested inside it.
func walk(v any, fn func(any)) {
	fn(v)
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walk(x[k], fn)
		}
	case []any:
		for _, e := range x {
			walk(e, fn)
		}
	}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// asList returns v as a list; a single value becomes a one-element list.
func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// asStrings returns the literal strings in v (a string or a list).
func asStrings(v any) []string {
	var out []string
	for _, e := range asList(v) {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// isTrue reports whether v is true or the string "true" (CloudFormation
// accepts both).
func isTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}

// number returns v as a float when it is a literal number, a numeric
// string, or a Ref to a parameter whose Default is one.
func (t *Template) number(v any) (float64, bool) {
	if id, ok := asMap(v)["Ref"].(string); ok && t != nil {
		return number(asMap(t.Parameters[id])["Default"])
	}
	return number(v)
}

// number returns v as a float when it is a literal number or numeric string.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		var f float64
		if _, err := fmt.Sscanf(x, "%g", &f); err == nil {
			return f, true
		}
	}
	return 0, false
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// present reports whether v is set to something other than an empty value.
func present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case map[string]any:
		return len(x) > 0
	case []any:
		return len(x) > 0
	}
	return true
}
