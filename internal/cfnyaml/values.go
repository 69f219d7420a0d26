package cfnyaml

import "strings"

// IsIntrinsic reports whether m is one intrinsic function in long form, as
// Decode produces it: a single key that is "Ref", "Condition" or "Fn::*".
// Template logic treats such a map as a value, not as a mapping to walk or
// merge.
func IsIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

// DeepCopy copies the maps and lists of a decoded value, so the copy can be
// changed without touching the original. Other values are returned as they
// are (they are immutable).
func DeepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = DeepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = DeepCopy(e)
		}
		return out
	}
	return v
}
