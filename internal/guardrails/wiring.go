package guardrails

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlops/mlops/localcloud/eventpattern"
	"github.com/gomlops/mlops/localcloud/samtemplate"
)

// FixtureManifest is the file, relative to the events directory, that
// lists the fixtures of EventBridge-triggered functions that are meant NOT
// to match the function's rule (rejected cases), each with the reason.
// Every other events/<function>-*.json of such a function must match.
const FixtureManifest = "rule-matches.json"

// manifest is the shape of FixtureManifest.
type manifest struct {
	// NotMatching maps a fixture file name to why the rule must reject it.
	NotMatching map[string]string `json:"notMatching"`
}

// samGenerated are suffixes of the logical ids SAM derives from a resource
// (its role, its API stage, its alias, ...), which templates may reference.
var samGenerated = []string{"Role", "Stage", "Deployment", "Alias", "Version", "Policy", "Queue", "Topic", "UsagePlan", "ApiKey", "Permission"}

func wiringRules() []Rule {
	return []Rule{
		{
			ID:     "wiring-references",
			Reason: "Every Ref, GetAtt and Sub of a function's event sources, destinations and environment names something the template declares.",
			Check:  checkReferences,
		},
		{
			ID:     "event-fixtures",
			Reason: "The events/ fixtures of an EventBridge-triggered function match its rule (or are listed as rejected), so fixtures and rules cannot drift apart.",
			Check:  checkFixtures,
		},
	}
}

func checkReferences(t *Template) []Finding {
	known := func(id string) bool {
		if strings.HasPrefix(id, "AWS::") || t.Parameters[id] != nil || t.Resources[id] != nil {
			return true
		}
		if strings.HasPrefix(id, "ServerlessRestApi") || strings.HasPrefix(id, "ServerlessHttpApi") {
			return true
		}
		for rid, r := range t.Resources {
			// SAM names the rule, permission and queue of an event <Owner><Event>.
			for ev := range asMap(r.Properties["Events"]) {
				if id == rid+ev {
					return true
				}
			}
			if strings.HasPrefix(r.Type, "AWS::Serverless::") && strings.HasPrefix(id, rid) {
				for _, s := range samGenerated {
					if strings.Contains(id[len(rid):], s) {
						return true
					}
				}
			}
		}
		return false
	}
	var out []Finding
	for _, r := range t.Sorted() {
		for _, p := range sortedKeys(r.Properties) {
			seen := map[string]bool{}
			for _, id := range references(r.Properties[p]) {
				if !seen[id] && !known(id) {
					seen[id] = true
					out = append(out, finding(r.ID, "Properties."+p, "refers to %s, which the template does not declare", id))
				}
			}
		}
	}
	return out
}

// fixtureStackName is the stack the events/ fixtures describe: the dev
// stack of samconfig.toml ([dev.deploy.parameters] stack_name), so names
// derived from AWS::StackName (alarm names, ...) resolve as in the
// fixtures. Without a samconfig.toml it is the local cloud's default.
func fixtureStackName(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "samconfig.toml"))
	if err != nil {
		return samtemplate.DefaultStackName
	}
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			section = line
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok && section == "[dev.deploy.parameters]" && strings.TrimSpace(k) == "stack_name" {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return samtemplate.DefaultStackName
}

// ebFunction is a function triggered by EventBridge rules with patterns.
type ebFunction struct {
	id       string
	patterns []*eventpattern.Pattern
}

func checkFixtures(t *Template) []Finding {
	if t.Raw == nil {
		return nil
	}
	data, err := json.Marshal(t.Raw)
	if err != nil {
		return []Finding{finding("Template", "Resources", "encode template: %v", err)}
	}
	st, err := samtemplate.Parse(data, samtemplate.Options{StackName: fixtureStackName(t.Dir)})
	if err != nil {
		return []Finding{finding("Template", "Resources", "the local cloud cannot load the template to resolve rule patterns: %v", err)}
	}
	rules, err := st.Rules()
	if err != nil {
		return []Finding{finding("Template", "Resources", "read EventBridge rules: %v", err)}
	}
	var out []Finding
	fns := map[string]*ebFunction{}
	for _, fn := range t.Functions() {
		for _, r := range rules {
			if r.Pattern == nil {
				continue
			}
			for _, tg := range r.Targets {
				if tg.ARN != st.ARN(fn.ID) {
					continue
				}
				p, err := eventpattern.Compile(r.Pattern)
				if err != nil {
					out = append(out, finding(fn.ID, "Events", "rule %s: %v", r.LogicalID, err))
					continue
				}
				if fns[fn.ID] == nil {
					fns[fn.ID] = &ebFunction{id: fn.ID}
				}
				fns[fn.ID].patterns = append(fns[fn.ID].patterns, p)
			}
		}
	}
	dir := filepath.Join(t.Dir, "events")
	var man manifest
	manPath := filepath.Join(dir, FixtureManifest)
	if b, err := os.ReadFile(manPath); err == nil {
		if err := json.Unmarshal(b, &man); err != nil {
			return append(out, finding("Template", "events/"+FixtureManifest, "parse: %v", err))
		}
	} else if !os.IsNotExist(err) {
		return append(out, finding("Template", "events/"+FixtureManifest, "read: %v", err))
	}
	for _, name := range sortedKeys(man.NotMatching) {
		if len(strings.TrimSpace(man.NotMatching[name])) < minReasonLen {
			out = append(out, finding("Template", "events/"+FixtureManifest, "%s: give the reason the rule rejects it (at least %d characters)", name, minReasonLen))
		}
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			out = append(out, finding("Template", "events/"+FixtureManifest, "lists %s, which does not exist", name))
		}
	}
	ids := make([]string, 0, len(fns))
	for id := range fns {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fn := fns[id]
		files, _ := filepath.Glob(filepath.Join(dir, functionName(id)+"-*.json"))
		sort.Strings(files)
		for _, f := range files {
			base := filepath.Base(f)
			b, err := os.ReadFile(f)
			if err != nil {
				out = append(out, finding(id, "events/"+base, "read: %v", err))
				continue
			}
			matched := false
			for _, p := range fn.patterns {
				ok, err := p.Match(b)
				if err != nil {
					out = append(out, finding(id, "events/"+base, "not an event: %v", err))
					break
				}
				matched = matched || ok
			}
			_, rejected := man.NotMatching[base]
			switch {
			case rejected && matched:
				out = append(out, finding(id, "events/"+base, "listed as rejected in events/%s but the rule matches it", FixtureManifest))
			case !rejected && !matched:
				out = append(out, finding(id, "events/"+base, "the function's EventBridge rule does not match this fixture (list it in events/%s if it is a rejected case)", FixtureManifest))
			}
		}
	}
	return out
}
