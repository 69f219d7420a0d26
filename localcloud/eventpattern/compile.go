// Package eventpattern compiles and evaluates Amazon EventBridge event
// patterns with AWS's documented semantics: exact values (arrays as OR),
// nested objects, prefix, suffix, equals-ignore-case, wildcard,
// anything-but (values, prefix, suffix, equals-ignore-case and wildcard
// forms), numeric ranges, exists, cidr, $or, and matching on arrays in
// events (a field holding an array matches when any element matches).
//
// Compile rejects an invalid pattern with an *Error whose message has the
// form AWS's InvalidEventPatternException uses ("Event pattern is not
// valid. Reason: ...").
package eventpattern

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
)

// MaxPatternBytes is EventBridge's limit on the size of an event pattern.
const MaxPatternBytes = 4096

// maxWildcards bounds the '*' characters of one wildcard value. EventBridge
// rejects wildcard patterns it deems too complex; its exact measure is not
// documented, so the local cloud uses this conservative count.
const maxWildcards = 5

// Error is a pattern validation failure, reported by EventBridge as
// InvalidEventPatternException.
type Error struct {
	Reason string
}

// Error returns the message in AWS's form.
func (e *Error) Error() string { return "Event pattern is not valid. Reason: " + e.Reason }

func invalid(format string, args ...any) *Error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// Pattern is a compiled event pattern. It is immutable and safe for
// concurrent use.
type Pattern struct {
	root *objectNode
}

// objectNode matches a JSON object: every field must match, and for each
// $or group at least one alternative must match.
type objectNode struct {
	fields []field
	ors    [][]*objectNode
}

type field struct {
	name string
	obj  *objectNode // set for nested objects
	leaf *leafNode   // set for value arrays
}

// leafNode matches a value: any of its matchers (arrays are OR).
type leafNode struct {
	matchers []matcher
}

type matcherKind int

const (
	mExactString matcherKind = iota
	mExactNumber
	mExactNull
	mExactBool
	mPrefix
	mSuffix
	mEqualsIgnoreCase
	mWildcard
	mAnythingBut
	mNumeric
	mExists
	mCIDR
)

type matcher struct {
	kind       matcherKind
	str        string
	num        float64
	boolean    bool
	ignoreCase bool
	// anything-but
	notStrings   []string
	notNumbers   []float64
	notKind      matcherKind // mExactString (values), mPrefix, mSuffix, mEqualsIgnoreCase, mWildcard
	notPatterns  []string
	numericRange numericRange
	prefix       netip.Prefix
}

type numericRange struct {
	hasLow, lowIncl, hasHigh, highIncl bool
	low, high                          float64
	equal                              bool
	eq                                 float64
}

// Compile parses and validates an event pattern.
func Compile(pattern []byte) (*Pattern, error) {
	if len(pattern) > MaxPatternBytes {
		return nil, invalid("Event pattern exceeds the maximum length of %d characters", MaxPatternBytes)
	}
	v, err := decode(pattern)
	if err != nil {
		return nil, invalid("Filter is not valid JSON: %v", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("Filter is not an object")
	}
	root, err := compileObject(expandDots(obj), "")
	if err != nil {
		return nil, err
	}
	return &Pattern{root: root}, nil
}

// MustCompile is Compile for patterns known to be valid (tests, constants);
// it panics on an invalid pattern.
func MustCompile(pattern string) *Pattern {
	p, err := Compile([]byte(pattern))
	if err != nil {
		panic(err)
	}
	return p
}

func decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func compileObject(obj map[string]any, path string) (*objectNode, error) {
	n := &objectNode{}
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		p := joinPath(path, k)
		if k == "$or" {
			alts, err := compileOr(v, p)
			if err != nil {
				return nil, err
			}
			n.ors = append(n.ors, alts)
			continue
		}
		switch val := v.(type) {
		case map[string]any:
			child, err := compileObject(val, p)
			if err != nil {
				return nil, err
			}
			n.fields = append(n.fields, field{name: k, obj: child})
		case []any:
			leaf, err := compileLeaf(val, p)
			if err != nil {
				return nil, err
			}
			n.fields = append(n.fields, field{name: k, leaf: leaf})
		default:
			return nil, invalid("%q must be an object or an array", p)
		}
	}
	return n, nil
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func compileOr(v any, path string) ([]*objectNode, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, invalid("%q must be an array of objects", path)
	}
	if len(arr) < 2 {
		return nil, invalid("%q must contain at least two objects", path)
	}
	alts := make([]*objectNode, 0, len(arr))
	for _, a := range arr {
		obj, ok := a.(map[string]any)
		if !ok {
			return nil, invalid("%q must be an array of objects", path)
		}
		alt, err := compileObject(obj, strings.TrimSuffix(strings.TrimSuffix(path, "$or"), "."))
		if err != nil {
			return nil, err
		}
		alts = append(alts, alt)
	}
	return alts, nil
}

