// Package cfnyaml decodes CloudFormation and SAM templates written in YAML.
//
// CloudFormation's short-form intrinsics (!Ref, !Sub, !GetAtt, !If, ...) are
// YAML tags that a plain decoder drops or rejects. Decode turns each into its
// long form ({"Ref": ...}, {"Fn::Sub": ...}, {"Fn::GetAtt": [res, attr]}), so
// every consumer (the template guardrails, the local cloud) sees one shape:
// the same generic values encoding/json would produce from a JSON template.
package cfnyaml

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Decode parses a YAML (or JSON) template into generic values:
// map[string]any, []any, string, bool, int, float64 and nil.
func Decode(data []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("parse template: empty document")
	}
	v, err := convert(doc.Content[0])
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse template: top level is %T, want a mapping", v)
	}
	return m, nil
}

func convert(n *yaml.Node) (any, error) {
	if fn, ok := intrinsicName(n.Tag); ok {
		return convertIntrinsic(fn, n)
	}
	return convertPlain(n)
}

// intrinsicName maps a short-form tag to its long-form key.
func intrinsicName(tag string) (string, bool) {
	if !strings.HasPrefix(tag, "!") || strings.HasPrefix(tag, "!!") {
		return "", false
	}
	name := tag[1:]
	switch name {
	case "Ref", "Condition":
		return name, true
	}
	return "Fn::" + name, true
}

func convertIntrinsic(fn string, n *yaml.Node) (any, error) {
	// Decode the node as if untagged, then wrap it.
	plain := *n
	plain.Tag = ""
	if n.Kind == yaml.ScalarNode {
		plain.Tag = "!!str"
	}
	v, err := convertPlain(&plain)
	if err != nil {
		return nil, err
	}
	if fn == "Fn::GetAtt" {
		// !GetAtt Resource.Attribute is a string; the long form is a list.
		if s, ok := v.(string); ok {
			res, attr, found := strings.Cut(s, ".")
			if !found {
				return nil, fmt.Errorf("line %d: !GetAtt %q is not Resource.Attribute", n.Line, s)
			}
			v = []any{res, attr}
		}
	}
	return map[string]any{fn: v}, nil
}

func convertPlain(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return convert(n.Content[0])
	case yaml.AliasNode:
		return convert(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: mapping key is not a scalar", k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			v, err := convert(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := convert(c)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node kind %d", n.Line, n.Kind)
}
