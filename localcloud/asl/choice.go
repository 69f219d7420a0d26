package asl

import (
	"fmt"
	"strings"
)

// evalChoice returns the Next of the first matching rule, or "" if none
// matched.
func evalChoice(rules []*ChoiceRule, data, contextObj any) (string, error) {
	for _, r := range rules {
		ok, err := r.match(data, contextObj)
		if err != nil {
			return "", err
		}
		if ok {
			return r.Next, nil
		}
	}
	return "", nil
}

func (r *ChoiceRule) match(data, contextObj any) (bool, error) {
	switch {
	case r.And != nil:
		for _, s := range r.And {
			ok, err := s.match(data, contextObj)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.Or != nil:
		for _, s := range r.Or {
			ok, err := s.match(data, contextObj)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.Not != nil:
		ok, err := r.Not.match(data, contextObj)
		return !ok, err
	}
	v, err := selectPath(r.Variable, data, contextObj)
	present := err == nil
	if r.Operator == "IsPresent" {
		return present == r.Value.(bool), nil
	}
	if !present {
		return false, failf(ErrRuntime, "Invalid path '%s': The choice state's condition path references an invalid value.", r.Variable)
	}
	switch r.Operator {
	case "IsNull":
		return (v == nil) == r.Value.(bool), nil
	case "IsNumeric":
		_, isNum := toFloat(v)
		return isNum == r.Value.(bool), nil
	case "IsString":
		_, isStr := v.(string)
		return isStr == r.Value.(bool), nil
	case "IsBoolean":
		_, isBool := v.(bool)
		return isBool == r.Value.(bool), nil
	case "IsTimestamp":
		s, isStr := v.(string)
		isTS := false
		if isStr {
			_, terr := parseTimestamp(s)
			isTS = terr == nil
		}
		return isTS == r.Value.(bool), nil
	}
	op := r.Operator
	want := r.Value
	if base, isPath := strings.CutSuffix(op, "Path"); isPath {
		w, err := selectPath(want.(string), data, contextObj)
		if err != nil {
			return false, failf(ErrRuntime, "Invalid path '%s': The choice state's condition path references an invalid value.", want)
		}
		op, want = base, w
	}
	return compare(op, v, want)
}

// compare applies a comparison operator. A value of the wrong type simply
// does not match, as in AWS.
func compare(op string, v, want any) (bool, error) {
	switch {
	case op == "StringMatches":
		s, ok1 := v.(string)
		pat, ok2 := want.(string)
		return ok1 && ok2 && globMatch(pat, s), nil
	case strings.HasPrefix(op, "String"):
		s, ok1 := v.(string)
		w, ok2 := want.(string)
		if !ok1 || !ok2 {
			return false, nil
		}
		return ordered(strings.TrimPrefix(op, "String"), strings.Compare(s, w)), nil
	case strings.HasPrefix(op, "Numeric"):
		a, ok1 := toFloat(v)
		b, ok2 := toFloat(want)
		if !ok1 || !ok2 {
			return false, nil
		}
		c := 0
		if a < b {
			c = -1
		} else if a > b {
			c = 1
		}
		return ordered(strings.TrimPrefix(op, "Numeric"), c), nil
	case op == "BooleanEquals":
		a, ok1 := v.(bool)
		b, ok2 := want.(bool)
		return ok1 && ok2 && a == b, nil
	case strings.HasPrefix(op, "Timestamp"):
		s, ok1 := v.(string)
		w, ok2 := want.(string)
		if !ok1 || !ok2 {
			return false, nil
		}
		a, err1 := parseTimestamp(s)
		b, err2 := parseTimestamp(w)
		if err1 != nil || err2 != nil {
			return false, nil
		}
		return ordered(strings.TrimPrefix(op, "Timestamp"), a.Compare(b)), nil
	}
	return false, fmt.Errorf("unknown comparison operator %q", op)
}

func ordered(rel string, c int) bool {
	switch rel {
	case "Equals":
		return c == 0
	case "LessThan":
		return c < 0
	case "GreaterThan":
		return c > 0
	case "LessThanEquals":
		return c <= 0
	case "GreaterThanEquals":
		return c >= 0
	}
	return false
}

// globMatch implements StringMatches: "*" matches any run of characters,
// "\*" a literal star and "\\" a literal backslash.
func globMatch(pattern, s string) bool {
	type tok struct {
		star bool
		ch   rune
	}
	var toks []tok
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		switch {
		case rs[i] == '\\' && i+1 < len(rs):
			toks = append(toks, tok{ch: rs[i+1]})
			i++
		case rs[i] == '*':
			toks = append(toks, tok{star: true})
		default:
			toks = append(toks, tok{ch: rs[i]})
		}
	}
	str := []rune(s)
	// Classic backtracking wildcard match.
	pi, si, starP, starS := 0, 0, -1, 0
	for si < len(str) {
		switch {
		case pi < len(toks) && !toks[pi].star && toks[pi].ch == str[si]:
			pi++
			si++
		case pi < len(toks) && toks[pi].star:
			starP, starS = pi, si
			pi++
		case starP >= 0:
			pi = starP + 1
			starS++
			si = starS
		default:
			return false
		}
	}
	for pi < len(toks) && toks[pi].star {
		pi++
	}
	return pi == len(toks)
}
