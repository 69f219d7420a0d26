// Package statemachines holds the Step Functions definitions of the
// application (the *.asl.json files next to this file, which the SAM template
// references by DefinitionUri) and applies their DefinitionSubstitutions the
// way CloudFormation does, so the local cloud and the tests run exactly the
// definition that deploys.
package statemachines

import (
	"embed"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

//go:embed *.asl.json
var definitions embed.FS

// PipelineFile is the training pipeline's definition file, relative to the
// repository root as the template's DefinitionUri names it.
const PipelineFile = "statemachines/pipeline.asl.json"

// Pipeline returns the training pipeline's definition with its ${Name}
// placeholders not yet substituted.
func Pipeline() ([]byte, error) {
	return definitions.ReadFile(strings.TrimPrefix(PipelineFile, "statemachines/"))
}

// placeholder matches a DefinitionSubstitutions reference. CloudFormation
// substitutes ${Name} where Name is a key of DefinitionSubstitutions.
var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// Placeholders returns the sorted, distinct names of the ${Name} placeholders
// in def.
func Placeholders(def []byte) []string {
	seen := map[string]bool{}
	for _, m := range placeholder.FindAllSubmatch(def, -1) {
		seen[string(m[1])] = true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Substitute replaces every ${Name} placeholder in def with subs[Name]. It
// fails, naming them, when def uses a name subs does not define: deploying
// such a definition would leave a literal "${Name}" in a Task's resource.
// Values are inserted verbatim, as CloudFormation does, so they must not
// contain characters that need escaping in a JSON string.
func Substitute(def []byte, subs map[string]string) ([]byte, error) {
	var missing []string
	for _, name := range Placeholders(def) {
		if _, ok := subs[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("definition substitutions missing for %s", strings.Join(missing, ", "))
	}
	for name, v := range subs {
		if strings.ContainsAny(v, "\"\\\n") {
			return nil, fmt.Errorf("definition substitution %s: value %q needs JSON escaping", name, v)
		}
	}
	return placeholder.ReplaceAllFunc(def, func(m []byte) []byte {
		return []byte(subs[string(m[2:len(m)-1])])
	}), nil
}
