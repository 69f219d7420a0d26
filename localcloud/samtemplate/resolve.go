package samtemplate

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gomlops/mlops/internal/cfnyaml"
)

// noValue is what {"Ref": "AWS::NoValue"} resolves to: the enclosing
// property or list element is removed.
type noValue struct{}

type param struct {
	typ    string
	value  string
	isList bool
}

func (p param) String() string { return p.value }

func (p param) resolved() any {
	if !p.isList {
		return p.value
	}
	out := []any{}
	if p.value == "" {
		return out
	}
	for _, s := range strings.Split(p.value, ",") {
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

type resolver struct {
	opts       Options
	resources  map[string]*rawResource
	mappings   map[string]any
	conditions map[string]any
	params     map[string]param

	condMemo map[string]bool
	condBusy map[string]bool
	nameMemo map[string]string
	nameBusy map[string]bool
	depth    int
}

// bindParameters binds every template parameter to its override or
// default, checking AllowedValues and AllowedPattern, and rejects overrides
// of parameters the template does not declare.
func (r *resolver) bindParameters(decl map[string]any) error {
	r.params = map[string]param{}
	for name := range r.opts.Parameters {
		if _, ok := decl[name]; !ok {
			return fmt.Errorf("parameter override %q: the template declares no such parameter (declared: %s)", name, strings.Join(sortedKeys(decl), ", "))
		}
	}
	for _, name := range sortedKeys(decl) {
		d := mapOf(decl[name])
		typ, _ := d["Type"].(string)
		if typ == "" {
			return fmt.Errorf("parameter %s: missing Type", name)
		}
		if strings.HasPrefix(typ, "AWS::SSM::Parameter::Value<") {
			if _, ok := r.opts.Parameters[name]; !ok {
				return fmt.Errorf("parameter %s: type %s needs SSM; pass a local value with --parameter-overrides %s=VALUE", name, typ, name)
			}
		}
		value, ok := r.opts.Parameters[name]
		if !ok {
			def, has := d["Default"]
			if !has {
				return fmt.Errorf("parameter %s has no Default: pass it with --parameter-overrides %s=VALUE", name, name)
			}
			s, err := paramDefault(def)
			if err != nil {
				return fmt.Errorf("parameter %s Default: %w", name, err)
			}
			value = s
		}
		isList := typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<")
		if typ == "Number" {
			if _, err := strconv.ParseFloat(value, 64); err != nil {
				return fmt.Errorf("parameter %s: %q is not a Number", name, value)
			}
		}
		if allowed, ok := d["AllowedValues"].([]any); ok {
			vals := []string{value}
			if isList {
				vals = strings.Split(value, ",")
			}
			for _, v := range vals {
				found := false
				for _, a := range allowed {
					if fmt.Sprint(a) == strings.TrimSpace(v) {
						found = true
					}
				}
				if !found {
					return fmt.Errorf("parameter %s: %q is not one of AllowedValues %v", name, v, allowed)
				}
			}
		}
		if pat, ok := d["AllowedPattern"].(string); ok {
			re, err := regexp.Compile("^(?:" + pat + ")$")
			if err != nil {
				return fmt.Errorf("parameter %s AllowedPattern: %w", name, err)
			}
			if !re.MatchString(value) {
				return fmt.Errorf("parameter %s: %q does not match AllowedPattern %s", name, value, pat)
			}
		}
		r.params[name] = param{typ: typ, value: value, isList: isList}
	}
	return nil
}

func paramDefault(v any) (string, error) {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			s, err := scalarString(e)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	}
	return scalarString(v)
}

// scalarString renders a resolved scalar as CloudFormation would in a
// string context.
func scalarString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("value %v (%T) is not a string", v, v)
}

// condition evaluates a named condition, memoized, with cycle detection.
func (r *resolver) condition(name string) (bool, error) {
	if v, ok := r.condMemo[name]; ok {
		return v, nil
	}
	def, ok := r.conditions[name]
	if !ok {
		return false, fmt.Errorf("unknown condition %q", name)
	}
	if r.condBusy[name] {
		return false, fmt.Errorf("condition %q refers to itself", name)
	}
	r.condBusy[name] = true
	defer delete(r.condBusy, name)
	v, err := r.evalCondition(def, "condition "+name)
	if err != nil {
		return false, err
	}
	r.condMemo[name] = v
	return v, nil
}

