package drift

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loadBaseline(t testing.TB) *Baseline {
	t.Helper()
	f, err := os.Open("testdata/baseline.json")
	require.NoError(t, err)
	defer f.Close()
	b, err := ReadBaseline(f)
	require.NoError(t, err)
	return b
}

func TestReadBaseline(t *testing.T) {
	b := loadBaseline(t)
	assert.Equal(t, "churned", b.Label)
	require.Len(t, b.Features, 2)
	assert.Equal(t, []float64{10, 20}, b.Features[0].Edges)
	assert.Equal(t, 0.3, b.Features[1].Categories["1"])
}

func TestReadBaselineRejects(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{name: "not JSON", doc: `{`, want: "decode baseline"},
		{name: "wrong version", doc: `{"version":2,"features":[{"name":"a","type":"numeric","edges":[],"proportions":[1]}]}`, want: "version 2"},
		{name: "no features", doc: `{"version":1,"features":[]}`, want: "no features"},
		{name: "unnamed feature", doc: `{"version":1,"features":[{"type":"numeric","proportions":[1]}]}`, want: "has no name"},
		{name: "duplicate feature", doc: `{"version":1,"features":[{"name":"a","type":"numeric","proportions":[1]},{"name":"a","type":"numeric","proportions":[1]}]}`, want: "twice"},
		{name: "unknown type", doc: `{"version":1,"features":[{"name":"a","type":"text"}]}`, want: "unknown type"},
		{name: "proportions do not match edges", doc: `{"version":1,"features":[{"name":"a","type":"numeric","edges":[1,2],"proportions":[0.5,0.5]}]}`, want: "2 proportions for 2 edges"},
		{name: "edges not ascending", doc: `{"version":1,"features":[{"name":"a","type":"numeric","edges":[2,1],"proportions":[0.3,0.3,0.4]}]}`, want: "ascending"},
		{name: "shares do not sum to one", doc: `{"version":1,"features":[{"name":"a","type":"numeric","edges":[1],"proportions":[0.3,0.3]}]}`, want: "sum to"},
		{name: "no categories", doc: `{"version":1,"features":[{"name":"a","type":"categorical","categories":{}}]}`, want: "no categories"},
		{name: "missing share out of range", doc: `{"version":1,"features":[{"name":"a","type":"numeric","proportions":[1],"missingShare":2}]}`, want: "missingShare"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadBaseline(strings.NewReader(tt.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
