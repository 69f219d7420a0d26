package asl

import (
	"context"
	"testing"
)

// BenchmarkRunTaskChain measures one execution of a small definition with
// Parameters, intrinsics, a lambda:invoke Task, ResultSelector, a Choice and
// a 4-item Map.
func BenchmarkRunTaskChain(b *testing.B) {
	def := `{"StartAt":"Prep","States":{
	  "Prep":{"Type":"Pass","Parameters":{"id.$":"States.Format('run-{}', $.n)","items.$":"States.ArrayRange(1, 4, 1)"},"Next":"Call"},
	  "Call":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload.$":"$"},
	    "ResultSelector":{"v.$":"$.Payload"},"ResultPath":"$.call","Retry":[{"ErrorEquals":["TransientError"]}],"Next":"Check"},
	  "Check":{"Type":"Choice","Choices":[{"Variable":"$.call.v.id","StringMatches":"run-*","Next":"Each"}],"Default":"Bad"},
	  "Each":{"Type":"Map","ItemsPath":"$.items","ItemSelector":{"i.$":"$$.Map.Item.Value"},
	    "ItemProcessor":{"StartAt":"Double","States":{"Double":{"Type":"Pass","Parameters":{"d.$":"States.MathAdd($.i, $.i)"},"End":true}}},"ResultPath":"$.doubled","End":true},
	  "Bad":{"Type":"Fail","Error":"Bad"}}}`
	sm, err := Parse([]byte(def))
	if err != nil {
		b.Fatal(err)
	}
	e := New(Config{Lambda: &fakeLambda{handler: func(_ string, p any) (any, error) { return p, nil }}})
	info := ExecutionInfo{ARN: "arn", Name: "n", Input: map[string]any{"n": int64(7)}}
	b.ReportAllocs()
	for b.Loop() {
		res := e.Run(context.Background(), sm, info, NewHistory(nil))
		if res.Status != StatusSucceeded {
			b.Fatalf("%s: %s", res.Error, res.Cause)
		}
	}
}
