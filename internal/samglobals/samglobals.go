// Package samglobals applies a SAM template's Globals section to its
// resources the way the SAM translator does, so that the template
// guardrails and the local cloud see the same properties a deployment gets.
//
// SAM's rules (samtranslator/plugins/globals): each Globals section applies
// to one resource type; a resource's own value is merged over the global
// one: mappings merge key by key, lists concatenate (globals first), and any
// other value set on the resource wins, including null and including an
// intrinsic function (which resolves to a single value, so it is never
// merged into).
package samglobals

import "github.com/gomlops/mlops/internal/cfnyaml"

// sections maps each Globals section SAM defines to the resource type it
// applies to.
var sections = map[string]string{
	"Function":     "AWS::Serverless::Function",
	"Api":          "AWS::Serverless::Api",
	"HttpApi":      "AWS::Serverless::HttpApi",
	"SimpleTable":  "AWS::Serverless::SimpleTable",
	"StateMachine": "AWS::Serverless::StateMachine",
	"LayerVersion": "AWS::Serverless::LayerVersion",
}

// Target returns the resource type the Globals section applies to; false
// for a section SAM does not define.
func Target(section string) (string, bool) {
	t, ok := sections[section]
	return t, ok
}

// Section returns the Globals section that applies to resourceType; false
// when none does.
func Section(resourceType string) (string, bool) {
	for s, t := range sections {
		if t == resourceType {
			return s, true
		}
	}
	return "", false
}

// Merge returns the properties of a resource with the Globals section
// global applied to its own properties local. Neither argument is changed,
// and the result shares no mapping or list with them. A nil local (a
// resource without Properties) gets a copy of global.
func Merge(global, local map[string]any) map[string]any {
	out, _ := cfnyaml.DeepCopy(global).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	for k, lv := range local {
		gv, ok := out[k]
		if !ok {
			out[k] = cfnyaml.DeepCopy(lv)
			continue
		}
		out[k] = merge(gv, lv)
	}
	return out
}

// merge merges local over g, a value already copied from the globals.
func merge(g, local any) any {
	gm, gIsMap := g.(map[string]any)
	lm, lIsMap := local.(map[string]any)
	if gIsMap && lIsMap && !cfnyaml.IsIntrinsic(gm) && !cfnyaml.IsIntrinsic(lm) {
		for k, lv := range lm {
			if gv, ok := gm[k]; ok {
				gm[k] = merge(gv, lv)
			} else {
				gm[k] = cfnyaml.DeepCopy(lv)
			}
		}
		return gm
	}
	gl, gIsList := g.([]any)
	ll, lIsList := local.([]any)
	if gIsList && lIsList {
		return append(gl, cfnyaml.DeepCopy(ll).([]any)...)
	}
	return cfnyaml.DeepCopy(local)
}
