package asl

import (
	"encoding/json"
	"strings"
)

// evalTemplate builds a payload from a Parameters, ResultSelector or
// ItemSelector template: "key.$" fields take the value of a path, a context
// path or an intrinsic call, and lose their ".$" suffix.
func evalTemplate(tmpl any, env *intrinsicEnv) (any, error) {
	switch t := tmpl.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			name, dynamic := strings.CutSuffix(k, ".$")
			if !dynamic {
				ev, err := evalTemplate(v, env)
				if err != nil {
					return nil, err
				}
				out[k] = ev
				continue
			}
			expr, _ := v.(string)
			if strings.HasPrefix(expr, "States.") {
				call, err := parseIntrinsic(expr)
				if err != nil {
					return nil, failf(ErrIntrinsicFailure, "%v", err)
				}
				res, err := call.eval(env)
				if err != nil {
					return nil, failf(ErrIntrinsicFailure, "Invalid arguments in the field '%s': %v", k, err)
				}
				out[name] = res
				continue
			}
			res, err := selectPath(expr, env.data, env.context)
			if err != nil {
				return nil, failf(ErrParameterPathFailure, "The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", expr, k, mustJSON(env.data))
			}
			out[name] = deepCopy(res)
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			ev, err := evalTemplate(e, env)
			if err != nil {
				return nil, err
			}
			out[i] = ev
		}
		return out, nil
	}
	return deepCopy(tmpl), nil
}

// mustJSON renders a value as compact JSON. Values built by the interpreter
// always marshal; a failure is reported inside the text rather than lost.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return `"<unrenderable: ` + err.Error() + `>"`
	}
	return string(b)
}
