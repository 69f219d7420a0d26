package eventpattern

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// Match reports whether the JSON event matches the pattern. A malformed or
// non-object event is an error.
func (p *Pattern) Match(event []byte) (bool, error) {
	v, err := decode(event)
	if err != nil {
		return false, fmt.Errorf("parse event: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return false, fmt.Errorf("parse event: not a JSON object")
	}
	return p.root.match(expandDots(obj)), nil
}

// MatchValue reports whether an event already decoded with json.Decoder's
// UseNumber (or with float64 numbers) matches the pattern.
func (p *Pattern) MatchValue(event map[string]any) bool {
	return p.root.match(expandDots(event))
}

// match evaluates an object pattern against the value v of its field (nil
// when the field is absent, in which case every nested field is absent).
func (n *objectNode) match(v any) bool {
	switch val := v.(type) {
	case map[string]any:
		return n.matchObject(val)
	case []any:
		// An array of objects matches when one element matches the whole
		// sub-pattern (fields of one pattern object must match in the same
		// element, like EventBridge's array consistency).
		sawObject := false
		for _, e := range val {
			if o, ok := e.(map[string]any); ok {
				sawObject = true
				if n.matchObject(o) {
					return true
				}
			}
		}
		if sawObject {
			return false
		}
	}
	return n.matchObject(nil)
}

func (n *objectNode) matchObject(obj map[string]any) bool {
	for _, f := range n.fields {
		v, ok := obj[f.name]
		if f.obj != nil {
			if !f.obj.match(v) {
				return false
			}
			continue
		}
		if !f.leaf.match(v, ok) {
			return false
		}
	}
	for _, alts := range n.ors {
		any := false
		for _, alt := range alts {
			if alt.matchObject(obj) {
				any = true
				break
			}
		}
		if !any {
			return false
		}
	}
	return true
}

// leafValues flattens a field's value into the leaf values it holds: a
// scalar is one value, an array contributes its scalar elements (nested
// arrays flattened), an object holds none.
func leafValues(v any, out []any) []any {
	switch val := v.(type) {
	case []any:
		for _, e := range val {
			out = leafValues(e, out)
		}
	case map[string]any:
	default:
		out = append(out, val)
	}
	return out
}

func (n *leafNode) match(v any, present bool) bool {
	var values []any
	if present {
		values = leafValues(v, nil)
	}
	for _, m := range n.matchers {
		if m.kind == mExists {
			has := len(values) > 0
			if m.boolean == has {
				return true
			}
			continue
		}
		for _, val := range values {
			if m.matchValue(val) {
				return true
			}
		}
	}
	return false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

func (m *matcher) matchValue(v any) bool {
	s, isString := v.(string)
	switch m.kind {
	case mExactString:
		return isString && s == m.str
	case mExactNumber:
		f, ok := toFloat(v)
		return ok && f == m.num
	case mExactNull:
		return v == nil
	case mExactBool:
		b, ok := v.(bool)
		return ok && b == m.boolean
	case mPrefix:
		return isString && hasPrefix(s, m.str, m.ignoreCase)
	case mSuffix:
		return isString && hasSuffix(s, m.str, m.ignoreCase)
	case mEqualsIgnoreCase:
		return isString && strings.EqualFold(s, m.str)
	case mWildcard:
		return isString && wildcardMatch(m.str, s)
	case mNumeric:
		f, ok := toFloat(v)
		return ok && m.numericRange.contains(f)
	case mCIDR:
		if !isString {
			return false
		}
		a, err := netip.ParseAddr(s)
		return err == nil && m.prefix.Contains(a.Unmap())
	case mAnythingBut:
		return m.matchAnythingBut(v, s, isString)
	}
	return false
}

func (m *matcher) matchAnythingBut(v any, s string, isString bool) bool {
	// anything-but matches every present value that is not excluded,
	// including null and values of another type (as AWS does).
	if m.notKind == mExactString {
		if isString {
			for _, n := range m.notStrings {
				if s == n {
					return false
				}
			}
			return true
		}
		if f, ok := toFloat(v); ok {
			for _, n := range m.notNumbers {
				if f == n {
					return false
				}
			}
		}
		return true
	}
	if !isString {
		return true
	}
	for _, p := range m.notPatterns {
		var hit bool
		switch m.notKind {
		case mPrefix:
			hit = strings.HasPrefix(s, p)
		case mSuffix:
			hit = strings.HasSuffix(s, p)
		case mEqualsIgnoreCase:
			hit = strings.EqualFold(s, p)
		case mWildcard:
			hit = wildcardMatch(p, s)
		}
		if hit {
			return false
		}
	}
	return true
}

// expandDots rewrites keys holding dots ("a.b") into nested objects, because
// EventBridge addresses fields by their dot-joined path: {"a.b": 1} and
// {"a": {"b": 1}} are the same field for patterns and events alike. Values
// landing on the same path are merged (objects field by field, anything
// else into an array).
func expandDots(obj map[string]any) map[string]any {
	if !hasDottedKey(obj) {
		return obj
	}
	out := make(map[string]any, len(obj))
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		if child, ok := v.(map[string]any); ok {
			v = expandDots(child)
		}
		parts := []string{k}
		if k != "$or" {
			parts = strings.Split(k, ".")
		}
		cur := out
		for i, p := range parts {
			if i == len(parts)-1 {
				cur[p] = mergeValues(cur[p], v)
				break
			}
			var next map[string]any
			switch old := cur[p].(type) {
			case map[string]any:
				// Copy before writing: the map may belong to the caller.
				next = make(map[string]any, len(old)+1)
				for k2, x := range old {
					next[k2] = x
				}
			case nil:
				next = map[string]any{}
			default:
				// A scalar and an object on one path: the object wins.
				next = map[string]any{}
			}
			cur[p] = next
			cur = next
		}
	}
	return out
}

func hasDottedKey(obj map[string]any) bool {
	for k, v := range obj {
		if k != "$or" && strings.Contains(k, ".") {
			return true
		}
		if child, ok := v.(map[string]any); ok && hasDottedKey(child) {
			return true
		}
	}
	return false
}

func mergeValues(old, v any) any {
	if old == nil {
		return v
	}
	om, ok1 := old.(map[string]any)
	vm, ok2 := v.(map[string]any)
	if ok1 && ok2 {
		merged := make(map[string]any, len(om)+len(vm))
		for k, x := range om {
			merged[k] = x
		}
		om = merged
		for k, x := range vm {
			om[k] = mergeValues(om[k], x)
		}
		return om
	}
	oa, ok1 := old.([]any)
	va, ok2 := v.([]any)
	switch {
	case ok1 && ok2:
		return append(append([]any{}, oa...), va...)
	case ok1:
		return append(append([]any{}, oa...), v)
	case ok2:
		return append([]any{old}, va...)
	}
	return []any{old, v}
}

func hasPrefix(s, p string, ignoreCase bool) bool {
	if !ignoreCase {
		return strings.HasPrefix(s, p)
	}
	return foldPrefix(s, p)
}

func hasSuffix(s, p string, ignoreCase bool) bool {
	if !ignoreCase {
		return strings.HasSuffix(s, p)
	}
	return foldPrefix(reverse(s), reverse(p))
}

// foldPrefix compares rune by rune so that case pairs of different UTF-8
// lengths still match.
func foldPrefix(s, p string) bool {
	sr, pr := []rune(s), []rune(p)
	if len(sr) < len(pr) {
		return false
	}
	return strings.EqualFold(string(sr[:len(pr)]), p)
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

func (r numericRange) contains(f float64) bool {
	if r.equal {
		return f == r.eq
	}
	if r.hasLow {
		if r.lowIncl && f < r.low || !r.lowIncl && f <= r.low {
			return false
		}
	}
	if r.hasHigh {
		if r.highIncl && f > r.high || !r.highIncl && f >= r.high {
			return false
		}
	}
	return true
}

// wildcardMatch matches s against a wildcard pattern where '*' matches any
// run of characters, "\*" a literal star and "\\" a literal backslash. It
// runs in O(len(pattern)*len(s)) at worst (greedy with one backtrack
// point), so hostile inputs cannot blow up.
func wildcardMatch(pattern, s string) bool {
	type tok struct {
		star bool
		ch   byte
	}
	toks := make([]tok, 0, len(pattern))
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c == '\\' && i+1 < len(pattern) {
			i++
			toks = append(toks, tok{ch: pattern[i]})
			continue
		}
		toks = append(toks, tok{star: c == '*', ch: c})
	}
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		switch {
		case pi < len(toks) && !toks[pi].star && toks[pi].ch == s[si]:
			pi++
			si++
		case pi < len(toks) && toks[pi].star:
			starP, starS = pi, si
			pi++
		case starP >= 0:
			starS++
			pi, si = starP+1, starS
		default:
			return false
		}
	}
	for pi < len(toks) && toks[pi].star {
		pi++
	}
	return pi == len(toks)
}
