package cloudwatchemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// templateNumbers and templateBools are the alarm properties a template
// may give as strings (a !Ref to a parameter resolves to a string).
var (
	templateNumbers = map[string]bool{"Period": true, "EvaluationPeriods": true, "DatapointsToAlarm": true, "Threshold": true}
	templateBools   = map[string]bool{"ReturnData": true, "ActionsEnabled": true}
	// templateIgnored are properties without effect on evaluation.
	templateIgnored = map[string]bool{"Tags": true, "EvaluateLowSampleCountPercentile": true}
)

// AlarmFromTemplate builds an alarm from the resolved Properties of an
// AWS::CloudWatch::Alarm resource; name is its physical name (AlarmName,
// or the generated one when the template sets none). Properties the local
// cloud does not evaluate are errors that name them.
func AlarmFromTemplate(name string, props map[string]any) (Alarm, error) {
	clean := map[string]any{}
	for k, v := range props {
		if !templateIgnored[k] {
			clean[k] = v
		}
	}
	clean["AlarmName"] = name
	coerced, err := coerce(clean, "")
	if err != nil {
		return Alarm{}, fmt.Errorf("alarm %s: %w", name, err)
	}
	raw, err := json.Marshal(coerced)
	if err != nil {
		return Alarm{}, fmt.Errorf("alarm %s: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var a Alarm
	if err := dec.Decode(&a); err != nil {
		return Alarm{}, fmt.Errorf("alarm %s: property not supported by the local cloud or of the wrong type: %w", name, err)
	}
	if err := a.normalize(); err != nil {
		return Alarm{}, fmt.Errorf("alarm %s: %w", name, err)
	}
	return a, nil
}

// coerce turns numeric and boolean strings of the known properties into
// JSON numbers and booleans, recursively.
func coerce(v any, key string) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := coerce(e, k)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := coerce(e, key)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case string:
		switch {
		case templateNumbers[key]:
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return nil, fmt.Errorf("%s %q is not a number", key, x)
			}
			return f, nil
		case templateBools[key]:
			b, err := strconv.ParseBool(x)
			if err != nil {
				return nil, fmt.Errorf("%s %q is not a boolean", key, x)
			}
			return b, nil
		}
	}
	return v, nil
}
