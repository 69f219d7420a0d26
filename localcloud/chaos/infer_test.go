package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/localcloud/faultinject"
)

// runInference sends the committed prediction request to the infer
// function (as API Gateway does) while SageMaker runtime's InvokeEndpoint
// is throttled, fails with a model error, fails as a service, or never
// answers; the client must get the matching 4xx/5xx, in time.
func runInference(t *testing.T, _ Guards) Outcome {
	cases := []struct {
		name       string
		rule       faultinject.Rule
		wantStatus int
	}{
		{name: "throttled", rule: faultinject.Rule{Action: faultinject.ActionThrottle}, wantStatus: 429},
		{name: "model error", rule: faultinject.Rule{Action: faultinject.ActionFail, Error: "ModelError", Status: 424, Message: "Received server error (500) from primary"}, wantStatus: 502},
		{name: "service unavailable", rule: faultinject.Rule{Action: faultinject.ActionFail, Error: "ServiceUnavailable", Status: 503}, wantStatus: 503},
		{name: "no answer", rule: faultinject.Rule{Action: faultinject.ActionTimeout, Latency: faultinject.Duration(time.Minute)}, wantStatus: 504},
	}
	inj := newInjector(t)
	const invokeTimeout = 2 * time.Second
	c := startCloud(t, Options{Functions: []string{"InferFunction"}, Faults: inj, Env: map[string]string{"INVOKE_TIMEOUT": invokeTimeout.String()}})
	fn, err := c.Function("InferFunction")
	require.NoError(t, err)
	event, err := os.ReadFile(filepath.Join(repoRoot(), "events", "infer-predict-csv.json"))
	require.NoError(t, err)

	held := true
	var detail, evidence []string
	for _, tc := range cases {
		inj.Clear()
		rule := tc.rule
		rule.ID, rule.Service, rule.Operation = "runtime-"+strings.ReplaceAll(tc.name, " ", "-"), "sagemaker-runtime", "InvokeEndpoint"
		_, err := inj.Add(rule)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), fn.Timeout+5*time.Second)
		start := time.Now()
		out, err := c.Lambda.Invoke(ctx, fn.Name, event)
		took := time.Since(start)
		cancel()
		var resp struct {
			StatusCode int               `json:"statusCode"`
			Headers    map[string]string `json:"headers"`
			Body       string            `json:"body"`
		}
		ok := err == nil && json.Unmarshal(out, &resp) == nil
		status := resp.StatusCode
		good := ok && status == tc.wantStatus && took < invokeTimeout+3*time.Second && !strings.Contains(resp.Body, "ModelError")
		held = held && good
		detail = append(detail, fmt.Sprintf("%s -> %d in %s (want %d)", tc.name, status, took.Round(10*time.Millisecond), tc.wantStatus))
		if !good {
			evidence = append(evidence, fmt.Sprintf("%s: invoke error %v, response %s", tc.name, err, out))
		}
	}
	evidence = append(evidence, fmt.Sprintf("injected faults: %d (InvokeEndpoint); infer log lines with \"class\": %d", len(inj.Injected()), len(logLines(c, "["+fn.Name+"]", `"class"`))))
	return Outcome{Held: held, Detail: strings.Join(detail, "; "), Evidence: strings.Join(evidence, "; ")}
}