func (r *resolver) evalCondition(v any, where string) (bool, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return false, fmt.Errorf("%s: %v is not a condition function", where, v)
	}
	for fn, arg := range m {
		switch fn {
		case "Condition":
			name, _ := arg.(string)
			return r.condition(name)
		case "Fn::Equals":
			args, ok := arg.([]any)
			if !ok || len(args) != 2 {
				return false, fmt.Errorf("%s: Fn::Equals needs two values", where)
			}
			a, err := r.resolve(args[0], where)
			if err != nil {
				return false, err
			}
			b, err := r.resolve(args[1], where)
			if err != nil {
				return false, err
			}
			as, err1 := scalarString(a)
			bs, err2 := scalarString(b)
			if err1 != nil || err2 != nil {
				return false, fmt.Errorf("%s: Fn::Equals compares scalars, got %v and %v", where, a, b)
			}
			return as == bs, nil
		case "Fn::Not":
			args, ok := arg.([]any)
			if !ok || len(args) != 1 {
				return false, fmt.Errorf("%s: Fn::Not needs one condition", where)
			}
			b, err := r.evalCondition(args[0], where)
			return !b, err
		case "Fn::And", "Fn::Or":
			args, ok := arg.([]any)
			if !ok || len(args) < 2 {
				return false, fmt.Errorf("%s: %s needs at least two conditions", where, fn)
			}
			and := fn == "Fn::And"
			for _, a := range args {
				b, err := r.evalCondition(a, where)
				if err != nil {
					return false, err
				}
				if and && !b {
					return false, nil
				}
				if !and && b {
					return true, nil
				}
			}
			return and, nil
		}
		return false, fmt.Errorf("%s: %s is not a condition function", where, fn)
	}
	return false, nil
}

// resolveMap resolves every value of m; where prefixes error messages and
// is completed with the property path.
func (r *resolver) resolveMap(m map[string]any, where string) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for _, k := range sortedKeys(m) {
		v, err := r.resolve(m[k], where+k)
		if err != nil {
			return nil, err
		}
		if _, drop := v.(noValue); drop {
			continue
		}
		out[k] = v
	}
	return out, nil
}

// maxDepth bounds nested resolution: deeper means a reference cycle
// (a rule whose EventBusName is its own ARN, ...) or an absurd template.
const maxDepth = 100

// resolve evaluates every intrinsic function inside v.
func (r *resolver) resolve(v any, where string) (any, error) {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > maxDepth {
		return nil, fmt.Errorf("%s: references nest more than %d deep: a circular reference?", where, maxDepth)
	}
	switch x := v.(type) {
	case map[string]any:
		if cfnyaml.IsIntrinsic(x) {
			for fn, arg := range x {
				out, err := r.intrinsic(fn, arg, where)
				if err != nil {
					return nil, err
				}
				return out, nil
			}
		}
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			e, err := r.resolve(x[k], where+"."+k)
			if err != nil {
				return nil, err
			}
			if _, drop := e.(noValue); drop {
				continue
			}
			out[k] = e
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for i, e := range x {
			v, err := r.resolve(e, fmt.Sprintf("%s[%d]", where, i))
			if err != nil {
				return nil, err
			}
			if _, drop := v.(noValue); drop {
				continue
			}
			out = append(out, v)
		}
		return out, nil
	}
	return v, nil
}

