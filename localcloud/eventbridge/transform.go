package eventbridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// targetInput computes what a target receives: the event, the constant
// Input, the part of the event InputPath selects, or the InputTransformer's
// rendering.
func (s *Service) targetInput(rule string, t Target, raw []byte, decoded map[string]any, ingested time.Time) ([]byte, error) {
	switch {
	case t.Input != "":
		return []byte(t.Input), nil
	case t.InputPath != "":
		segs, err := parsePath(t.InputPath)
		if err != nil {
			return nil, err
		}
		v, ok := lookup(decoded, segs)
		if !ok {
			return []byte("null"), nil
		}
		return json.Marshal(v)
	case t.InputTransformer != nil:
		vars := map[string]any{}
		for name, p := range t.InputTransformer.InputPathsMap {
			segs, err := parsePath(p)
			if err != nil {
				return nil, fmt.Errorf("input path %q: %w", p, err)
			}
			if v, ok := lookup(decoded, segs); ok {
				vars[name] = v
			}
		}
		var whole any
		_ = json.Unmarshal(raw, &whole)
		vars["aws.events.rule-arn"] = s.RuleARN(rule)
		vars["aws.events.rule-name"] = rule
		vars["aws.events.event.ingestion-time"] = ingested.UTC().Format(time.RFC3339)
		vars["aws.events.event"] = string(raw)
		vars["aws.events.event.json"] = whole
		return renderTemplate(t.InputTransformer.InputTemplate, vars)
	}
	return raw, nil
}

var placeholderNameRE = regexp.MustCompile(`^[A-Za-z0-9_\-.]+$`)

func validateTransformer(it *InputTransformer) error {
	if it.InputTemplate == "" {
		return fmt.Errorf("InputTemplate is required")
	}
	if len(it.InputPathsMap) > 100 {
		return fmt.Errorf("InputPathsMap has more than 100 entries")
	}
	for name, p := range it.InputPathsMap {
		if !placeholderNameRE.MatchString(name) || strings.HasPrefix(name, "aws.") {
			return fmt.Errorf("InputPathsMap key %q is not allowed", name)
		}
		if _, err := parsePath(p); err != nil {
			return fmt.Errorf("InputPathsMap %q: %w", name, err)
		}
	}
	return nil
}

// renderTemplate substitutes <name> placeholders with AWS's quoting rules:
// inside a JSON string ("...<name>...") a string value is inserted as its
// text (JSON-escaped, no quotes) and any other value as its JSON; outside
// a string every value is inserted as JSON (strings get their quotes). A
// name without a value renders as null outside strings and as nothing
// inside. <...> that names no variable is left as is.
func renderTemplate(tmpl string, vars map[string]any) ([]byte, error) {
	var out bytes.Buffer
	inString := false
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		switch {
		case c == '\\' && inString && i+1 < len(tmpl):
			out.WriteByte(c)
			out.WriteByte(tmpl[i+1])
			i++
			continue
		case c == '"':
			inString = !inString
		case c == '<':
			end := strings.IndexByte(tmpl[i+1:], '>')
			if end > 0 {
				name := tmpl[i+1 : i+1+end]
				if placeholderNameRE.MatchString(name) {
					v, ok := vars[name]
					if err := writeValue(&out, v, ok, inString); err != nil {
						return nil, err
					}
					i += end + 1
					continue
				}
			}
		}
		out.WriteByte(c)
	}
	return out.Bytes(), nil
}

func writeValue(out *bytes.Buffer, v any, ok, inString bool) error {
	if !ok {
		if !inString {
			out.WriteString("null")
		}
		return nil
	}
	if str, isString := v.(string); isString && inString {
		b, err := json.Marshal(str)
		if err != nil {
			return fmt.Errorf("encode value: %w", err)
		}
		out.Write(b[1 : len(b)-1])
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode value: %w", err)
	}
	if inString {
		// Embedded JSON inside a string must stay a valid string.
		esc, _ := json.Marshal(string(b))
		b = esc[1 : len(esc)-1]
	}
	out.Write(b)
	return nil
}

// pathSeg is one step of a JSONPath: a field name or an array index.
type pathSeg struct {
	name  string
	index int
	isIdx bool
}

// parsePath parses the JSONPath subset EventBridge uses: $, .name,
// ['name'] / ["name"] and [n].
func parsePath(p string) ([]pathSeg, error) {
	if !strings.HasPrefix(p, "$") {
		return nil, fmt.Errorf("path %q must start with $", p)
	}
	var segs []pathSeg
	rest := p[1:]
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			n := strings.IndexAny(rest, ".[")
			if n < 0 {
				n = len(rest)
			}
			if n == 0 {
				return nil, fmt.Errorf("path %q has an empty field name", p)
			}
			segs = append(segs, pathSeg{name: rest[:n]})
			rest = rest[n:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("path %q has an unclosed [", p)
			}
			inner := rest[1:end]
			rest = rest[end+1:]
			if len(inner) >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[len(inner)-1] == inner[0] {
				segs = append(segs, pathSeg{name: inner[1 : len(inner)-1]})
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("path %q has an invalid index %q", p, inner)
			}
			segs = append(segs, pathSeg{index: n, isIdx: true})
		default:
			return nil, fmt.Errorf("path %q is not valid at %q", p, rest)
		}
	}
	return segs, nil
}

func lookup(v any, segs []pathSeg) (any, bool) {
	for _, s := range segs {
		if s.isIdx {
			arr, ok := v.([]any)
			if !ok || s.index >= len(arr) {
				return nil, false
			}
			v = arr[s.index]
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok = obj[s.name]
		if !ok {
			return nil, false
		}
	}
	return v, true
}
