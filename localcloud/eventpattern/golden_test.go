package eventpattern

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Pages of the EventBridge User Guide the golden cases come from.
const (
	pagePatterns = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html"
	pageContent  = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html"
	pageArrays   = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html"
	pageNull     = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html"
)

// ec2Event is the EC2 state-change event the event-patterns page uses.
const ec2Event = `{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "111122223333",
  "time": "2017-12-22T18:43:48Z",
  "region": "us-west-1",
  "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"}
}`

// withDetail returns an event whose detail (and extra top-level fields) are
// the given JSON object members.
func withDetail(detail string) string {
	return `{"version":"0","id":"1","detail-type":"t","source":"s","account":"111122223333","time":"2017-10-02T18:43:48Z","region":"us-east-1","resources":[],"detail":` + detail + `}`
}

func TestGoldenDocumentationExamples(t *testing.T) {
	tests := []struct {
		name    string
		page    string
		pattern string
		event   string
		want    bool
	}{
		{"ec2 termination selected", pagePatterns,
			`{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":["terminated"]}}`, ec2Event, true},
		{"ec2 other state not selected", pagePatterns,
			`{"source":["aws.ec2"],"detail":{"state":["running"]}}`, ec2Event, false},
		{"fields absent from the pattern are ignored", pagePatterns,
			`{"source":["aws.ec2"]}`, ec2Event, true},
		{"values compared exactly, case-sensitive", pagePatterns,
			`{"source":["AWS.EC2"]}`, ec2Event, false},
		{"arrays: intersection with event array", pageArrays,
			`{"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f","arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f","arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]}`,
			`{"resources":["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate","arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}`, true},
		{"arrays: empty intersection", pageArrays,
			`{"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}`,
			`{"resources":["arn:aws:ec2:us-east-1:999999999999:instance/i-b188560f"]}`, false},
		{"prefix", pageContent, `{"time":[{"prefix":"2017-10-02"}]}`, withDetail(`{}`), true},
		{"prefix miss", pageContent, `{"time":[{"prefix":"2017-10-03"}]}`, withDetail(`{}`), false},
		{"prefix ignoring case", pageContent, `{"detail":{"service":[{"prefix":{"equals-ignore-case":"EventB"}}]}}`, withDetail(`{"service":"eventbridge"}`), true},
		{"suffix", pageContent, `{"FileName":[{"suffix":".png"}]}`, `{"FileName":"image.png"}`, true},
		{"suffix is case-sensitive", pageContent, `{"FileName":[{"suffix":".png"}]}`, `{"FileName":"image.PNG"}`, false},
		{"suffix ignoring case", pageContent, `{"detail":{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}}`, withDetail(`{"FileName":"image.PNG"}`), true},
		{"anything-but string", pageContent, `{"detail":{"state":[{"anything-but":"initializing"}]}}`, withDetail(`{"state":"running"}`), true},
		{"anything-but string excluded", pageContent, `{"detail":{"state":[{"anything-but":"initializing"}]}}`, withDetail(`{"state":"initializing"}`), false},
		{"anything-but number", pageContent, `{"detail":{"x-limit":[{"anything-but":123}]}}`, withDetail(`{"x-limit":123}`), false},
		{"anything-but string list", pageContent, `{"detail":{"state":[{"anything-but":["stopped","overloaded"]}]}}`, withDetail(`{"state":"overloaded"}`), false},
		{"anything-but number list", pageContent, `{"detail":{"x-limit":[{"anything-but":[100,200,300]}]}}`, withDetail(`{"x-limit":250}`), true},
		{"anything-but prefix", pageContent, `{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}`, withDetail(`{"state":"initializing"}`), false},
		{"anything-but suffix", pageContent, `{"detail":{"FileName":[{"anything-but":{"suffix":".txt"}}]}}`, withDetail(`{"FileName":"notes.csv"}`), true},
		{"anything-but equals-ignore-case", pageContent, `{"detail":{"state":[{"anything-but":{"equals-ignore-case":["Stopped","OverLoaded"]}}]}}`, withDetail(`{"state":"STOPPED"}`), false},
		{"anything-but wildcard", pageContent, `{"detail":{"FilePath":[{"anything-but":{"wildcard":"*/dir/*"}}]}}`, withDetail(`{"FilePath":"/user/dir/file.txt"}`), false},
		{"numeric ranges", pageContent,
			`{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"numeric":["=",3.018e2]}]}}`,
			withDetail(`{"c-count":5,"d-count":7,"x-limit":301.8}`), true},
		{"numeric upper bound exclusive", pageContent, `{"detail":{"d-count":[{"numeric":["<",10]}]}}`, withDetail(`{"d-count":10}`), false},
		{"numeric ignores strings", pageContent, `{"detail":{"c-count":[{"numeric":[">",0]}]}}`, withDetail(`{"c-count":"5"}`), false},
		{"cidr ipv4", pageContent, `{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/24"}]}}`, withDetail(`{"sourceIPAddress":"10.0.0.255"}`), true},
		{"cidr ipv4 outside", pageContent, `{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/24"}]}}`, withDetail(`{"sourceIPAddress":"10.0.1.1"}`), false},
		{"cidr ipv6", pageContent, `{"detail":{"sourceIPAddress":[{"cidr":"2001:db8:1234:1a00::/64"}]}}`, withDetail(`{"sourceIPAddress":"2001:db8:1234:1a00::5"}`), true},
		{"exists true", pageContent, `{"detail":{"state":[{"exists":true}]}}`, ec2Event, true},
		{"exists false on a present field", pageContent, `{"detail":{"state":[{"exists":false}]}}`, ec2Event, false},
		{"exists false on an absent field", pageContent, `{"detail":{"c-count":[{"exists":false}]}}`, ec2Event, true},
		{"equals-ignore-case", pageContent, `{"detail-type":[{"equals-ignore-case":"ec2 instance state-change notification"}]}`, ec2Event, true},
		{"wildcard", pageContent, `{"EventBusArn":[{"wildcard":"arn:aws:events:us-east-1:*:event-bus/*"}]}`, `{"EventBusArn":"arn:aws:events:us-east-1:123456789012:event-bus/default"}`, true},
		{"wildcard miss", pageContent, `{"detail":{"FilePath":[{"wildcard":"dir/*.png"}]}}`, withDetail(`{"FilePath":"dir/a.jpg"}`), false},
		{"wildcard escaped star", pageContent, `{"detail":{"Name":[{"wildcard":"a\\*b"}]}}`, withDetail(`{"Name":"a*b"}`), true},
		{"wildcard escaped star is literal", pageContent, `{"detail":{"Name":[{"wildcard":"a\\*b"}]}}`, withDetail(`{"Name":"axxb"}`), false},
		{"$or any branch", pageContent,
			`{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",10]}]},{"x-limit":[{"numeric":["=",3.018e2]}]}]}}`,
			withDetail(`{"c-count":0,"d-count":12,"x-limit":301.8}`), true},
		{"$or no branch", pageContent,
			`{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",10]}]}]}}`,
			withDetail(`{"c-count":0,"d-count":12}`), false},
		{"$or across levels", pageContent,
			`{"source":["aws.ec2"],"$or":[{"detail-type":["nope"]},{"detail":{"state":["terminated"]}}]}`, ec2Event, true},
		{"null matches null", pageNull, `{"detail":{"responseElements":[null]}}`, withDetail(`{"responseElements":null}`), true},
		{"null does not match absence", pageNull, `{"detail":{"responseElements":[null]}}`, withDetail(`{}`), false},
		{"empty string", pageNull, `{"detail":{"eventVersion":[""]}}`, withDetail(`{"eventVersion":""}`), true},
		{"empty string is not null", pageNull, `{"detail":{"eventVersion":[""]}}`, withDetail(`{"eventVersion":null}`), false},
		{"numbers compare by value", pageContent, `{"detail":{"x":[300]}}`, withDetail(`{"x":300.0}`), true},
		{"array of objects in event", pageArrays, `{"detail":{"items":{"id":["b"]}}}`, withDetail(`{"items":[{"id":"a"},{"id":"b"}]}`), true},
		{"multiple matching on one field", pageContent, `{"detail":{"x":[{"numeric":[">",100]},"low"]}}`, withDetail(`{"x":"low"}`), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile([]byte(tt.pattern))
			require.NoError(t, err, "pattern from %s", tt.page)
			got, err := p.Match([]byte(tt.event))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, "example from %s", tt.page)
		})
	}
}

