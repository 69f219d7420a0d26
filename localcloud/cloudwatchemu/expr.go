package cloudwatchemu

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Metric math: the subset of CloudWatch's expression language the local
// cloud evaluates: numbers, query ids, + - * / with the usual precedence,
// unary minus, parentheses, FILL(series, number) and ABS(series). An
// arithmetic result has a datapoint only where every operand has one, as
// in CloudWatch; FILL gives every period a value.

type exprNode interface {
	eval(env map[string][]point, n int) (exprValue, error)
}

type exprValue struct {
	scalar bool
	num    float64
	pts    []point
}

type numNode float64

func (v numNode) eval(map[string][]point, int) (exprValue, error) {
	return exprValue{scalar: true, num: float64(v)}, nil
}

type idNode string

func (v idNode) eval(env map[string][]point, _ int) (exprValue, error) {
	pts, ok := env[string(v)]
	if !ok {
		return exprValue{}, fmt.Errorf("expression references unknown id %q", string(v))
	}
	return exprValue{pts: pts}, nil
}

type binNode struct {
	op   byte
	l, r exprNode
}

func apply(op byte, a, b float64) (float64, bool) {
	switch op {
	case '+':
		return a + b, true
	case '-':
		return a - b, true
	case '*':
		return a * b, true
	default:
		if b == 0 {
			return 0, false
		}
		return a / b, true
	}
}

// at returns the value of v at period i.
func (v exprValue) at(i int) (float64, bool) {
	if v.scalar {
		return v.num, true
	}
	return v.pts[i].value, v.pts[i].ok
}

func (b binNode) eval(env map[string][]point, n int) (exprValue, error) {
	l, err := b.l.eval(env, n)
	if err != nil {
		return exprValue{}, err
	}
	r, err := b.r.eval(env, n)
	if err != nil {
		return exprValue{}, err
	}
	if l.scalar && r.scalar {
		v, ok := apply(b.op, l.num, r.num)
		if !ok {
			v = math.NaN()
		}
		return exprValue{scalar: true, num: v}, nil
	}
	out := make([]point, n)
	for i := range out {
		if !l.scalar {
			out[i].start = l.pts[i].start
		} else {
			out[i].start = r.pts[i].start
		}
		a, okA := l.at(i)
		c, okB := r.at(i)
		if okA && okB {
			out[i].value, out[i].ok = apply(b.op, a, c)
		}
	}
	return exprValue{pts: out}, nil
}

type negNode struct{ x exprNode }

func (v negNode) eval(env map[string][]point, n int) (exprValue, error) {
	return binNode{op: '-', l: numNode(0), r: v.x}.eval(env, n)
}

type callNode struct {
	fn   string
	args []exprNode
}

func (c callNode) eval(env map[string][]point, n int) (exprValue, error) {
	vals := make([]exprValue, len(c.args))
	for i, a := range c.args {
		v, err := a.eval(env, n)
		if err != nil {
			return exprValue{}, err
		}
		vals[i] = v
	}
	switch c.fn {
	case "FILL":
		if vals[0].scalar || !vals[1].scalar {
			return exprValue{}, fmt.Errorf("FILL takes a time series and a number")
		}
		out := append([]point(nil), vals[0].pts...)
		for i := range out {
			if !out[i].ok {
				out[i].value, out[i].ok = vals[1].num, true
			}
		}
		return exprValue{pts: out}, nil
	case "ABS":
		if vals[0].scalar {
			return exprValue{scalar: true, num: math.Abs(vals[0].num)}, nil
		}
		out := append([]point(nil), vals[0].pts...)
		for i := range out {
			out[i].value = math.Abs(out[i].value)
		}
		return exprValue{pts: out}, nil
	}
	return exprValue{}, fmt.Errorf("function %s is not supported", c.fn)
}

var exprArity = map[string]int{"FILL": 2, "ABS": 1}

// parseExpression compiles a metric math expression and returns the ids
// it references.
func parseExpression(src string) (exprNode, []string, error) {
	p := &exprParser{src: src}
	p.next()
	n, err := p.expr()
	if err != nil {
		return nil, nil, fmt.Errorf("expression %q: %w", src, err)
	}
	if p.tok != "" {
		return nil, nil, fmt.Errorf("expression %q: unexpected %q", src, p.tok)
	}
	return n, p.ids, nil
}

type exprParser struct {
	src string
	pos int
	tok string
	ids []string
}

