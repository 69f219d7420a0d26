// Package samtemplate loads an AWS SAM (or plain CloudFormation) template for
// the local cloud.
//
// Load applies the SAM Globals, binds the parameters (defaults plus
// `sam --parameter-overrides`-style overrides), evaluates Conditions and
// resolves every intrinsic function (Ref, Fn::GetAtt, Fn::Sub, Fn::Join,
// Fn::If, Fn::FindInMap, ...) to deterministic local values: account
// 123456789012, the chosen region, ARNs built the way AWS builds them and
// physical names taken from the resource's explicit name property or, when
// none is set, "<stack>-<LogicalId>" (lower-cased where the service demands
// it). Anything the loader cannot evaluate is an error naming the resource
// and property: a template is never half-loaded silently.
//
// The generic view (Template.Resources, PhysicalName, ARN) serves every
// emulator; the typed views (Functions, StateMachines, Buckets, Rules,
// Topics, Queues, APIs) pick out what each emulator needs.
package samtemplate

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/gomlops/mlops/internal/cfnyaml"
	"github.com/gomlops/mlops/internal/samglobals"
)

// DefaultAccountID is the account every local ARN uses.
const DefaultAccountID = "123456789012"

// DefaultRegion is used when Options.Region is empty.
const DefaultRegion = "us-east-1"

// DefaultStackName is used when Options.StackName is empty.
const DefaultStackName = "localcloud"

// Options control how a template is bound to local values.
type Options struct {
	// Region is the AWS region of the local cloud (default us-east-1).
	Region string
	// AccountID is the account of every ARN (default 123456789012).
	AccountID string
	// StackName names the stack: AWS::StackName and the prefix of
	// generated physical names (default "localcloud").
	StackName string
	// Parameters override template parameter values, like
	// `sam --parameter-overrides`. ParseParameterOverrides builds it.
	Parameters map[string]string
	// Endpoint is the local cloud's AWS endpoint (e.g.
	// http://127.0.0.1:4566). When set, SQS queue URLs point at it, as
	// the local SQS emulator serves them; otherwise they are AWS-shaped.
	Endpoint string
}

func (o Options) withDefaults() Options {
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.AccountID == "" {
		o.AccountID = DefaultAccountID
	}
	if o.StackName == "" {
		o.StackName = DefaultStackName
	}
	return o
}

// Resource is one resolved resource of the template.
type Resource struct {
	// Type is the resource type, e.g. AWS::Serverless::Function.
	Type string
	// Properties holds the resource's properties with Globals applied
	// and every intrinsic function resolved.
	Properties map[string]any
	// Metadata holds the resolved Metadata section (BuildMethod, ...).
	Metadata map[string]any
	// Implicit is true for resources SAM creates by itself (a function's
	// role, the ServerlessRestApi), which are not in the template text.
	Implicit bool
}

// Template is a loaded, resolved template.
type Template struct {
	// Path is the template file; Dir its directory (CodeUri is relative
	// to it).
	Path, Dir string
	// Region, AccountID and StackName are the bound pseudo parameters.
	Region, AccountID, StackName string
	// Parameters are the bound parameter values (lists comma-joined).
	Parameters map[string]string
	// Resources maps logical ids to resolved resources. Resources whose
	// Condition is false are absent.
	Resources map[string]Resource
	// Outputs maps output names to their resolved values.
	Outputs map[string]string

	opts Options
	r    *resolver
}

// Load reads and resolves the template at path.
func Load(path string, opts Options) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("template path %q: %w", path, err)
	}
	t, err := Parse(data, opts)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", path, err)
	}
	t.Path, t.Dir = abs, filepath.Dir(abs)
	return t, nil
}