func compileLeaf(arr []any, path string) (*leafNode, error) {
	if len(arr) == 0 {
		return nil, invalid("Empty arrays are not allowed (at %q)", path)
	}
	n := &leafNode{}
	for _, v := range arr {
		switch val := v.(type) {
		case string:
			n.matchers = append(n.matchers, matcher{kind: mExactString, str: val})
		case json.Number:
			f, err := number(val)
			if err != nil {
				return nil, invalid("%v (at %q)", err, path)
			}
			n.matchers = append(n.matchers, matcher{kind: mExactNumber, num: f})
		case nil:
			n.matchers = append(n.matchers, matcher{kind: mExactNull})
		case bool:
			n.matchers = append(n.matchers, matcher{kind: mExactBool, boolean: val})
		case map[string]any:
			m, err := compileOperator(val, path)
			if err != nil {
				return nil, err
			}
			n.matchers = append(n.matchers, m)
		default:
			return nil, invalid("Match value must be String, number, true, false, or null (at %q)", path)
		}
	}
	return n, nil
}

func number(n json.Number) (float64, error) {
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("number %s is out of range", n.String())
	}
	return f, nil
}

func compileOperator(op map[string]any, path string) (matcher, error) {
	if len(op) != 1 {
		return matcher{}, invalid("Only one key allowed in match expression (at %q)", path)
	}
	var key string
	var v any
	for k, val := range op {
		key, v = k, val
	}
	switch key {
	case "prefix", "suffix":
		kind := mPrefix
		if key == "suffix" {
			kind = mSuffix
		}
		s, ci, err := stringOrIgnoreCase(v, key, path, true)
		if err != nil {
			return matcher{}, err
		}
		return matcher{kind: kind, str: s, ignoreCase: ci}, nil
	case "equals-ignore-case":
		s, ok := v.(string)
		if !ok {
			return matcher{}, invalid("equals-ignore-case match pattern must be a string (at %q)", path)
		}
		return matcher{kind: mEqualsIgnoreCase, str: s}, nil
	case "wildcard":
		s, ok := v.(string)
		if !ok {
			return matcher{}, invalid("wildcard match pattern must be a string (at %q)", path)
		}
		if err := checkWildcard(s, path); err != nil {
			return matcher{}, err
		}
		return matcher{kind: mWildcard, str: s}, nil
	case "exists":
		b, ok := v.(bool)
		if !ok {
			return matcher{}, invalid("exists match pattern must be either true or false (at %q)", path)
		}
		return matcher{kind: mExists, boolean: b}, nil
	case "numeric":
		r, err := compileNumeric(v, path)
		if err != nil {
			return matcher{}, err
		}
		return matcher{kind: mNumeric, numericRange: r}, nil
	case "cidr":
		s, ok := v.(string)
		if !ok {
			return matcher{}, invalid("prefix match pattern must be a string (at %q)", path)
		}
		p, err := parseCIDR(s)
		if err != nil {
			return matcher{}, invalid("Nonstandard IP address: %s (at %q)", s, path)
		}
		return matcher{kind: mCIDR, prefix: p}, nil
	case "anything-but":
		return compileAnythingBut(v, path)
	default:
		return matcher{}, invalid("Unrecognized match type %s (at %q)", key, path)
	}
}

// stringOrIgnoreCase reads a prefix/suffix value: a string or
// {"equals-ignore-case": string}.
func stringOrIgnoreCase(v any, key, path string, allowIgnoreCase bool) (string, bool, error) {
	switch val := v.(type) {
	case string:
		return val, false, nil
	case map[string]any:
		if !allowIgnoreCase {
			break
		}
		if len(val) != 1 {
			return "", false, invalid("Only one key allowed in match expression (at %q)", path)
		}
		inner, ok := val["equals-ignore-case"]
		if !ok {
			for k := range val {
				return "", false, invalid("Unsupported %s pattern: %s (at %q)", key, k, path)
			}
		}
		s, ok := inner.(string)
		if !ok {
			return "", false, invalid("equals-ignore-case match pattern must be a string (at %q)", path)
		}
		return s, true, nil
	}
	return "", false, invalid("%s match pattern must be a string (at %q)", key, path)
}

func parseCIDR(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func checkWildcard(s, path string) error {
	stars := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return invalid("Invalid escape character at pos %d (at %q)", i, path)
			}
			i++
		case '*':
			if i+1 < len(s) && s[i+1] == '*' {
				return invalid("Consecutive wildcard characters at pos %d (at %q)", i+1, path)
			}
			stars++
		}
	}
	if stars > maxWildcards {
		return invalid("Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character (at %q)", path)
	}
	return nil
}