func TestCompileRejectsInvalidPatterns(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		reason  string
	}{
		{"not json", `{"source":`, "not valid JSON"},
		{"not an object", `["aws.s3"]`, "not an object"},
		{"scalar field", `{"source":"aws.s3"}`, `"source" must be an object or an array`},
		{"empty array", `{"resources":[]}`, "Empty arrays are not allowed"},
		{"nested array", `{"source":[["a"]]}`, "Match value must be"},
		{"unknown operator", `{"x":[{"NUMERIC":["=",5]}]}`, "Unrecognized match type NUMERIC"},
		{"two operators", `{"x":[{"prefix":"a","suffix":"b"}]}`, "Only one key"},
		{"prefix number", `{"time":[{"prefix":123}]}`, "prefix match pattern must be a string"},
		{"suffix list", `{"f":[{"suffix":[".png"]}]}`, "suffix match pattern must be a string"},
		{"numeric two lower bounds", `{"c":[{"numeric":[">",0,">",0]}]}`, "Too many numeric range lower bounds"},
		{"numeric dangling operator", `{"c":[{"numeric":[">",0,"<"]}]}`, "operator/number pairs"},
		{"numeric bottom above top", `{"c":[{"numeric":[">",10,"<",5]}]}`, "Bottom must be less than top"},
		{"numeric string operand", `{"c":[{"numeric":[">","5"]}]}`, "must be numeric"},
		{"exists not bool", `{"c":[{"exists":"yes"}]}`, "either true or false"},
		{"cidr malformed", `{"ip":[{"cidr":"bad-/64filter"}]}`, "Nonstandard IP address"},
		{"cidr list", `{"ip":[{"cidr":["10.0.0.0/8"]}]}`, "must be a string"},
		{"anything-but null", `{"s":[{"anything-but":null}]}`, "anything-but"},
		{"anything-but mixed list", `{"s":[{"anything-but":["a",1]}]}`, "mixed types"},
		{"anything-but prefix ignore case", `{"s":[{"anything-but":{"prefix":{"equals-ignore-case":"file"}}}]}`, "anything-but/prefix"},
		{"anything-but empty suffix", `{"s":[{"anything-but":{"suffix":""}}]}`, "Null suffix"},
		{"anything-but unknown", `{"s":[{"anything-but":{"numeric":[">",1]}}]}`, "Unsupported anything-but pattern"},
		{"wildcard number", `{"a":[{"wildcard":123}]}`, "wildcard match pattern must be a string"},
		{"wildcard consecutive stars", `{"a":[{"wildcard":"a**b"}]}`, "Consecutive wildcard characters"},
		{"wildcard too complex", `{"a":[{"wildcard":"*:*:*:*:*:event-bus/*"}]}`, "Rule is too complex"},
		{"wildcard bad escape", `{"a":[{"wildcard":"a\\b"}]}`, "Invalid escape character"},
		{"$or with one branch", `{"$or":[{"a":["b"]}]}`, "at least two"},
		{"$or not array", `{"$or":{"a":["b"]}}`, "array of objects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile([]byte(tt.pattern))
			var perr *Error
			require.ErrorAs(t, err, &perr)
			assert.Contains(t, err.Error(), "Event pattern is not valid. Reason: ")
			assert.Contains(t, perr.Reason, tt.reason)
		})
	}
}

func TestMatchRejectsMalformedEvents(t *testing.T) {
	p := MustCompile(`{"source":["a"]}`)
	for _, ev := range []string{``, `[1]`, `{"source":`, `"x"`} {
		_, err := p.Match([]byte(ev))
		assert.Error(t, err, "event %q", ev)
	}
}

func TestMatchDoesNotMutateEvent(t *testing.T) {
	p := MustCompile(`{"a":{"b":["x"]}}`)
	ev := map[string]any{"a.b": "x", "a": map[string]any{"c": "y"}}
	before, err := json.Marshal(ev)
	require.NoError(t, err)
	assert.True(t, p.MatchValue(ev))
	after, err := json.Marshal(ev)
	require.NoError(t, err)
	assert.JSONEq(t, string(before), string(after))
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*.png", "a.png", true},
		{"*.png", "a.png.jpg", false},
		{"*Title*", "MyTitleHere", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{`a\\b`, `a\b`, true},
		{"", "", true},
		{"", "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.s, func(t *testing.T) {
			assert.Equal(t, tt.want, wildcardMatch(tt.pattern, tt.s))
		})
	}
}
