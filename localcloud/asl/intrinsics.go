package asl

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// intrinsicCall is a parsed intrinsic function call such as
// States.Format('{}', $.name).
type intrinsicCall struct {
	name string
	args []intrinsicArg
}

// intrinsicArg is one argument: a literal, a path or a nested call.
type intrinsicArg struct {
	literal any
	path    string
	call    *intrinsicCall
}

var intrinsicArity = map[string][2]int{ // min, max (-1: unbounded)
	"States.Format":         {1, -1},
	"States.StringToJson":   {1, 1},
	"States.JsonToString":   {1, 1},
	"States.Array":          {0, -1},
	"States.ArrayPartition": {2, 2},
	"States.ArrayContains":  {2, 2},
	"States.ArrayRange":     {3, 3},
	"States.ArrayGetItem":   {2, 2},
	"States.ArrayLength":    {1, 1},
	"States.ArrayUnique":    {1, 1},
	"States.Base64Encode":   {1, 1},
	"States.Base64Decode":   {1, 1},
	"States.Hash":           {2, 2},
	"States.JsonMerge":      {3, 3},
	"States.MathRandom":     {2, 3},
	"States.MathAdd":        {2, 2},
	"States.StringSplit":    {2, 2},
	"States.UUID":           {0, 0},
}

// parseIntrinsic parses a whole intrinsic expression.
func parseIntrinsic(s string) (*intrinsicCall, error) {
	ip := &intrinsicParser{src: s}
	call, err := ip.call(1)
	if err != nil {
		return nil, fmt.Errorf("invalid intrinsic function %q: %w", s, err)
	}
	ip.skipSpace()
	if ip.pos != len(ip.src) {
		return nil, fmt.Errorf("invalid intrinsic function %q: unexpected %q at offset %d", s, ip.src[ip.pos:], ip.pos)
	}
	return call, nil
}

type intrinsicParser struct {
	src string
	pos int
}

func (p *intrinsicParser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n') {
		p.pos++
	}
}

func (p *intrinsicParser) call(depth int) (*intrinsicCall, error) {
	if depth > maxIntrinsicNesting {
		return nil, fmt.Errorf("more than %d nested intrinsic functions", maxIntrinsicNesting)
	}
	open := strings.IndexByte(p.src[p.pos:], '(')
	if open < 0 {
		return nil, fmt.Errorf("missing '('")
	}
	name := strings.TrimSpace(p.src[p.pos : p.pos+open])
	arity, ok := intrinsicArity[name]
	if !ok {
		return nil, fmt.Errorf("unknown function %q", name)
	}
	p.pos += open + 1
	c := &intrinsicCall{name: name}
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ')' {
		p.pos++
	} else {
		for {
			p.skipSpace()
			arg, err := p.arg(depth)
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, arg)
			p.skipSpace()
			if p.pos >= len(p.src) {
				return nil, fmt.Errorf("missing ')'")
			}
			if p.src[p.pos] == ')' {
				p.pos++
				break
			}
			if p.src[p.pos] != ',' {
				return nil, fmt.Errorf("expected ',' or ')' at offset %d", p.pos)
			}
			p.pos++
		}
	}
	if len(c.args) < arity[0] || (arity[1] >= 0 && len(c.args) > arity[1]) {
		return nil, fmt.Errorf("%s takes %s arguments, got %d", name, arityText(arity), len(c.args))
	}
	return c, nil
}

func arityText(a [2]int) string {
	switch {
	case a[1] < 0:
		return fmt.Sprintf("at least %d", a[0])
	case a[0] == a[1]:
		return strconv.Itoa(a[0])
	}
	return fmt.Sprintf("%d to %d", a[0], a[1])
}

func (p *intrinsicParser) arg(depth int) (intrinsicArg, error) {
	if p.pos >= len(p.src) {
		return intrinsicArg{}, fmt.Errorf("missing argument")
	}
	rest := p.src[p.pos:]
	switch {
	case rest[0] == '\'':
		s, err := p.stringLiteral()
		return intrinsicArg{literal: s}, err
	case rest[0] == '$':
		start := p.pos
		depthB, inQuote := 0, byte(0)
		for p.pos < len(p.src) {
			ch := p.src[p.pos]
			if inQuote != 0 {
				if ch == inQuote {
					inQuote = 0
				}
			} else if ch == '\'' || ch == '"' {
				inQuote = ch
			} else if ch == '[' || ch == '(' {
				depthB++
			} else if ch == ']' || (ch == ')' && depthB > 0) {
				depthB--
			} else if depthB == 0 && (ch == ',' || ch == ')') {
				break
			}
			p.pos++
		}
		path := strings.TrimSpace(p.src[start:p.pos])
		if _, err := compilePath(path, false); err != nil {
			return intrinsicArg{}, err
		}
		return intrinsicArg{path: path}, nil
	case strings.HasPrefix(rest, "States."):
		c, err := p.call(depth + 1)
		return intrinsicArg{call: c}, err
	}
	end := p.pos
	for end < len(p.src) && p.src[end] != ',' && p.src[end] != ')' {
		end++
	}
	tok := strings.TrimSpace(p.src[p.pos:end])
	p.pos = end
	switch tok {
	case "true":
		return intrinsicArg{literal: true}, nil
	case "false":
		return intrinsicArg{literal: false}, nil
	case "null":
		return intrinsicArg{literal: nil}, nil
	}
	if i, err := strconv.ParseInt(tok, 10, 64); err == nil {
		return intrinsicArg{literal: i}, nil
	}
	if f, err := strconv.ParseFloat(tok, 64); err == nil {
		return intrinsicArg{literal: f}, nil
	}
	return intrinsicArg{}, fmt.Errorf("invalid argument %q", tok)
}