// Parse resolves a template held in memory. CodeUri paths of its functions
// are relative to the current directory; Load sets them relative to the
// template file.
func Parse(data []byte, opts Options) (*Template, error) {
	opts = opts.withDefaults()
	doc, err := cfnyaml.Decode(data)
	if err != nil {
		return nil, err
	}
	if err := checkTopLevel(doc); err != nil {
		return nil, err
	}
	raw, err := rawResources(doc)
	if err != nil {
		return nil, err
	}
	if err := applyGlobals(doc, raw, func(*rawResource) bool { return true }); err != nil {
		return nil, err
	}
	// Implicit resources depend on the merged functions (AutoPublishAlias
	// from Globals...), and Globals.Api applies to the implicit API too.
	addImplicitResources(raw)
	if err := applyGlobals(doc, raw, func(r *rawResource) bool { return r.implicit }); err != nil {
		return nil, err
	}

	r := &resolver{
		opts:       opts,
		resources:  raw,
		mappings:   mapOf(doc["Mappings"]),
		conditions: mapOf(doc["Conditions"]),
		condMemo:   map[string]bool{},
		condBusy:   map[string]bool{},
		nameMemo:   map[string]string{},
		nameBusy:   map[string]bool{},
	}
	if err := r.bindParameters(mapOf(doc["Parameters"])); err != nil {
		return nil, err
	}
	t := &Template{
		Dir:        ".",
		Region:     opts.Region,
		AccountID:  opts.AccountID,
		StackName:  opts.StackName,
		Parameters: map[string]string{},
		Resources:  map[string]Resource{},
		Outputs:    map[string]string{},
		opts:       opts,
		r:          r,
	}
	for k, p := range r.params {
		t.Parameters[k] = p.String()
	}
	// Drop resources whose condition is false before resolving anything,
	// so a Ref to them is an error, as in CloudFormation.
	for _, id := range sortedKeys(raw) {
		res := raw[id]
		if res.condition == "" {
			continue
		}
		ok, err := r.condition(res.condition)
		if err != nil {
			return nil, fmt.Errorf("resource %s: Condition: %w", id, err)
		}
		if !ok {
			delete(raw, id)
		}
	}
	for _, id := range sortedKeys(raw) {
		res := raw[id]
		props, err := r.resolveMap(res.properties, "resource "+id+" property ")
		if err != nil {
			return nil, err
		}
		meta, err := r.resolveMap(res.metadata, "resource "+id+" Metadata ")
		if err != nil {
			return nil, err
		}
		t.Resources[id] = Resource{Type: res.typ, Properties: props, Metadata: meta, Implicit: res.implicit}
	}
	outs := mapOf(doc["Outputs"])
	for _, name := range sortedKeys(outs) {
		o := mapOf(outs[name])
		if c, _ := o["Condition"].(string); c != "" {
			ok, err := r.condition(c)
			if err != nil {
				return nil, fmt.Errorf("output %s: Condition: %w", name, err)
			}
			if !ok {
				continue
			}
		}
		v, err := r.resolve(o["Value"], "output "+name+" Value")
		if err != nil {
			return nil, err
		}
		s, err := scalarString(v)
		if err != nil {
			return nil, fmt.Errorf("output %s Value: %w", name, err)
		}
		t.Outputs[name] = s
	}
	return t, nil
}

// PhysicalName returns the local physical name of a resource: its explicit
// name property when set, else "<stack>-<LogicalId>" (lower-cased for S3
// buckets). It is empty for an unknown logical id.
func (t *Template) PhysicalName(logicalID string) string {
	if _, ok := t.r.resources[logicalID]; !ok {
		return ""
	}
	name, err := t.r.physicalName(logicalID)
	if err != nil {
		return ""
	}
	return name
}

// ARN returns the local ARN of a resource, or "" for an unknown logical id
// or a type without an ARN.
func (t *Template) ARN(logicalID string) string {
	if _, ok := t.r.resources[logicalID]; !ok {
		return ""
	}
	arn, err := t.r.arn(logicalID)
	if err != nil {
		return ""
	}
	return arn
}

// Ref returns what {"Ref": logicalID} resolves to for a resource.
func (t *Template) Ref(logicalID string) (string, error) {
	v, err := t.r.ref(logicalID)
	if err != nil {
		return "", err
	}
	return scalarString(v)
}

// GetAtt returns what {"Fn::GetAtt": [logicalID, attr]} resolves to.
func (t *Template) GetAtt(logicalID, attr string) (string, error) {
	v, err := t.r.getAtt(logicalID, attr)
	if err != nil {
		return "", err
	}
	return scalarString(v)
}

// rawResource is a resource as written, with Globals merged in.
type rawResource struct {
	typ        string
	properties map[string]any
	metadata   map[string]any
	condition  string
	implicit   bool
}

var supportedTransforms = map[string]bool{
	"AWS::Serverless-2016-10-31": true,
}

func checkTopLevel(doc map[string]any) error {
	known := map[string]bool{
		"AWSTemplateFormatVersion": true, "Transform": true, "Description": true,
		"Parameters": true, "Globals": true, "Resources": true, "Outputs": true,
		"Conditions": true, "Mappings": true, "Metadata": true, "Rules": true,
	}
	for k := range doc {
		if !known[k] {
			return fmt.Errorf("unsupported top-level section %q", k)
		}
	}
	switch tr := doc["Transform"].(type) {
	case nil:
	case string:
		if !supportedTransforms[tr] {
			return fmt.Errorf("Transform %q is not supported (only AWS::Serverless-2016-10-31)", tr)
		}
	case []any:
		for _, x := range tr {
			s, _ := x.(string)
			if !supportedTransforms[s] {
				return fmt.Errorf("Transform %v is not supported (only AWS::Serverless-2016-10-31)", x)
			}
		}
	default:
		return fmt.Errorf("Transform: unsupported value %v", tr)
	}
	if _, ok := doc["Resources"].(map[string]any); !ok {
		return fmt.Errorf("template has no Resources mapping")
	}
	return nil
}

