package asl

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Golden tests written from the worked examples of the AWS Step Functions
// Developer Guide. Each case cites the page it comes from; the expected
// outputs are AWS's documented results.

const fnARN = "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction"

// echoGreeting is the "Hello, <who>!" Lambda of the input/output examples.
func echoGreeting(_ string, payload any) (any, error) {
	m, _ := payload.(map[string]any)
	return fmt.Sprintf("Hello, %v!", m["who"]), nil
}

type golden struct {
	name   string
	def    string
	input  string
	want   string
	lambda func(string, any) (any, error)
	sdk    func(string, string, any) (any, error)
}

func runGolden(t *testing.T, tests []golden) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{}
			if tt.lambda != nil {
				cfg.Lambda = &fakeLambda{handler: tt.lambda}
			}
			if tt.sdk != nil {
				cfg.SDK = &fakeSDK{handler: tt.sdk}
			}
			res, h := runManual(t, cfg, tt.def, tt.input)
			require.Equal(t, StatusSucceeded, res.Status, "error %s: %s; events %v", res.Error, res.Cause, eventTypes(h))
			assert.JSONEq(t, tt.want, mustJSON(res.Output))
		})
	}
}

func TestGoldenInputOutputProcessing(t *testing.T) {
	runGolden(t, []golden{
		{
			// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-example.html
			name: "manipulating state data with paths: InputPath, ResultPath, OutputPath",
			def: `{"StartAt":"HelloWorld","States":{"HelloWorld":{"Type":"Task","Resource":"` + fnARN + `",
				"InputPath":"$.lambda","ResultPath":"$.data.lambdaresult","OutputPath":"$.data","End":true}}}`,
			input:  `{"comment":"An input comment.","data":{"val1":23,"val2":17},"extra":"foo","lambda":{"who":"AWS Step Functions"}}`,
			want:   `{"val1":23,"val2":17,"lambdaresult":"Hello, AWS Step Functions!"}`,
			lambda: echoGreeting,
		},
		{
			// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html (InputPath)
			name:  "InputPath selects a portion of the input",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.dataset2","End":true}}}`,
			input: `{"comment":"Example for InputPath.","dataset1":{"val1":1,"val2":2,"val3":3},"dataset2":{"val1":"a","val2":"b","val3":"c"}}`,
			want:  `{"val1":"a","val2":"b","val3":"c"}`,
		},
		{
			// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html (a path can yield an array)
			name:  "InputPath slice yields an array",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.a[0:2]","End":true}}}`,
			input: `{"a":[1,2,3,4]}`,
			want:  `[1,2]`,
		},
		{
			// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html (Parameters key-value pairs)
			name: "Parameters with static values and paths",
			def: `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"comment":"Selecting what I care about.",
				"MyDetails":{"size.$":"$.product.details.size","exists.$":"$.product.availability","StaticValue":"foo"}},"End":true}}}`,
			input: `{"comment":"Example for Parameters.","product":{"details":{"color":"blue","size":"small","material":"cotton"},"availability":"in stock","sku":"2317","cost":"$23"}}`,
			want:  `{"comment":"Selecting what I care about.","MyDetails":{"size":"small","exists":"in stock","StaticValue":"foo"}}`,
		},
		{
			// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html (ResultSelector)
			name: "ResultSelector picks fields of the raw result",
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:emr:createCluster",
				"ResultSelector":{"ClusterId.$":"$.output.ClusterId","ResourceType.$":"$.resourceType"},"End":true}}}`,
			input: `{}`,
			sdk: func(string, string, any) (any, error) {
				return mustDecodeAny(`{"resourceType":"elasticmapreduce","resource":"createCluster.sync","output":{"SdkHttpMetadata":{"HttpStatusCode":200},"SdkResponseMetadata":{"RequestId":"1234-5678-9012"},"ClusterId":"AKIAIOSFODNN7EXAMPLE"}}`), nil
			},
			want: `{"ClusterId":"AKIAIOSFODNN7EXAMPLE","ResourceType":"elasticmapreduce"}`,
		},
		{
			// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html (replace input with result)
			name:   "ResultPath $ replaces the input with the result",
			def:    `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `","ResultPath":"$","End":true}}}`,
			input:  `{"comment":"This is a test of the input and output of a Task state.","details":"Default example","who":"AWS Step Functions"}`,
			want:   `"Hello, AWS Step Functions!"`,
			lambda: echoGreeting,
		},
		{
			// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html (discard result, keep input)
			name:   "ResultPath null keeps the original input",
			def:    `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `","ResultPath":null,"End":true}}}`,
			input:  `{"comment":"This is a test of the input and output of a Task state.","details":"Default example","who":"AWS Step Functions"}`,
			want:   `{"comment":"This is a test of the input and output of a Task state.","details":"Default example","who":"AWS Step Functions"}`,
			lambda: echoGreeting,
		},
		{
			// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html (include result with input)
			name:   "ResultPath adds the result to the input",
			def:    `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `","ResultPath":"$.taskresult","End":true}}}`,
			input:  `{"comment":"This is a test of the input and output of a Task state.","details":"Default example","who":"AWS Step Functions"}`,
			want:   `{"comment":"This is a test of the input and output of a Task state.","details":"Default example","who":"AWS Step Functions","taskresult":"Hello, AWS Step Functions!"}`,
			lambda: echoGreeting,
		},
		{
			// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html (update a node in the input)
			name:   "ResultPath overwrites an existing node",
			def:    `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `","ResultPath":"$.comment","End":true}}}`,
			input:  `{"comment":"This is a test of the input and output of a Task state.","details":"Default example","who":"AWS Step Functions"}`,
			want:   `{"comment":"Hello, AWS Step Functions!","details":"Default example","who":"AWS Step Functions"}`,
			lambda: echoGreeting,
		},
		{
			// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html
			name: "context object fields in Parameters",
			def: `{"StartAt":"Get execution context data","States":{"Get execution context data":{"Type":"Pass",
				"Parameters":{"salesRep.$":"$.name","customer.$":"$$.Execution.Input.customer","execId.$":"$$.Execution.Id","state.$":"$$.State.Name","retry.$":"$$.State.RetryCount","sm.$":"$$.StateMachine.Name","start.$":"$$.Execution.StartTime"},"End":true}}}`,
			input: `{"name":"Jane","customer":"Acme"}`,
			want: `{"salesRep":"Jane","customer":"Acme","execId":"arn:aws:states:us-east-1:123456789012:execution:sm:ex",
				"state":"Get execution context data","retry":0,"sm":"sm","start":"2026-11-25T09:00:00.000Z"}`,
		},
		{
			// https://docs.aws.amazon.com/step-functions/latest/dg/state-pass.html
			name: "Pass Result with ResultPath",
			def: `{"StartAt":"No-op","States":{"No-op":{"Type":"Pass","Result":{"x-datum":0.381018,"y-datum":622.2269926397355},
				"ResultPath":"$.coords","End":true}}}`,
			input: `{"georefOf":"Home"}`,
			want:  `{"georefOf":"Home","coords":{"x-datum":0.381018,"y-datum":622.2269926397355}}`,
		},
		{
			// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html (OutputPath null and InputPath null)
			name:  "InputPath and OutputPath null give an empty object",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":null,"Next":"Q"},"Q":{"Type":"Pass","Result":1,"OutputPath":null,"End":true}}}`,
			input: `{"a":1}`,
			want:  `{}`,
		},
	})
}

