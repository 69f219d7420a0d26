package guardrails

import (
	"fmt"
	"sort"
	"strings"
)

// Rule is one guardrail.
type Rule struct {
	// ID names the rule in findings and suppressions.
	ID string
	// Mirrors lists the public rules this one ports (checkov CKV_AWS_*,
	// cfn-nag W/F*, serverless-rules ES/WS*, Control Tower CT.*, AWS Config
	// identifiers). Empty when the rule is a project contract with no public
	// counterpart.
	Mirrors []string
	// Reason says in one line why the rule exists.
	Reason string
	// Check returns the violations in t.
	Check func(t *Template) []Finding
}

// Finding is one violation of a rule by one resource.
type Finding struct {
	Rule     string
	Resource string
	// Property is the path inside the resource, e.g. Properties.Tracing.
	Property string
	Message  string
}

// String renders the finding so that the resource, the property and the
// rule are all in one line of test output.
func (f Finding) String() string {
	return fmt.Sprintf("%s: %s.%s: %s", f.Rule, f.Resource, f.Property, f.Message)
}

// Suppression is a documented exception declared in a resource's
// Metadata.guardrails.suppress list.
type Suppression struct {
	Rule     string
	Resource string
	Reason   string
	// Suppressed lists the findings this suppression hid.
	Suppressed []Finding
}

// Report is the outcome of checking a template.
type Report struct {
	// Findings are the violations not suppressed.
	Findings []Finding
	// Suppressions are the exceptions in force, with what each one hid.
	Suppressions []Suppression
	// Errors are malformed or stale suppressions; they fail the check like
	// findings do.
	Errors []string
}

// OK reports whether the template passes.
func (r Report) OK() bool { return len(r.Findings) == 0 && len(r.Errors) == 0 }

// minReasonLen keeps "ok" or "todo" from passing as a justification.
const minReasonLen = 20

// Check runs rules over t and applies the suppressions declared in it.
func Check(t *Template, rules []Rule) Report {
	known := map[string]bool{}
	for _, r := range rules {
		known[r.ID] = true
	}
	var rep Report
	sups := map[string]*Suppression{} // resource + "\x00" + rule
	for _, res := range t.Sorted() {
		list := asList(asMap(asMap(res.Metadata)["guardrails"])["suppress"])
		for i, e := range list {
			m := asMap(e)
			id, _ := m["id"].(string)
			reason, _ := m["reason"].(string)
			where := fmt.Sprintf("%s.Metadata.guardrails.suppress[%d]", res.ID, i)
			switch {
			case id == "":
				rep.Errors = append(rep.Errors, where+": no id")
			case !known[id]:
				rep.Errors = append(rep.Errors, fmt.Sprintf("%s: unknown rule %q", where, id))
			case len(strings.TrimSpace(reason)) < minReasonLen:
				rep.Errors = append(rep.Errors, fmt.Sprintf("%s: rule %s needs a written reason (at least %d characters)", where, id, minReasonLen))
			default:
				sups[res.ID+"\x00"+id] = &Suppression{Rule: id, Resource: res.ID, Reason: reason}
			}
		}
	}
	for _, r := range rules {
		for _, f := range r.Check(t) {
			f.Rule = r.ID
			if s, ok := sups[f.Resource+"\x00"+r.ID]; ok {
				s.Suppressed = append(s.Suppressed, f)
				continue
			}
			rep.Findings = append(rep.Findings, f)
		}
	}
	keys := make([]string, 0, len(sups))
	for k := range sups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := sups[k]
		if len(s.Suppressed) == 0 {
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s: suppression of %s hides nothing; remove it", s.Resource, s.Rule))
			continue
		}
		rep.Suppressions = append(rep.Suppressions, *s)
	}
	return rep
}

// Rules returns every guardrail, in documentation order.
func Rules() []Rule {
	var all []Rule
	all = append(all, iamRules()...)
	all = append(all, dataRules()...)
	all = append(all, apiRules()...)
	all = append(all, functionRules()...)
	all = append(all, eventRules()...)
	all = append(all, stateMachineRules()...)
	all = append(all, wiringRules()...)
	return all
}

// finding is a shorthand for rule checks; Check fills in the rule id.
func finding(res, prop, format string, args ...any) Finding {
	return Finding{Resource: res, Property: prop, Message: fmt.Sprintf(format, args...)}
}