// stringLiteral reads a single-quoted string. Backslash escapes the next
// character; \{ and \} stay escaped so States.Format can tell a literal
// brace from a placeholder.
func (p *intrinsicParser) stringLiteral() (string, error) {
	p.pos++ // opening quote
	var b strings.Builder
	for p.pos < len(p.src) {
		ch := p.src[p.pos]
		switch ch {
		case '\\':
			if p.pos+1 >= len(p.src) {
				return "", fmt.Errorf("unterminated escape")
			}
			next := p.src[p.pos+1]
			if next == '{' || next == '}' {
				b.WriteByte('\\')
			}
			b.WriteByte(next)
			p.pos += 2
		case '\'':
			p.pos++
			return b.String(), nil
		default:
			b.WriteByte(ch)
			p.pos++
		}
	}
	return "", fmt.Errorf("unterminated string literal")
}

// intrinsicEnv gives intrinsics what they read: the data, the context
// object and the injected randomness.
type intrinsicEnv struct {
	data, context any
	random        func() float64
	uuid          func() string
}

func (c *intrinsicCall) eval(env *intrinsicEnv) (any, error) {
	args := make([]any, len(c.args))
	for i, a := range c.args {
		switch {
		case a.call != nil:
			v, err := a.call.eval(env)
			if err != nil {
				return nil, err
			}
			args[i] = v
		case a.path != "":
			v, err := selectPath(a.path, env.data, env.context)
			if err != nil {
				return nil, err
			}
			args[i] = v
		case c.name == "States.Format" && i == 0:
			args[i] = a.literal // keeps \{ \} so literal braces are not placeholders
		default:
			args[i] = unescapeBraces(a.literal)
		}
	}
	v, err := callIntrinsic(c.name, args, env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	return v, nil
}

// unescapeBraces removes the \{ \} escapes kept for States.Format's
// template from every other string literal.
func unescapeBraces(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	return strings.NewReplacer(`\{`, "{", `\}`, "}").Replace(s)
}

func callIntrinsic(name string, args []any, env *intrinsicEnv) (any, error) {
	switch name {
	case "States.Format":
		return formatIntrinsic(args)
	case "States.StringToJson":
		s, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("argument must be a string, got %s", typeName(args[0]))
		}
		v, err := decodeJSON([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("argument is not valid JSON: %v", err)
		}
		return v, nil
	case "States.JsonToString":
		return mustJSON(args[0]), nil
	case "States.Array":
		return append([]any{}, args...), nil
	case "States.ArrayPartition":
		arr, err := arrayArg(args[0])
		if err != nil {
			return nil, err
		}
		size, ok := intArg(args[1])
		if !ok || size <= 0 {
			return nil, fmt.Errorf("chunk size must be a positive integer")
		}
		out := []any{}
		for i := 0; i < len(arr); i += size {
			end := min(i+size, len(arr))
			out = append(out, append([]any{}, arr[i:end]...))
		}
		return out, nil
	case "States.ArrayContains":
		arr, err := arrayArg(args[0])
		if err != nil {
			return nil, err
		}
		for _, e := range arr {
			if jsonEqual(e, args[1]) {
				return true, nil
			}
		}
		return false, nil
	case "States.ArrayRange":
		start, ok1 := intArg(args[0])
		end, ok2 := intArg(args[1])
		step, ok3 := intArg(args[2])
		if !ok1 || !ok2 || !ok3 || step == 0 {
			return nil, fmt.Errorf("start, end and a non-zero step must be integers")
		}
		out := []any{}
		for i := start; (step > 0 && i <= end) || (step < 0 && i >= end); i += step {
			out = append(out, int64(i))
			if len(out) > 1000 {
				return nil, fmt.Errorf("the range has more than 1000 items")
			}
		}
		return out, nil
	case "States.ArrayGetItem":
		arr, err := arrayArg(args[0])
		if err != nil {
			return nil, err
		}
		i, ok := intArg(args[1])
		if !ok || i < 0 || i >= len(arr) {
			return nil, fmt.Errorf("index %v is out of range for an array of %d items", args[1], len(arr))
		}
		return arr[i], nil
	case "States.ArrayLength":
		arr, err := arrayArg(args[0])
		if err != nil {
			return nil, err
		}
		return int64(len(arr)), nil
	case "States.ArrayUnique":
		arr, err := arrayArg(args[0])
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, e := range arr {
			dup := false
			for _, o := range out {
				if jsonEqual(e, o) {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, e)
			}
		}
		return out, nil
	case "States.Base64Encode":
		s, err := stringArg(args[0], 10000)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "States.Base64Decode":
		s, err := stringArg(args[0], 10000)
		if err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("argument is not valid base64: %v", err)
		}
		return string(b), nil
	case "States.Hash":
		var data string
		if s, ok := args[0].(string); ok {
			data = s
		} else {
			data = mustJSON(args[0])
		}
		if utf8.RuneCountInString(data) > 10000 {
			return nil, fmt.Errorf("data is longer than 10000 characters")
		}
		alg, _ := args[1].(string)
		var h hash.Hash
		switch alg {
		case "MD5":
			h = md5.New()
		case "SHA-1":
			h = sha1.New()
		case "SHA-256":
			h = sha256.New()
		case "SHA-384":
			h = sha512.New384()
		case "SHA-512":
			h = sha512.New()
		default:
			return nil, fmt.Errorf("unsupported algorithm %q (MD5, SHA-1, SHA-256, SHA-384, SHA-512)", alg)
		}
		h.Write([]byte(data))
		return hex.EncodeToString(h.Sum(nil)), nil
	case "States.JsonMerge":
		a, ok1 := args[0].(map[string]any)
		b, ok2 := args[1].(map[string]any)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("both arguments must be JSON objects")
		}
		if deep, _ := args[2].(bool); deep {
			return nil, fmt.Errorf("deep merge is not supported: the third argument must be false")
		}
		out := map[string]any{}
		for k, v := range a {
			out[k] = deepCopy(v)
		}
		for k, v := range b {
			out[k] = deepCopy(v)
		}
		return out, nil
	case "States.MathRandom":
		start, ok1 := intArg(args[0])
		end, ok2 := intArg(args[1])
		if !ok1 || !ok2 || end <= start {
			return nil, fmt.Errorf("start and end must be integers with start < end")
		}
		r := env.random()
		if len(args) == 3 {
			seed, ok := intArg(args[2])
			if !ok {
				return nil, fmt.Errorf("seed must be an integer")
			}
			r = seededFraction(int64(seed))
		}
		return int64(start) + int64(math.Floor(r*float64(end-start))), nil
	case "States.MathAdd":
		a, ok1 := intArg(args[0])
		b, ok2 := intArg(args[1])
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("both arguments must be integers")
		}
		return int64(a) + int64(b), nil
	case "States.StringSplit":
		s, err := stringArg(args[0], -1)
		if err != nil {
			return nil, err
		}
		delims, err := stringArg(args[1], -1)
		if err != nil {
			return nil, err
		}
		parts := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(delims, r) })
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	case "States.UUID":
		return env.uuid(), nil
	}
	return nil, fmt.Errorf("unknown function")
}