func (r *resolver) intrinsic(fn string, arg any, where string) (any, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%s: %s: %s", where, fn, fmt.Sprintf(format, a...))
	}
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, fail("argument %v is not a name", arg)
		}
		v, err := r.ref(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		return v, nil
	case "Fn::GetAtt":
		res, attr, err := r.getAttArgs(arg, where)
		if err != nil {
			return nil, err
		}
		v, err := r.getAtt(res, attr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		return v, nil
	case "Fn::Sub":
		return r.sub(arg, where)
	case "Fn::Join":
		args, ok := arg.([]any)
		if !ok || len(args) != 2 {
			return nil, fail("needs [delimiter, [values]]")
		}
		delim, ok := args[0].(string)
		if !ok {
			return nil, fail("delimiter %v is not a string", args[0])
		}
		list, err := r.resolve(args[1], where)
		if err != nil {
			return nil, err
		}
		items, ok := list.([]any)
		if !ok {
			return nil, fail("values %v are not a list", list)
		}
		parts := make([]string, len(items))
		for i, it := range items {
			s, err := scalarString(it)
			if err != nil {
				return nil, fail("%v", err)
			}
			parts[i] = s
		}
		return strings.Join(parts, delim), nil
	case "Fn::Select":
		args, ok := arg.([]any)
		if !ok || len(args) != 2 {
			return nil, fail("needs [index, list]")
		}
		idxV, err := r.resolve(args[0], where)
		if err != nil {
			return nil, err
		}
		idxS, err := scalarString(idxV)
		if err != nil {
			return nil, fail("index: %v", err)
		}
		idx, err := strconv.Atoi(idxS)
		if err != nil {
			return nil, fail("index %q is not an integer", idxS)
		}
		list, err := r.resolve(args[1], where)
		if err != nil {
			return nil, err
		}
		items, ok := list.([]any)
		if !ok {
			return nil, fail("%v is not a list", list)
		}
		if idx < 0 || idx >= len(items) {
			return nil, fail("index %d out of range (list has %d)", idx, len(items))
		}
		return items[idx], nil
	case "Fn::Split":
		args, ok := arg.([]any)
		if !ok || len(args) != 2 {
			return nil, fail("needs [delimiter, string]")
		}
		delim, _ := args[0].(string)
		sv, err := r.resolve(args[1], where)
		if err != nil {
			return nil, err
		}
		s, err := scalarString(sv)
		if err != nil {
			return nil, fail("%v", err)
		}
		out := []any{}
		for _, p := range strings.Split(s, delim) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::If":
		args, ok := arg.([]any)
		if !ok || len(args) != 3 {
			return nil, fail("needs [condition, then, else]")
		}
		name, _ := args[0].(string)
		b, err := r.condition(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if b {
			return r.resolve(args[1], where)
		}
		return r.resolve(args[2], where)
	case "Fn::FindInMap":
		args, ok := arg.([]any)
		if !ok || len(args) < 3 {
			return nil, fail("needs [map, top key, second key]")
		}
		keys := make([]string, 3)
		for i := 0; i < 3; i++ {
			v, err := r.resolve(args[i], where)
			if err != nil {
				return nil, err
			}
			s, err := scalarString(v)
			if err != nil {
				return nil, fail("%v", err)
			}
			keys[i] = s
		}
		top, ok := r.mappings[keys[0]].(map[string]any)
		if !ok {
			return nil, fail("no mapping %q", keys[0])
		}
		second, ok := top[keys[1]].(map[string]any)
		if !ok {
			return nil, fail("mapping %q has no key %q", keys[0], keys[1])
		}
		v, ok := second[keys[2]]
		if !ok {
			return nil, fail("mapping %q.%q has no key %q", keys[0], keys[1], keys[2])
		}
		return r.resolve(v, where)
	case "Fn::GetAZs":
		return []any{r.opts.Region + "a", r.opts.Region + "b", r.opts.Region + "c"}, nil
	case "Fn::Base64":
		v, err := r.resolve(arg, where)
		if err != nil {
			return nil, err
		}
		s, err := scalarString(v)
		if err != nil {
			return nil, fail("%v", err)
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "Fn::ToJsonString":
		v, err := r.resolve(arg, where)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fail("%v", err)
		}
		return string(b), nil
	case "Fn::Length":
		v, err := r.resolve(arg, where)
		if err != nil {
			return nil, err
		}
		items, ok := v.([]any)
		if !ok {
			return nil, fail("%v is not a list", v)
		}
		return len(items), nil
	case "Condition":
		name, _ := arg.(string)
		b, err := r.condition(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%s: %s is not supported by the local cloud (it has no local value); replace it or pass the value as a parameter", where, fn)
}

func (r *resolver) getAttArgs(arg any, where string) (string, string, error) {
	switch x := arg.(type) {
	case string:
		res, attr, ok := strings.Cut(x, ".")
		if ok {
			return res, attr, nil
		}
	case []any:
		if len(x) == 2 {
			res, _ := x[0].(string)
			attrV, err := r.resolve(x[1], where)
			if err != nil {
				return "", "", err
			}
			attr, _ := attrV.(string)
			if res != "" && attr != "" {
				return res, attr, nil
			}
		}
	}
	return "", "", fmt.Errorf("%s: Fn::GetAtt: %v is not [Resource, Attribute]", where, arg)
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (r *resolver) sub(arg any, where string) (any, error) {
	var tmpl string
	vars := map[string]any{}
	switch x := arg.(type) {
	case string:
		tmpl = x
	case []any:
		if len(x) != 2 {
			return nil, fmt.Errorf("%s: Fn::Sub: needs a string or [string, {variables}]", where)
		}
		s, ok := x[0].(string)
		if !ok {
			return nil, fmt.Errorf("%s: Fn::Sub: template %v is not a string", where, x[0])
		}
		tmpl = s
		vm, ok := x[1].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: Fn::Sub: variables %v are not a mapping", where, x[1])
		}
		for k, v := range vm {
			rv, err := r.resolve(v, where+" Fn::Sub variable "+k)
			if err != nil {
				return nil, err
			}
			vars[k] = rv
		}
	default:
		return nil, fmt.Errorf("%s: Fn::Sub: needs a string or [string, {variables}]", where)
	}
	var firstErr error
	out := subVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		name = strings.TrimSpace(name)
		var v any
		var err error
		if vv, ok := vars[name]; ok {
			v = vv
		} else if res, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			v, err = r.getAtt(res, attr)
			if err != nil {
				// SAM also accepts ${MyApi.Stage} and friends here.
				if dv, handled, derr := r.samDottedRef(name); handled && derr == nil {
					v, err = dv, nil
				}
			}
		} else {
			v, err = r.ref(name)
		}
		if err == nil {
			var s string
			s, err = scalarString(v)
			if err == nil {
				return s
			}
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("%s: Fn::Sub ${%s}: %w", where, name, err)
		}
		return ""
	})
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// ref resolves {"Ref": name}: a pseudo parameter, a parameter or a
// resource.
func (r *resolver) ref(name string) (any, error) {
	switch name {
	case "AWS::Region":
		return r.opts.Region, nil
	case "AWS::AccountId":
		return r.opts.AccountID, nil
	case "AWS::StackName":
		return r.opts.StackName, nil
	case "AWS::StackId":
		return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s", r.opts.Region, r.opts.AccountID, r.opts.StackName, localUUID("stack/"+r.opts.StackName)), nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::NoValue":
		return noValue{}, nil
	case "AWS::NotificationARNs":
		return []any{}, nil
	}
	if p, ok := r.params[name]; ok {
		return p.resolved(), nil
	}
	res, ok := r.resources[name]
	if !ok {
		if v, ok, err := r.samDottedRef(name); ok {
			return v, err
		}
		return nil, fmt.Errorf("Ref %q: no such parameter or resource", name)
	}
	return r.refResource(name, res)
}

// samDottedRef resolves SAM's references to generated resources:
// !Ref MyApi.Stage, MyApi.Deployment, MyFunction.Alias, MyFunction.Version.
func (r *resolver) samDottedRef(name string) (any, bool, error) {
	id, attr, found := strings.Cut(name, ".")
	if !found {
		return nil, false, nil
	}
	res, ok := r.resources[id]
	if !ok {
		return nil, false, nil
	}
	switch res.typ {
	case "AWS::Serverless::Api", "AWS::Serverless::HttpApi":
		switch attr {
		case "Stage":
			stage, err := r.propString(id, "StageName")
			if stage == "" && err == nil {
				stage = "$default"
			}
			return stage, true, err
		case "Deployment":
			return localID("deployment/"+id, 6), true, nil
		}
	case "AWS::Serverless::Function":
		arn, err := r.arn(id)
		if err != nil {
			return nil, true, err
		}
		switch attr {
		case "Alias":
			alias, err := r.propString(id, "AutoPublishAlias")
			if alias == "" && err == nil {
				err = fmt.Errorf("Ref %q: the function has no AutoPublishAlias", name)
			}
			return arn + ":" + alias, true, err
		case "Version":
			return arn + ":1", true, nil
		}
	}
	return nil, true, fmt.Errorf("Ref %q: %s has no generated resource %q", name, res.typ, attr)
}

// sortedAttrs lists attribute names for error messages.
func sortedAttrs(m map[string]func() (any, error)) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
