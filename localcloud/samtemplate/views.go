package samtemplate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Function is a Lambda function of the template (AWS::Serverless::Function
// or AWS::Lambda::Function), with Globals applied and SAM's defaults.
type Function struct {
	// LogicalID is the template key, e.g. IngestFunction.
	LogicalID string
	// Name is the function's physical name; ARN its unqualified ARN.
	Name, ARN string
	// CodeURI is the absolute directory of the function's code.
	CodeURI string
	// Handler, Runtime and BuildMethod (Metadata.BuildMethod) say how to
	// build and start it.
	Handler, Runtime, BuildMethod string
	// Architectures, e.g. [arm64]; the local cloud builds for the host.
	Architectures []string
	// Env holds Environment.Variables.
	Env map[string]string
	// Timeout defaults to 3 s, MemorySize to 128 MB, as in SAM.
	Timeout    time.Duration
	MemorySize int
	// ReservedConcurrency is ReservedConcurrentExecutions, nil if unset.
	ReservedConcurrency *int
	// Events are the function's event sources, in name order.
	Events []Event
	// EventInvokeConfig configures asynchronous invocation, nil if unset.
	EventInvokeConfig *EventInvokeConfig
	// DeadLetterARN is DeadLetterQueue.TargetArn ("" if unset).
	DeadLetterARN string
	// RoleARN is the execution role.
	RoleARN string
	// Tracing is "Active" or "PassThrough" ("" if unset).
	Tracing string
	// Logging is LoggingConfig (zero if unset).
	Logging LoggingConfig
	// NotEmulated names the properties set on the function that the
	// local cloud cannot reproduce (Layers, VpcConfig, FileSystemConfigs,
	// ...), each with why; callers must show them, never drop them.
	NotEmulated []string
	// Metadata is the resource's resolved Metadata.
	Metadata map[string]any
}

// LoggingConfig is a function's LoggingConfig: LogFormat TEXT or JSON,
// the log levels and the log group.
type LoggingConfig struct {
	LogFormat, ApplicationLogLevel, SystemLogLevel, LogGroup string
}

// Event is one entry of a function's or state machine's Events.
type Event struct {
	// Name is the event's key; Type its SAM type (Api, S3, Schedule, ...).
	Name, Type string
	// Properties are the resolved event properties.
	Properties map[string]any
}

// EventInvokeConfig is a function's asynchronous invocation configuration.
type EventInvokeConfig struct {
	// MaximumRetryAttempts (0-2) and MaximumEventAgeInSeconds (60-21600)
	// are nil when unset (AWS defaults: 2 and 21600).
	MaximumRetryAttempts     *int
	MaximumEventAgeInSeconds *int
	// OnSuccess and OnFailure are destination ARNs ("" if unset).
	OnSuccess, OnFailure string
}

// Functions returns the template's functions sorted by logical id.
func (t *Template) Functions() ([]Function, error) {
	var out []Function
	for _, id := range sortedKeys(t.Resources) {
		res := t.Resources[id]
		if res.Type != "AWS::Serverless::Function" && res.Type != "AWS::Lambda::Function" {
			continue
		}
		f, err := t.function(id, res)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	// Standalone AWS::Lambda::EventInvokeConfig resources.
	for _, id := range sortedKeys(t.Resources) {
		res := t.Resources[id]
		if res.Type != "AWS::Lambda::EventInvokeConfig" {
			continue
		}
		target, _ := res.Properties["FunctionName"].(string)
		cfg, err := eventInvokeConfig(id, res.Properties)
		if err != nil {
			return nil, err
		}
		found := false
		for i := range out {
			if out[i].Name == target || out[i].ARN == target {
				out[i].EventInvokeConfig = cfg
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("resource %s property FunctionName: %q is not a function of this template", id, target)
		}
	}
	return out, nil
}

// Function returns the function with the given logical id, name or ARN.
func (t *Template) Function(key string) (Function, error) {
	fns, err := t.Functions()
	if err != nil {
		return Function{}, err
	}
	var ids []string
	for _, f := range fns {
		if f.LogicalID == key || f.Name == key || f.ARN == key {
			return f, nil
		}
		ids = append(ids, f.LogicalID)
	}
	return Function{}, fmt.Errorf("no function %q in the template (functions: %s)", key, strings.Join(ids, ", "))
}

func (t *Template) function(id string, res Resource) (Function, error) {
	p := res.Properties
	prop := func(name string) string { s, _ := scalarString(p[name]); return s }
	f := Function{
		LogicalID:   id,
		Name:        t.PhysicalName(id),
		ARN:         t.ARN(id),
		Handler:     prop("Handler"),
		Runtime:     prop("Runtime"),
		Tracing:     prop("Tracing"),
		Env:         map[string]string{},
		Timeout:     3 * time.Second,
		MemorySize:  128,
		Metadata:    res.Metadata,
		BuildMethod: "",
	}
	if bm, ok := res.Metadata["BuildMethod"]; ok {
		f.BuildMethod, _ = scalarString(bm)
	}
	if res.Type == "AWS::Serverless::Function" {
		code, err := codeURI(id, p["CodeUri"])
		if err != nil {
			return Function{}, err
		}
		if code != "" {
			if !filepath.IsAbs(code) {
				code = filepath.Join(t.Dir, code)
			}
			if abs, err := filepath.Abs(code); err == nil {
				code = abs
			}
		}
		f.CodeURI = code
		if pt, _ := p["PackageType"].(string); pt == "Image" {
			return Function{}, fmt.Errorf("resource %s property PackageType: Image functions are not supported by the local cloud (it runs Go zip functions)", id)
		}
	} else {
		if c, ok := p["Code"].(string); ok {
			f.CodeURI = filepath.Join(t.Dir, c)
		}
	}
	if lc := mapOf(p["LoggingConfig"]); len(lc) > 0 {
		str := func(k string) string { v, _ := scalarString(lc[k]); return v }
		f.Logging = LoggingConfig{LogFormat: str("LogFormat"), ApplicationLogLevel: str("ApplicationLogLevel"), SystemLogLevel: str("SystemLogLevel"), LogGroup: str("LogGroup")}
		switch f.Logging.LogFormat {
		case "", "Text", "TEXT", "JSON":
		default:
			return Function{}, fmt.Errorf("resource %s property LoggingConfig.LogFormat: %q is not Text or JSON", id, f.Logging.LogFormat)
		}
	}
	for _, prop := range sortedKeys(notEmulated) {
		if _, set := p[prop]; set {
			f.NotEmulated = append(f.NotEmulated, fmt.Sprintf("resource %s property %s: %s", id, prop, notEmulated[prop]))
		}
	}
	for _, a := range asList(p["Architectures"]) {
		s, _ := scalarString(a)
		f.Architectures = append(f.Architectures, s)
	}
	vars := mapOf(mapOf(p["Environment"])["Variables"])
	for _, k := range sortedKeys(vars) {
		s, err := scalarString(vars[k])
		if err != nil {
			return Function{}, fmt.Errorf("resource %s property Environment.Variables.%s: %w", id, k, err)
		}
		f.Env[k] = s
	}
	if v, ok := p["Timeout"]; ok {
		n, err := intOf(v)
		if err != nil || n <= 0 {
			return Function{}, fmt.Errorf("resource %s property Timeout: %v is not a positive number of seconds", id, v)
		}
		f.Timeout = time.Duration(n) * time.Second
	}
	if v, ok := p["MemorySize"]; ok {
		n, err := intOf(v)
		if err != nil || n <= 0 {
			return Function{}, fmt.Errorf("resource %s property MemorySize: %v is not a positive number of MB", id, v)
		}
		f.MemorySize = n
	}
	if v, ok := p["ReservedConcurrentExecutions"]; ok {
		n, err := intOf(v)
		if err != nil || n < 0 {
			return Function{}, fmt.Errorf("resource %s property ReservedConcurrentExecutions: %v is not a non-negative integer", id, v)
		}
		f.ReservedConcurrency = &n
	}
	if v, ok := p["Role"]; ok {
		f.RoleARN, _ = scalarString(v)
	} else if arn := t.ARN(id + "Role"); arn != "" {
		f.RoleARN = arn
	}
	if dlq := mapOf(p["DeadLetterQueue"]); len(dlq) > 0 {
		f.DeadLetterARN, _ = scalarString(dlq["TargetArn"])
	} else if dc := mapOf(p["DeadLetterConfig"]); len(dc) > 0 {
		f.DeadLetterARN, _ = scalarString(dc["TargetArn"])
	}
	if eic, ok := p["EventInvokeConfig"].(map[string]any); ok {
		cfg, err := eventInvokeConfig(id, eic)
		if err != nil {
			return Function{}, err
		}
		f.EventInvokeConfig = cfg
	}
	events, err := eventsOf(id, p["Events"])
	if err != nil {
		return Function{}, err
	}
	f.Events = events
	return f, nil
}

// notEmulated lists function properties the local cloud cannot reproduce.
var notEmulated = map[string]string{
	"Layers":                       "layers are not mounted at /opt; the function runs its own binary only",
	"VpcConfig":                    "there is no VPC locally; the function reaches 127.0.0.1 directly",
	"FileSystemConfigs":            "EFS file systems are not mounted",
	"ProvisionedConcurrencyConfig": "every process starts on demand",
	"SnapStart":                    "processes start from scratch",
	"EphemeralStorage":             "/tmp is the host's",
}

func codeURI(id string, v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case map[string]any:
		return "", fmt.Errorf("resource %s property CodeUri: an S3 location (%v) cannot be built locally; point CodeUri at the function's source directory", id, x)
	}
	return "", fmt.Errorf("resource %s property CodeUri: unsupported value %v", id, v)
}

func eventInvokeConfig(id string, m map[string]any) (*EventInvokeConfig, error) {
	cfg := &EventInvokeConfig{}
	if v, ok := m["MaximumRetryAttempts"]; ok {
		n, err := intOf(v)
		if err != nil || n < 0 || n > 2 {
			return nil, fmt.Errorf("resource %s property EventInvokeConfig.MaximumRetryAttempts: %v is not 0, 1 or 2", id, v)
		}
		cfg.MaximumRetryAttempts = &n
	}
	if v, ok := m["MaximumEventAgeInSeconds"]; ok {
		n, err := intOf(v)
		if err != nil || n < 60 || n > 21600 {
			return nil, fmt.Errorf("resource %s property EventInvokeConfig.MaximumEventAgeInSeconds: %v is not between 60 and 21600", id, v)
		}
		cfg.MaximumEventAgeInSeconds = &n
	}
	dc := mapOf(m["DestinationConfig"])
	for _, which := range []string{"OnSuccess", "OnFailure"} {
		d := mapOf(dc[which])
		if len(d) == 0 {
			continue
		}
		arn, _ := scalarString(d["Destination"])
		if arn == "" {
			return nil, fmt.Errorf("resource %s property EventInvokeConfig.DestinationConfig.%s.Destination: missing; the local cloud does not create implicit destination queues or topics, give the ARN", id, which)
		}
		if which == "OnSuccess" {
			cfg.OnSuccess = arn
		} else {
			cfg.OnFailure = arn
		}
	}
	return cfg, nil
}

func eventsOf(id string, v any) ([]Event, error) {
	m := mapOf(v)
	var out []Event
	for _, name := range sortedKeys(m) {
		em, ok := m[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resource %s property Events.%s: not a mapping", id, name)
		}
		typ, _ := em["Type"].(string)
		if typ == "" {
			return nil, fmt.Errorf("resource %s property Events.%s.Type: missing", id, name)
		}
		out = append(out, Event{Name: name, Type: typ, Properties: mapOf(em["Properties"])})
	}
	return out, nil
}

func intOf(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case float64:
		if x != float64(int(x)) {
			return 0, fmt.Errorf("%v is not an integer", x)
		}
		return int(x), nil
	case string:
		return strconv.Atoi(strings.TrimSpace(x))
	}
	return 0, fmt.Errorf("%v is not an integer", v)
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// StateMachine is a Step Functions state machine of the template.
type StateMachine struct {
	// LogicalID, Name and ARN identify it.
	LogicalID, Name, ARN string
	// Type is STANDARD or EXPRESS.
	Type string
	// Definition is the ASL JSON with DefinitionSubstitutions applied.
	Definition json.RawMessage
	// RoleARN is the execution role.
	RoleARN string
	// Events are its SAM event sources.
	Events []Event
}

// StateMachines returns the template's state machines, sorted by logical id.
func (t *Template) StateMachines() ([]StateMachine, error) {
	var out []StateMachine
	for _, id := range sortedKeys(t.Resources) {
		res := t.Resources[id]
		if res.Type != "AWS::Serverless::StateMachine" && res.Type != "AWS::StepFunctions::StateMachine" {
			continue
		}
		p := res.Properties
		sm := StateMachine{LogicalID: id, Name: t.PhysicalName(id), ARN: t.ARN(id), Type: "STANDARD"}
		if typ, _ := p["Type"].(string); typ != "" {
			sm.Type = typ
		} else if typ, _ := p["StateMachineType"].(string); typ != "" {
			sm.Type = typ
		}
		if role, ok := p["Role"]; ok {
			sm.RoleARN, _ = scalarString(role)
		} else if role, ok := p["RoleArn"]; ok {
			sm.RoleARN, _ = scalarString(role)
		} else {
			sm.RoleARN = t.ARN(id + "Role")
		}
		def, err := t.definition(id, p)
		if err != nil {
			return nil, err
		}
		sm.Definition = def
		events, err := eventsOf(id, p["Events"])
		if err != nil {
			return nil, err
		}
		sm.Events = events
		out = append(out, sm)
	}
	return out, nil
}

func (t *Template) definition(id string, p map[string]any) (json.RawMessage, error) {
	var text string
	switch {
	case p["Definition"] != nil:
		b, err := json.Marshal(p["Definition"])
		if err != nil {
			return nil, fmt.Errorf("resource %s property Definition: %w", id, err)
		}
		text = string(b)
	case p["DefinitionString"] != nil:
		s, err := scalarString(p["DefinitionString"])
		if err != nil {
			return nil, fmt.Errorf("resource %s property DefinitionString: %w", id, err)
		}
		text = s
	case p["DefinitionUri"] != nil:
		uri, ok := p["DefinitionUri"].(string)
		if !ok {
			return nil, fmt.Errorf("resource %s property DefinitionUri: an S3 location cannot be read locally; use a local file path", id)
		}
		if !filepath.IsAbs(uri) {
			uri = filepath.Join(t.Dir, uri)
		}
		b, err := os.ReadFile(uri)
		if err != nil {
			return nil, fmt.Errorf("resource %s property DefinitionUri: %w", id, err)
		}
		text = string(b)
		if !json.Valid(b) {
			// SAM also accepts a YAML definition file.
			doc, err := decodeYAMLDefinition(b)
			if err != nil {
				return nil, fmt.Errorf("resource %s property DefinitionUri %s: %w", id, uri, err)
			}
			text = doc
		}
	case p["DefinitionS3Location"] != nil:
		return nil, fmt.Errorf("resource %s property DefinitionS3Location: an S3 location cannot be read locally; use DefinitionUri with a local file", id)
	default:
		return nil, fmt.Errorf("resource %s: no Definition, DefinitionString or DefinitionUri", id)
	}
	subs := mapOf(p["DefinitionSubstitutions"])
	var firstErr error
	text = subVar.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := subs[name]
		if !ok {
			// Left alone: ASL itself never uses ${...}, so this is a
			// substitution the template forgot.
			if firstErr == nil {
				firstErr = fmt.Errorf("resource %s property DefinitionSubstitutions: no value for ${%s}", id, name)
			}
			return m
		}
		s, err := scalarString(v)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("resource %s property DefinitionSubstitutions.%s: %w", id, name, err)
		}
		return s
	})
	if firstErr != nil {
		return nil, firstErr
	}
	if !json.Valid([]byte(text)) {
		return nil, fmt.Errorf("resource %s: the definition is not valid JSON after substitutions", id)
	}
	return json.RawMessage(text), nil
}