// seededFraction is a deterministic value in [0,1) for MathRandom's seed.
func seededFraction(seed int64) float64 {
	x := uint64(seed) + 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / float64(1<<53)
}

func formatIntrinsic(args []any) (any, error) {
	tmpl, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("the template must be a string")
	}
	var b strings.Builder
	next := 1
	for i := 0; i < len(tmpl); i++ {
		switch {
		case tmpl[i] == '\\' && i+1 < len(tmpl) && (tmpl[i+1] == '{' || tmpl[i+1] == '}'):
			b.WriteByte(tmpl[i+1])
			i++
		case tmpl[i] == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}':
			if next >= len(args) {
				return nil, fmt.Errorf("the template has more placeholders than arguments")
			}
			switch v := args[next].(type) {
			case string:
				b.WriteString(v)
			case map[string]any, []any:
				return nil, fmt.Errorf("argument %d must be a string, number, boolean or null, got %s", next, typeName(v))
			default:
				b.WriteString(mustJSON(v))
			}
			next++
			i++
		default:
			b.WriteByte(tmpl[i])
		}
	}
	if next != len(args) {
		return nil, fmt.Errorf("the template has %d placeholders but %d arguments were given", next-1, len(args)-1)
	}
	return b.String(), nil
}

func arrayArg(v any) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("argument must be an array, got %s", typeName(v))
	}
	return a, nil
}

func stringArg(v any, max int) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("argument must be a string, got %s", typeName(v))
	}
	if max > 0 && utf8.RuneCountInString(s) > max {
		return "", fmt.Errorf("argument is longer than %d characters", max)
	}
	return s, nil
}

func intArg(v any) (int, bool) { return toInt(v) }

// jsonEqual compares JSON values, treating numbers by value.
func jsonEqual(a, b any) bool {
	fa, okA := toFloat(a)
	fb, okB := toFloat(b)
	if okA && okB {
		return fa == fb
	}
	switch ta := a.(type) {
	case map[string]any:
		tb, ok := b.(map[string]any)
		if !ok || len(ta) != len(tb) {
			return false
		}
		for k, v := range ta {
			w, ok := tb[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		tb, ok := b.([]any)
		if !ok || len(ta) != len(tb) {
			return false
		}
		for i := range ta {
			if !jsonEqual(ta[i], tb[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
