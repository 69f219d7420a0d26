package lambdaemu

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/mototest"
	"github.com/gomlops/mlops/internal/syncbuf"
	"github.com/gomlops/mlops/localcloud/samtemplate"
)

// invalidFixture matches fixture names that describe input the handler
// must reject: it may drop it (success) or fail permanently, never ask for
// a retry.
var invalidFixture = regexp.MustCompile(`-(bad|malformed|wrong|missing|unsupported|too-large|empty|not|unknown)`)

// TestTemplateFunctionsWithTheirEvents runs every function of the
// repository's template.yaml, built from its sources and started as a real
// process behind the Runtime API, with every fixture events/<name>-*.json.
// AWS calls go to a moto_server: resources do not exist there, so handlers
// needing them must answer with well-formed, classified errors instead of
// crashing, hanging or returning malformed output.
func TestTemplateFunctionsWithTheirEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function of the template")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	// The fixtures are recorded from the dev stack (alarm names like
	// mlops-dev-drift derive from AWS::StackName).
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"), samtemplate.Options{StackName: "mlops-dev"})
	require.NoError(t, err, "the repository's template loads")
	fns, err := tpl.Functions()
	require.NoError(t, err)
	require.NotEmpty(t, fns, "the template defines functions")

	moto := mototest.Start(t)
	logs := &syncbuf.Buffer{}
	svc, err := New(Options{
		Functions: fns,
		StateDir:  stateDir,
		Endpoint:  moto.URL,
		Logs:      logs,
		Env:       map[string]string{"AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR"},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = svc.Close()
		if t.Failed() {
			t.Logf("function logs:\n%s", logs.String())
		}
	})
	start := time.Now()
	require.NoError(t, svc.Build(), "every function builds (once)")
	t.Logf("built %d functions in %s", len(fns), time.Since(start).Round(time.Millisecond))

	for _, fn := range fns {
		name := shortName(fn.LogicalID)
		isAPI := false
		for _, ev := range fn.Events {
			isAPI = isAPI || ev.Type == "Api" || ev.Type == "HttpApi"
		}
		fixtures, err := filepath.Glob(filepath.Join(root, "events", name+"-*.json"))
		require.NoError(t, err)
		t.Run(fn.LogicalID, func(t *testing.T) {
			if len(fixtures) == 0 {
				// No fixture yet: the binary must still start and answer.
				fixtures = []string{""}
			}
			for _, path := range fixtures {
				case_ := strings.TrimSuffix(filepath.Base(path), ".json")
				t.Run(case_, func(t *testing.T) {
					event := []byte(`{}`)
					if path != "" {
						event, err = os.ReadFile(path)
						require.NoError(t, err)
					}
					ctx, cancel := context.WithTimeout(context.Background(), fn.Timeout+30*time.Second)
					defer cancel()
					out, err := svc.InvokeFunction(ctx, InvokeInput{Function: fn.Name, Payload: event})
					require.NoError(t, err, "the invocation ran")
					require.True(t, json.Valid(out.Payload), "the response is JSON: %s", out.Payload)
					if fe := out.FunctionError; fe != nil {
						assert.NotRegexp(t, `^(Runtime|Sandbox)\.`, fe.Type, "the process crashed, timed out or failed at init: %s", fe.Message)
						assert.NotEmpty(t, fe.Message, "the error says what is wrong")
						if invalidFixture.MatchString(case_) {
							assert.NotEqual(t, "TransientError", fe.Type, "invalid input must not be retried: %s", fe.Message)
						}
						t.Logf("%s -> %s: %s", case_, fe.Type, fe.Message)
						return
					}
					if isAPI {
						var resp struct {
							StatusCode int    `json:"statusCode"`
							Body       string `json:"body"`
						}
						require.NoError(t, json.Unmarshal(out.Payload, &resp))
						assert.True(t, resp.StatusCode >= 200 && resp.StatusCode <= 599, "a proxy response: %s", out.Payload)
						if invalidFixture.MatchString(case_) {
							assert.GreaterOrEqual(t, resp.StatusCode, 400, "invalid input is answered 4xx: %s", out.Payload)
							assert.Less(t, resp.StatusCode, 500, "invalid input is the client's fault: %s", out.Payload)
						}
						t.Logf("%s -> HTTP %d %s", case_, resp.StatusCode, resp.Body)
						return
					}
					t.Logf("%s -> %s", case_, out.Payload)
				})
			}
		})
	}
}