// Bucket is an S3 bucket of the template.
type Bucket struct {
	// LogicalID, Name and ARN identify it.
	LogicalID, Name, ARN string
	// EventBridge is true when NotificationConfiguration.EventBridgeConfiguration
	// sends its events to EventBridge.
	EventBridge bool
	// Versioned is true when VersioningConfiguration.Status is Enabled.
	Versioned bool
}

// Buckets returns the template's S3 buckets, sorted by logical id.
func (t *Template) Buckets() []Bucket {
	var out []Bucket
	for _, id := range sortedKeys(t.Resources) {
		res := t.Resources[id]
		if res.Type != "AWS::S3::Bucket" {
			continue
		}
		nc := mapOf(res.Properties["NotificationConfiguration"])
		eb := mapOf(nc["EventBridgeConfiguration"])
		_, hasEB := nc["EventBridgeConfiguration"]
		enabled := hasEB
		if v, ok := eb["EventBridgeEnabled"]; ok {
			enabled = v == true || v == "true"
		}
		status, _ := mapOf(res.Properties["VersioningConfiguration"])["Status"].(string)
		out = append(out, Bucket{LogicalID: id, Name: t.PhysicalName(id), ARN: t.ARN(id), EventBridge: enabled, Versioned: status == "Enabled"})
	}
	return out
}