func mustDecodeAny(s string) any {
	v, err := DecodeJSON([]byte(s))
	if err != nil {
		panic(err) // test fixture literals only
	}
	return v
}

func TestGoldenIntrinsics(t *testing.T) {
	// Every case comes from
	// https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
	sum := sha1.Sum([]byte("input data"))
	pass := func(params string) string {
		return `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":` + params + `,"End":true}}}`
	}
	runGolden(t, []golden{
		{name: "States.Array", def: pass(`{"BuildId.$":"States.Array($.Id)"}`), input: `{"Id":123456}`, want: `{"BuildId":[123456]}`},
		{name: "States.ArrayPartition", def: pass(`{"inputArray.$":"States.ArrayPartition($.inputArray,4)"}`),
			input: `{"inputArray":[1,2,3,4,5,6,7,8,9]}`, want: `{"inputArray":[[1,2,3,4],[5,6,7,8],[9]]}`},
		{name: "States.ArrayContains", def: pass(`{"containsElement.$":"States.ArrayContains($.inputArray, $.lookingFor)"}`),
			input: `{"inputArray":[1,2,3,4,5,6,7,8,9],"lookingFor":5}`, want: `{"containsElement":true}`},
		{name: "States.ArrayRange", def: pass(`{"array.$":"States.ArrayRange(1, 9, 2)"}`), input: `{}`, want: `{"array":[1,3,5,7,9]}`},
		{name: "States.ArrayGetItem", def: pass(`{"item.$":"States.ArrayGetItem($.inputArray, $.index)"}`),
			input: `{"inputArray":[1,2,3,4,5,6,7,8,9],"index":5}`, want: `{"item":6}`},
		{name: "States.ArrayLength", def: pass(`{"length.$":"States.ArrayLength($.inputArray)"}`),
			input: `{"inputArray":[1,2,3,4,5,6,7,8,9]}`, want: `{"length":9}`},
		{name: "States.ArrayUnique", def: pass(`{"unique.$":"States.ArrayUnique($.inputArray)"}`),
			input: `{"inputArray":[1,2,3,3,3,3,3,3,4]}`, want: `{"unique":[1,2,3,4]}`},
		{name: "States.Base64Encode", def: pass(`{"base64.$":"States.Base64Encode($.input)"}`),
			input: `{"input":"Data to encode"}`, want: `{"base64":"RGF0YSB0byBlbmNvZGU="}`},
		{name: "States.Base64Decode", def: pass(`{"data.$":"States.Base64Decode($.base64)"}`),
			input: `{"base64":"RGF0YSB0byBlbmNvZGU="}`, want: `{"data":"Data to encode"}`},
		{name: "States.Hash", def: pass(`{"output.$":"States.Hash($.Data, $.Algorithm)"}`),
			input: `{"Data":"input data","Algorithm":"SHA-1"}`, want: `{"output":"` + hex.EncodeToString(sum[:]) + `"}`},
		{name: "States.JsonMerge", def: pass(`{"output.$":"States.JsonMerge($.json1, $.json2, false)"}`),
			input: `{"json1":{"a":{"a1":1,"a2":2},"b":2},"json2":{"a":{"a3":1,"a4":2},"c":3}}`,
			want:  `{"output":{"a":{"a3":1,"a4":2},"b":2,"c":3}}`},
		{name: "States.StringToJson", def: pass(`{"output.$":"States.StringToJson($.escapedJsonString)"}`),
			input: `{"escapedJsonString":"{\"foo\": \"bar\"}"}`, want: `{"output":{"foo":"bar"}}`},
		{name: "States.JsonToString", def: pass(`{"output.$":"States.JsonToString($.unescapedJson)"}`),
			input: `{"unescapedJson":{"foo":"bar"}}`, want: `{"output":"{\"foo\":\"bar\"}"}`},
		{name: "States.MathAdd", def: pass(`{"value1.$":"States.MathAdd($.value1, $.step)"}`),
			input: `{"value1":111,"step":-1}`, want: `{"value1":110}`},
		{name: "States.MathRandom", def: pass(`{"random.$":"States.MathRandom($.start, $.end)"}`),
			input: `{"start":1,"end":999}`, want: `{"random":500}`}, // Random() is 0.5 in tests: 1 + floor(0.5*998)
		{name: "States.StringSplit", def: pass(`{"array.$":"States.StringSplit($.inputString, $.splitter)"}`),
			input: `{"inputString":"1,2,3,4,5","splitter":","}`, want: `{"array":["1","2","3","4","5"]}`},
		{name: "States.StringSplit with several delimiters", def: pass(`{"array.$":"States.StringSplit($.inputString, $.splitter)"}`),
			input: `{"inputString":"This.is+a,test=string","splitter":".+,="}`, want: `{"array":["This","is","a","test","string"]}`},
		{name: "States.UUID", def: pass(`{"uuid.$":"States.UUID()"}`), input: `{}`, want: `{"uuid":"00000000-0000-4000-8000-000000000001"}`},
		{name: "States.Format", def: pass(`{"greeting.$":"States.Format('Hello, my name is {}.', $.name)"}`),
			input: `{"name":"Arnav"}`, want: `{"greeting":"Hello, my name is Arnav."}`},
		{name: "States.Format with escaped braces and numbers", def: pass(`{"s.$":"States.Format('\\{{}\\} {} {}', $.a, 2, true)"}`),
			input: `{"a":"x"}`, want: `{"s":"{x} 2 true"}`},
		{name: "nested intrinsics split an ARN", def: pass(`{"myArn.$":"States.Format('{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))"}`),
			input: `{"ImageRecipe":{"Arn":"arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/r/1.2.3"}}`, want: `{"myArn":"1.2"}`},
		{name: "intrinsic reading the context object", def: pass(`{"s.$":"States.Format('Today is {}', $$.Execution.StartTime)"}`),
			input: `{}`, want: `{"s":"Today is 2026-11-25T09:00:00.000Z"}`},
	})
}