// next reads the next token into p.tok ("" at the end).
func (p *exprParser) next() {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
	if p.pos >= len(p.src) {
		p.tok = ""
		return
	}
	start := p.pos
	c := rune(p.src[p.pos])
	switch {
	case strings.ContainsRune("+-*/(),", c):
		p.pos++
	case unicode.IsDigit(c) || c == '.':
		for p.pos < len(p.src) && (unicode.IsDigit(rune(p.src[p.pos])) || p.src[p.pos] == '.' || p.src[p.pos] == 'e' || p.src[p.pos] == 'E') {
			p.pos++
		}
	case unicode.IsLetter(c) || c == '_':
		for p.pos < len(p.src) && (unicode.IsLetter(rune(p.src[p.pos])) || unicode.IsDigit(rune(p.src[p.pos])) || p.src[p.pos] == '_') {
			p.pos++
		}
	default:
		p.pos++
	}
	p.tok = p.src[start:p.pos]
}

func (p *exprParser) expr() (exprNode, error) {
	l, err := p.term()
	if err != nil {
		return nil, err
	}
	for p.tok == "+" || p.tok == "-" {
		op := p.tok[0]
		p.next()
		r, err := p.term()
		if err != nil {
			return nil, err
		}
		l = binNode{op: op, l: l, r: r}
	}
	return l, nil
}

func (p *exprParser) term() (exprNode, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.tok == "*" || p.tok == "/" {
		op := p.tok[0]
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = binNode{op: op, l: l, r: r}
	}
	return l, nil
}

func (p *exprParser) unary() (exprNode, error) {
	if p.tok == "-" {
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return negNode{x}, nil
	}
	return p.primary()
}

func (p *exprParser) primary() (exprNode, error) {
	tok := p.tok
	switch {
	case tok == "":
		return nil, fmt.Errorf("unexpected end")
	case tok == "(":
		p.next()
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.tok != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.next()
		return n, nil
	case unicode.IsDigit(rune(tok[0])) || tok[0] == '.':
		v, err := strconv.ParseFloat(tok, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q", tok)
		}
		p.next()
		return numNode(v), nil
	case unicode.IsLetter(rune(tok[0])) || tok[0] == '_':
		p.next()
		if p.tok != "(" {
			if !unicode.IsLower(rune(tok[0])) {
				return nil, fmt.Errorf("id %q must start with a lowercase letter", tok)
			}
			p.ids = append(p.ids, tok)
			return idNode(tok), nil
		}
		arity, ok := exprArity[tok]
		if !ok {
			return nil, fmt.Errorf("function %s is not supported by the local cloud (FILL, ABS)", tok)
		}
		p.next()
		var args []exprNode
		for p.tok != ")" {
			a, err := p.expr()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			if p.tok == "," {
				p.next()
			} else if p.tok != ")" {
				return nil, fmt.Errorf("expected , or ) in %s(...)", tok)
			}
		}
		p.next()
		if len(args) != arity {
			return nil, fmt.Errorf("%s takes %d arguments, got %d", tok, arity, len(args))
		}
		return callNode{fn: tok, args: args}, nil
	}
	return nil, fmt.Errorf("unexpected %q", tok)
}

// evalQueries computes every query for the periods starting at starts:
// MetricStat queries from the datapoints, expressions from the others.
func (s *Service) evalQueries(queries []MetricDataQuery, starts []time.Time, period time.Duration) (map[string][]point, error) {
	env := map[string][]point{}
	byID := map[string]MetricDataQuery{}
	for _, q := range queries {
		byID[q.ID] = q
	}
	visiting := map[string]bool{}
	var resolve func(id string) error
	resolve = func(id string) error {
		if _, done := env[id]; done {
			return nil
		}
		q, ok := byID[id]
		if !ok {
			return fmt.Errorf("expression references unknown id %q", id)
		}
		if visiting[id] {
			return fmt.Errorf("expressions reference each other in a cycle through %q", id)
		}
		visiting[id] = true
		defer delete(visiting, id)
		if q.MetricStat != nil {
			p := period
			if q.MetricStat.Period > 0 {
				p = time.Duration(q.MetricStat.Period) * time.Second
			}
			env[id] = s.statSeries(q.MetricStat.Metric, q.MetricStat.Stat, q.MetricStat.Unit, p, starts)
			return nil
		}
		node, ids, err := parseExpression(q.Expression)
		if err != nil {
			return err
		}
		for _, ref := range ids {
			if err := resolve(ref); err != nil {
				return err
			}
		}
		v, err := node.eval(env, len(starts))
		if err != nil {
			return fmt.Errorf("query %s: %w", id, err)
		}
		if v.scalar {
			pts := make([]point, len(starts))
			for i, st := range starts {
				pts[i] = point{start: st, value: v.num, ok: !math.IsNaN(v.num)}
			}
			v.pts = pts
		}
		env[id] = v.pts
		return nil
	}
	for _, q := range queries {
		if err := resolve(q.ID); err != nil {
			return nil, err
		}
	}
	return env, nil
}