// Topic is an SNS topic of the template.
type Topic struct {
	// LogicalID, Name and ARN identify it.
	LogicalID, Name, ARN string
	// Subscriptions are the inline Subscription entries
	// (Protocol, Endpoint) plus AWS::SNS::Subscription resources and SAM
	// SNS events of functions.
	Subscriptions []Subscription
}

// Subscription is one SNS subscription.
type Subscription struct {
	// Protocol is sqs, lambda, email, https, ...; Endpoint the target.
	Protocol, Endpoint string
	// FilterPolicy is the JSON filter policy, nil if none.
	FilterPolicy json.RawMessage
	// RawMessageDelivery is the subscription attribute.
	RawMessageDelivery bool
}

// Topics returns the template's SNS topics, sorted by logical id.
func (t *Template) Topics() ([]Topic, error) {
	var out []Topic
	index := map[string]int{}
	for _, id := range sortedKeys(t.Resources) {
		res := t.Resources[id]
		if res.Type != "AWS::SNS::Topic" {
			continue
		}
		tp := Topic{LogicalID: id, Name: t.PhysicalName(id), ARN: t.ARN(id)}
		for _, s := range asList(res.Properties["Subscription"]) {
			sm := mapOf(s)
			proto, _ := scalarString(sm["Protocol"])
			ep, _ := scalarString(sm["Endpoint"])
			tp.Subscriptions = append(tp.Subscriptions, Subscription{Protocol: proto, Endpoint: ep})
		}
		index[tp.ARN] = len(out)
		out = append(out, tp)
	}
	add := func(where, topicARN string, s Subscription) error {
		i, ok := index[topicARN]
		if !ok {
			// A subscription to a topic outside the template is kept out:
			// the local cloud cannot deliver from it.
			return fmt.Errorf("%s: topic %q is not defined in this template", where, topicARN)
		}
		out[i].Subscriptions = append(out[i].Subscriptions, s)
		return nil
	}
	for _, id := range sortedKeys(t.Resources) {
		res := t.Resources[id]
		switch res.Type {
		case "AWS::SNS::Subscription":
			p := res.Properties
			s := Subscription{}
			s.Protocol, _ = scalarString(p["Protocol"])
			s.Endpoint, _ = scalarString(p["Endpoint"])
			s.RawMessageDelivery = p["RawMessageDelivery"] == true || p["RawMessageDelivery"] == "true"
			if fp, ok := p["FilterPolicy"]; ok {
				b, err := jsonOf(fp)
				if err != nil {
					return nil, fmt.Errorf("resource %s property FilterPolicy: %w", id, err)
				}
				s.FilterPolicy = b
			}
			arn, _ := scalarString(p["TopicArn"])
			if err := add("resource "+id+" property TopicArn", arn, s); err != nil {
				return nil, err
			}
		case "AWS::Serverless::Function":
			events, err := eventsOf(id, res.Properties["Events"])
			if err != nil {
				return nil, err
			}
			for _, ev := range events {
				if ev.Type != "SNS" {
					continue
				}
				arn, _ := scalarString(ev.Properties["Topic"])
				s := Subscription{Protocol: "lambda", Endpoint: t.ARN(id)}
				if fp, ok := ev.Properties["FilterPolicy"]; ok {
					b, err := jsonOf(fp)
					if err != nil {
						return nil, fmt.Errorf("resource %s property Events.%s.FilterPolicy: %w", id, ev.Name, err)
					}
					s.FilterPolicy = b
				}
				if err := add("resource "+id+" property Events."+ev.Name+".Topic", arn, s); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

func jsonOf(v any) (json.RawMessage, error) {
	if s, ok := v.(string); ok {
		if !json.Valid([]byte(s)) {
			return nil, fmt.Errorf("not valid JSON")
		}
		return json.RawMessage(s), nil
	}
	b, err := json.Marshal(v)
	return b, err
}

// Queue is an SQS queue of the template.
type Queue struct {
	// LogicalID, Name, ARN and URL identify it.
	LogicalID, Name, ARN, URL string
	// FIFO is true for a .fifo queue.
	FIFO bool
	// VisibilityTimeout and MessageRetentionPeriod are in seconds
	// (AWS defaults 30 and 345600).
	VisibilityTimeout, MessageRetentionPeriod int
	// DeadLetterARN and MaxReceiveCount come from RedrivePolicy.
	DeadLetterARN   string
	MaxReceiveCount int
}

// Queues returns the template's SQS queues, sorted by logical id.
func (t *Template) Queues() ([]Queue, error) {
	var out []Queue
	for _, id := range sortedKeys(t.Resources) {
		res := t.Resources[id]
		if res.Type != "AWS::SQS::Queue" {
			continue
		}
		p := res.Properties
		url, _ := t.Ref(id)
		q := Queue{LogicalID: id, Name: t.PhysicalName(id), ARN: t.ARN(id), URL: url, VisibilityTimeout: 30, MessageRetentionPeriod: 345600}
		q.FIFO = p["FifoQueue"] == true || p["FifoQueue"] == "true"
		for prop, dst := range map[string]*int{"VisibilityTimeout": &q.VisibilityTimeout, "MessageRetentionPeriod": &q.MessageRetentionPeriod} {
			if v, ok := p[prop]; ok {
				n, err := intOf(v)
				if err != nil {
					return nil, fmt.Errorf("resource %s property %s: %w", id, prop, err)
				}
				*dst = n
			}
		}
		if rp, ok := p["RedrivePolicy"]; ok {
			m := mapOf(rp)
			if s, ok := rp.(string); ok {
				if err := json.Unmarshal([]byte(s), &m); err != nil {
					return nil, fmt.Errorf("resource %s property RedrivePolicy: %w", id, err)
				}
			}
			q.DeadLetterARN, _ = scalarString(m["deadLetterTargetArn"])
			if v, ok := m["maxReceiveCount"]; ok {
				n, err := intOf(v)
				if err != nil {
					return nil, fmt.Errorf("resource %s property RedrivePolicy.maxReceiveCount: %w", id, err)
				}
				q.MaxReceiveCount = n
			}
		}
		out = append(out, q)
	}
	return out, nil
}