func TestIntrinsicFailures(t *testing.T) {
	tests := []struct {
		name, expr, input, wantCause string
	}{
		{"partition size zero", "States.ArrayPartition($.a, 0)", `{"a":[1]}`, "chunk size"},
		{"get item out of range", "States.ArrayGetItem($.a, 3)", `{"a":[1]}`, "out of range"},
		{"format placeholders mismatch", "States.Format('{} {}', $.a)", `{"a":"x"}`, "placeholders"},
		{"string to json invalid", "States.StringToJson($.a)", `{"a":"{nope"}`, "not valid JSON"},
		{"hash unknown algorithm", "States.Hash($.a, 'SHA-3')", `{"a":"x"}`, "unsupported algorithm"},
		{"json merge deep", "States.JsonMerge($.a, $.a, true)", `{"a":{}}`, "deep merge"},
		{"math add not integers", "States.MathAdd($.a, 1)", `{"a":"x"}`, "integers"},
		{"range too big", "States.ArrayRange(1, 5000, 1)", `{}`, "1000"},
		{"base64 decode invalid", "States.Base64Decode($.a)", `{"a":"%%%"}`, "base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"v.$":"` + tt.expr + `"},"End":true}}}`
			res, _ := runManual(t, Config{}, def, tt.input)
			require.Equal(t, StatusFailed, res.Status)
			assert.Equal(t, ErrIntrinsicFailure, res.Error)
			assert.Contains(t, res.Cause, tt.wantCause)
		})
	}
}