func rawResources(doc map[string]any) (map[string]*rawResource, error) {
	out := map[string]*rawResource{}
	for id, v := range doc["Resources"].(map[string]any) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resource %s: not a mapping", id)
		}
		typ, _ := m["Type"].(string)
		if typ == "" {
			return nil, fmt.Errorf("resource %s: missing Type", id)
		}
		props := map[string]any{}
		if p, ok := m["Properties"]; ok && p != nil {
			pm, ok := p.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("resource %s: Properties is not a mapping", id)
			}
			props = pm
		}
		cond := ""
		if c, ok := m["Condition"]; ok {
			cond, ok = c.(string)
			if !ok {
				return nil, fmt.Errorf("resource %s: Condition is not a string", id)
			}
		}
		out[id] = &rawResource{typ: typ, properties: props, metadata: mapOf(m["Metadata"]), condition: cond}
	}
	return out, nil
}

// applyGlobals merges the Globals into each matching resource with SAM's
// rules (see internal/samglobals).
func applyGlobals(doc map[string]any, raw map[string]*rawResource, which func(*rawResource) bool) error {
	g := mapOf(doc["Globals"])
	for _, section := range sortedKeys(g) {
		typ, ok := samglobals.Target(section)
		if !ok {
			return fmt.Errorf("Globals: unsupported section %q", section)
		}
		gm, ok := g[section].(map[string]any)
		if !ok {
			return fmt.Errorf("Globals: %s is not a mapping", section)
		}
		for _, res := range raw {
			if res.typ != typ || !which(res) {
				continue
			}
			res.properties = samglobals.Merge(gm, res.properties)
		}
	}
	return nil
}

// addImplicitResources adds what SAM generates and templates commonly
// reference: each function's execution role (<Function>Role) when it has
// none, and the implicit ServerlessRestApi / ServerlessHttpApi.
func addImplicitResources(raw map[string]*rawResource) {
	for _, id := range sortedKeys(raw) {
		res := raw[id]
		if res.typ != "AWS::Serverless::Function" && res.typ != "AWS::Serverless::StateMachine" {
			continue
		}
		if _, hasRole := res.properties["Role"]; !hasRole {
			if _, taken := raw[id+"Role"]; !taken {
				raw[id+"Role"] = &rawResource{typ: "AWS::IAM::Role", properties: map[string]any{}, implicit: true}
			}
		}
		if alias, ok := res.properties["AutoPublishAlias"].(string); ok && alias != "" {
			addImplicit(raw, id+"Alias"+alias, "AWS::Lambda::Alias", nil)
		}
		for _, evName := range sortedKeys(mapOf(res.properties["Events"])) {
			em := mapOf(mapOf(res.properties["Events"])[evName])
			props := mapOf(em["Properties"])
			// The resources SAM generates per event, so that templates
			// referencing them (a DLQ policy naming the rule's ARN, ...)
			// resolve as they do in AWS.
			switch em["Type"] {
			case "EventBridgeRule", "CloudWatchEvent", "Schedule":
				rp := map[string]any{}
				for _, k := range []string{"RuleName", "Name"} {
					if v, ok := props[k]; ok {
						rp["Name"] = v
					}
				}
				if v, ok := props["EventBusName"]; ok {
					rp["EventBusName"] = v
				}
				addImplicit(raw, id+evName, "AWS::Events::Rule", rp)
				addImplicit(raw, id+evName+"Permission", "AWS::Lambda::Permission", nil)
			case "ScheduleV2":
				rp := map[string]any{}
				if v, ok := props["Name"]; ok {
					rp["Name"] = v
				}
				addImplicit(raw, id+evName, "AWS::Scheduler::Schedule", rp)
			case "SQS", "Kinesis", "DynamoDB", "MSK", "MQ", "SelfManagedKafka", "DocumentDB":
				addImplicit(raw, id+evName, "AWS::Lambda::EventSourceMapping", nil)
			case "SNS":
				addImplicit(raw, id+evName, "AWS::SNS::Subscription", nil)
				addImplicit(raw, id+evName+"Permission", "AWS::Lambda::Permission", nil)
			case "S3", "CloudWatchLogs", "IoTRule", "AlexaSkill", "Cognito":
				addImplicit(raw, id+evName+"Permission", "AWS::Lambda::Permission", nil)
			}
			switch em["Type"] {
			case "Api":
				if _, ok := props["RestApiId"]; !ok {
					if _, taken := raw["ServerlessRestApi"]; !taken {
						raw["ServerlessRestApi"] = &rawResource{typ: "AWS::Serverless::Api", properties: map[string]any{"StageName": "Prod"}, implicit: true}
					}
				}
			case "HttpApi":
				if _, ok := props["ApiId"]; !ok {
					if _, taken := raw["ServerlessHttpApi"]; !taken {
						raw["ServerlessHttpApi"] = &rawResource{typ: "AWS::Serverless::HttpApi", properties: map[string]any{}, implicit: true}
					}
				}
			}
		}
	}
}

func addImplicit(raw map[string]*rawResource, id, typ string, props map[string]any) {
	if _, taken := raw[id]; taken {
		return
	}
	if props == nil {
		props = map[string]any{}
	}
	raw[id] = &rawResource{typ: typ, properties: props, implicit: true}
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	if m == nil {
		return map[string]any{}
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