func compileNumeric(v any, path string) (numericRange, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return numericRange{}, invalid("Value of numeric must be an array (at %q)", path)
	}
	if len(arr)%2 != 0 {
		return numericRange{}, invalid("Value of numeric must be an array of operator/number pairs (at %q)", path)
	}
	var r numericRange
	for i := 0; i < len(arr); i += 2 {
		op, ok := arr[i].(string)
		if !ok {
			return r, invalid("Unrecognized numeric range operator: %v (at %q)", arr[i], path)
		}
		jn, ok := arr[i+1].(json.Number)
		if !ok {
			return r, invalid("Value of %s must be numeric (at %q)", op, path)
		}
		f, err := number(jn)
		if err != nil {
			return r, invalid("%v (at %q)", err, path)
		}
		switch op {
		case "=":
			if len(arr) != 2 {
				return r, invalid("Can't combine = with other numeric operators (at %q)", path)
			}
			r.equal, r.eq = true, f
		case ">", ">=":
			if r.hasLow {
				return r, invalid("Too many numeric range lower bounds (at %q)", path)
			}
			r.hasLow, r.lowIncl, r.low = true, op == ">=", f
		case "<", "<=":
			if r.hasHigh {
				return r, invalid("Too many numeric range upper bounds (at %q)", path)
			}
			r.hasHigh, r.highIncl, r.high = true, op == "<=", f
		default:
			return r, invalid("Unrecognized numeric range operator: %s (at %q)", op, path)
		}
	}
	if r.hasLow && r.hasHigh && r.low >= r.high {
		return r, invalid("Bottom must be less than top (at %q)", path)
	}
	return r, nil
}

func compileAnythingBut(v any, path string) (matcher, error) {
	m := matcher{kind: mAnythingBut, notKind: mExactString}
	switch val := v.(type) {
	case string:
		m.notStrings = []string{val}
	case json.Number:
		f, err := number(val)
		if err != nil {
			return m, invalid("%v (at %q)", err, path)
		}
		m.notNumbers = []float64{f}
	case []any:
		if len(val) == 0 {
			return m, invalid("Empty arrays are not allowed (at %q)", path)
		}
		for _, e := range val {
			switch x := e.(type) {
			case string:
				m.notStrings = append(m.notStrings, x)
			case json.Number:
				f, err := number(x)
				if err != nil {
					return m, invalid("%v (at %q)", err, path)
				}
				m.notNumbers = append(m.notNumbers, f)
			default:
				return m, invalid("Inside anything but list, start|null|boolean is not supported (at %q)", path)
			}
		}
		if len(m.notStrings) > 0 && len(m.notNumbers) > 0 {
			return m, invalid("Inside anything but list, mixed types are not supported (at %q)", path)
		}
	case map[string]any:
		if len(val) != 1 {
			return m, invalid("Only one key allowed in match expression (at %q)", path)
		}
		for key, inner := range val {
			switch key {
			case "prefix", "suffix", "equals-ignore-case", "wildcard":
			default:
				return m, invalid("Unsupported anything-but pattern: %s (at %q)", key, path)
			}
			list, err := anythingButStrings(inner, key, path)
			if err != nil {
				return m, err
			}
			switch key {
			case "prefix":
				m.notKind = mPrefix
			case "suffix":
				m.notKind = mSuffix
			case "equals-ignore-case":
				m.notKind = mEqualsIgnoreCase
			case "wildcard":
				m.notKind = mWildcard
				for _, s := range list {
					if err := checkWildcard(s, path); err != nil {
						return m, err
					}
				}
			}
			m.notPatterns = list
		}
	default:
		return m, invalid("Value of anything-but must be an array or single string/number value (at %q)", path)
	}
	return m, nil
}

// anythingButStrings reads the value of an anything-but operator: a string
// or a non-empty list of strings; prefix and suffix values may not be empty.
func anythingButStrings(v any, key, path string) ([]string, error) {
	var list []string
	switch x := v.(type) {
	case string:
		list = []string{x}
	case []any:
		if len(x) == 0 {
			return nil, invalid("Empty arrays are not allowed (at %q)", path)
		}
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, invalid("Value of anything-but/%s must be a string or an array of strings (at %q)", key, path)
			}
			list = append(list, s)
		}
	default:
		return nil, invalid("Value of anything-but/%s must be a string or an array of strings (at %q)", key, path)
	}
	if key == "prefix" || key == "suffix" {
		for _, s := range list {
			if s == "" {
				return nil, invalid("Null %s not allowed in anything-but (at %q)", key, path)
			}
		}
	}
	return list, nil
}
