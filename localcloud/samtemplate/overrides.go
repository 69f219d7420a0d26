package samtemplate

import (
	"fmt"
	"strings"
)

// ParseParameterOverrides parses parameter overrides the way
// `sam --parameter-overrides` accepts them: space-separated `Key=Value`
// pairs or CloudFormation's `ParameterKey=Key,ParameterValue=Value`, with
// double quotes around values that contain spaces. Several arguments (a
// repeated flag) may be given.
func ParseParameterOverrides(args ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, arg := range args {
		tokens, err := splitQuoted(arg)
		if err != nil {
			return nil, fmt.Errorf("parameter overrides %q: %w", arg, err)
		}
		for _, tok := range tokens {
			key, value, err := parseOverride(tok)
			if err != nil {
				return nil, fmt.Errorf("parameter override %q: %w", tok, err)
			}
			out[key] = value
		}
	}
	return out, nil
}

func parseOverride(tok string) (string, string, error) {
	if strings.HasPrefix(tok, "ParameterKey=") {
		rest := strings.TrimPrefix(tok, "ParameterKey=")
		key, value, ok := strings.Cut(rest, ",ParameterValue=")
		if !ok || key == "" {
			return "", "", fmt.Errorf("want ParameterKey=KEY,ParameterValue=VALUE")
		}
		return key, value, nil
	}
	key, value, ok := strings.Cut(tok, "=")
	if !ok || key == "" {
		return "", "", fmt.Errorf("want KEY=VALUE")
	}
	return key, value, nil
}

// splitQuoted splits on unquoted whitespace and removes double quotes.
func splitQuoted(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQuote, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			have = true
		case !inQuote && (r == ' ' || r == '\t' || r == '\n'):
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unterminated double quote")
	}
	if have {
		out = append(out, cur.String())
	}
	return out, nil
}
