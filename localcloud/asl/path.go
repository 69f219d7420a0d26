package asl

import (
	"fmt"
	"strings"

	"github.com/ohler55/ojg/jp"
)

// compiledPath is a parsed JSONPath. Context paths ("$$...") select from the
// context object instead of the state's data.
type compiledPath struct {
	src      string
	context  bool
	expr     jp.Expr
	definite bool // only names and indexes: selects at most one node
}

// compilePath parses an ASL path. A reference path (ResultPath, ItemsPath,
// the *Path fields of Wait, Choice and Map) must select a single node:
// only names and array indexes are allowed.
func compilePath(s string, reference bool) (*compiledPath, error) {
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("Value is not a valid JSON path: %q must start with $", s)
	}
	cp := &compiledPath{src: s}
	expr := s
	if strings.HasPrefix(s, "$$") {
		cp.context = true
		expr = s[1:]
	}
	x, err := jp.ParseString(bracketNames(expr))
	if err != nil {
		return nil, fmt.Errorf("Value is not a valid JSON path: %q: %v", s, err)
	}
	if len(x) == 0 {
		return nil, fmt.Errorf("Value is not a valid JSON path: %q", s)
	}
	if _, ok := x[0].(jp.Root); !ok {
		return nil, fmt.Errorf("Value is not a valid JSON path: %q must start with $", s)
	}
	cp.expr = x
	cp.definite = true
	for _, f := range x[1:] {
		switch t := f.(type) {
		case jp.Child, jp.Bracket:
		case jp.Nth:
			if t < 0 {
				cp.definite = false
			}
		default:
			cp.definite = false
		}
	}
	if reference && !cp.definite {
		return nil, fmt.Errorf("Value is not a valid reference path: %q may only use names and array indexes", s)
	}
	return cp, nil
}

// selectPath evaluates a path against data (or the context object for
// "$$" paths). A definite path must exist; an indefinite one (wildcards,
// filters, slices) returns an array of its matches.
func selectPath(path string, data, contextObj any) (any, error) {
	cp, err := compilePath(path, false)
	if err != nil {
		return nil, err
	}
	root := data
	if cp.context {
		root = contextObj
	}
	if cp.definite {
		v, ok := walkDefinite(cp.expr, root)
		if !ok {
			return nil, fmt.Errorf("The JSONPath '%s' could not be found in the input '%s'", path, mustJSON(root))
		}
		return v, nil
	}
	res := cp.expr.Get(root)
	out := make([]any, 0, len(res))
	for _, r := range res {
		out = append(out, deepCopy(r))
	}
	return out, nil
}

func walkDefinite(x jp.Expr, v any) (any, bool) {
	cur := v
	for _, f := range x[1:] {
		switch t := f.(type) {
		case jp.Bracket:
		case jp.Child:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			cur, ok = m[string(t)]
			if !ok {
				return nil, false
			}
		case jp.Nth:
			a, ok := cur.([]any)
			if !ok || int(t) >= len(a) || t < 0 {
				return nil, false
			}
			cur = a[t]
		default:
			return nil, false
		}
	}
	return cur, true
}

// applyResultPath places result into a copy of input at the reference path,
// creating intermediate objects as AWS does. A nil path (absent) means "$".
func applyResultPath(rp OptPath, input, result any) (any, error) {
	if rp.Set && rp.Null {
		return input, nil
	}
	path := "$"
	if rp.Set {
		path = rp.Path
	}
	cp, err := compilePath(path, true)
	if err != nil {
		return nil, &Failure{Name: ErrResultPathMatchFailure, Cause: err.Error()}
	}
	if cp.context {
		return nil, failf(ErrResultPathMatchFailure, "ResultPath %q cannot refer to the context object", path)
	}
	frags := cp.expr[1:]
	var clean []jp.Frag
	for _, f := range frags {
		if _, ok := f.(jp.Bracket); !ok {
			clean = append(clean, f)
		}
	}
	if len(clean) == 0 {
		return result, nil
	}
	root := deepCopy(input)
	out, err := setAt(root, clean, result)
	if err != nil {
		return nil, failf(ErrResultPathMatchFailure, "Unable to apply ResultPath %q to input %s: %v", path, mustJSON(input), err)
	}
	return out, nil
}

func setAt(cur any, frags []jp.Frag, value any) (any, error) {
	if len(frags) == 0 {
		return value, nil
	}
	switch t := frags[0].(type) {
	case jp.Child:
		m, ok := cur.(map[string]any)
		if !ok {
			if cur != nil {
				return nil, fmt.Errorf("cannot set field %q on a %s", string(t), typeName(cur))
			}
			m = map[string]any{}
		}
		child, err := setAt(m[string(t)], frags[1:], value)
		if err != nil {
			return nil, err
		}
		m[string(t)] = child
		return m, nil
	case jp.Nth:
		a, ok := cur.([]any)
		if !ok || int(t) >= len(a) || t < 0 {
			return nil, fmt.Errorf("array index %d is out of range", int(t))
		}
		child, err := setAt(a[t], frags[1:], value)
		if err != nil {
			return nil, err
		}
		a[t] = child
		return a, nil
	}
	return nil, fmt.Errorf("unsupported path element")
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case nil:
		return "null"
	case int64, float64, int:
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

// deepCopy copies maps and slices so later writes never alias inputs.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, e := range t {
			a[i] = deepCopy(e)
		}
		return a
	}
	return v
}

// bracketNames rewrites dot-notation names that ojg's parser rejects but
// AWS accepts (such as "$.delivery-partner") into bracket notation.
func bracketNames(p string) string {
	var b strings.Builder
	depth := 0
	var quote byte
	for i := 0; i < len(p); i++ {
		ch := p[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
			b.WriteByte(ch)
			continue
		case depth > 0 && (ch == '\'' || ch == '"'):
			quote = ch
		case ch == '[' || ch == '(':
			depth++
		case ch == ']' || ch == ')':
			depth--
		}
		if ch != '.' || depth > 0 {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('.')
		if i+1 < len(p) && p[i+1] == '.' { // descent
			b.WriteByte('.')
			i++
		}
		j := i + 1
		for j < len(p) && p[j] != '.' && p[j] != '[' {
			j++
		}
		name := p[i+1 : j]
		if name != "" && name != "*" && !plainName(name) {
			s := b.String()
			b.Reset()
			b.WriteString(strings.TrimSuffix(s, "."))
			b.WriteString("['" + strings.ReplaceAll(name, "'", "\\'") + "']")
		} else {
			b.WriteString(name)
		}
		i = j - 1
	}
	return b.String()
}

func plainName(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
