package naming

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

var (
	executionRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,80}$`)
	sageMakerRE = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)
)

func TestExecutionIsDeterministicAndValid(t *testing.T) {
	base := ObjectIdentity{Bucket: "raw", Key: "raw/2026/11/iris data.csv", VersionID: "v1", Sequencer: "0062A1"}
	tests := []struct {
		name       string
		obj        ObjectIdentity
		sameAsBase bool
	}{
		{"same identity", base, true},
		{"other version", ObjectIdentity{base.Bucket, base.Key, "v2", base.Sequencer}, false},
		{"other sequencer", ObjectIdentity{base.Bucket, base.Key, base.VersionID, "0062A2"}, false},
		{"other bucket", ObjectIdentity{"raw2", base.Key, base.VersionID, base.Sequencer}, false},
		{"fields do not run together", ObjectIdentity{"ra", "wraw/2026/11/iris data.csv", base.VersionID, base.Sequencer}, false},
		{"very long unicode key", ObjectIdentity{"raw", strings.Repeat("données-é/", 40) + "x.csv", "", ""}, false},
	}
	want := Execution("ingest", base)
	assert.Regexp(t, executionRE, want)
	assert.True(t, strings.HasPrefix(want, "ingest-iris-data-"), want)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Execution("ingest", tt.obj)
			assert.Regexp(t, executionRE, got)
			assert.Equal(t, tt.sameAsBase, got == want, got)
		})
	}
}

func TestResourceNamesAreSageMakerValid(t *testing.T) {
	long := Execution("ingest", ObjectIdentity{Bucket: "b", Key: strings.Repeat("k", 300) + ".csv"})
	tests := []struct{ kind, execution string }{
		{"train", "ingest-iris-0123456789abcdef"},
		{"model", long},
		{"config", "retrain-endpoint-0123456789abcdef"},
		{"train", "---"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.execution, func(t *testing.T) {
			got := Resource(tt.kind, tt.execution)
			assert.Regexp(t, sageMakerRE, got)
			assert.LessOrEqual(t, len(got), MaxSageMakerName)
			assert.Equal(t, got, Resource(tt.kind, tt.execution))
			assert.NotEqual(t, got, Resource(tt.kind, tt.execution+"x"))
		})
	}
	assert.NotEqual(t, Resource("model", "e"), Resource("config", "e"))
}

func TestRetrainWindowsDiffer(t *testing.T) {
	ds := ObjectIdentity{Bucket: "raw", Key: "raw/a.csv", VersionID: "1"}
	a := Retrain("churn-endpoint", "2026-11-25T10:00:00Z", ds)
	assert.Regexp(t, executionRE, a)
	assert.Equal(t, a, Retrain("churn-endpoint", "2026-11-25T10:00:00Z", ds))
	assert.NotEqual(t, a, Retrain("churn-endpoint", "2026-11-25T16:00:00Z", ds))
}
