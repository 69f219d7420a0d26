package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestScenario runs the whole application on the local cloud, as `make
// local` does, plus the failure path: a dataset that breaks the schema fails
// the pipeline with a notification naming the reason and deploys nothing;
// then a dataset becomes a live model, predictions go through the SigV4
// API, a newer dataset is held, drifted traffic raises the drift alarm and
// remediation retrains on the held dataset onto a new endpoint
// configuration.
func TestScenario(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import xgboost").Run(); err != nil {
		if os.Getenv("MLOPS_REQUIRE_E2E") != "1" {
			t.Skip("python3-xgboost is not installed (apt-get install python3-xgboost; `make check-tools` does it): the local SageMaker cannot train. Set MLOPS_REQUIRE_E2E=1 to make this a failure.")
		}
		t.Fatalf("MLOPS_REQUIRE_E2E=1 but /usr/bin/python3 cannot import xgboost: %v", err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// Datasets go up with the AWS CLI: the upload → EventBridge → ingest →
	// pipeline path is proven with a real, independent client.
	awsCLI, err := exec.LookPath("aws")
	require.NoError(t, err, "the AWS CLI (aws) must be on PATH")

	var timeline bytes.Buffer
	stateDir := t.TempDir()
	fig, err := Run(ctx, Options{
		Dir: root, StateDir: stateDir, FailurePath: true, Timeline: &timeline, AWSCLI: awsCLI,
		// Slower than the demo: make test shares 2 cores with every other
		// package, and the pipeline's task timeouts shrink with the speed.
		Speed: 10,
	})
	t.Logf("timeline:\n%s", timeline.String())
	require.NoError(t, err, "logs are under %s", stateDir)

	assert.Contains(t, fig.FailureReason, "failed schema validation", "the failure notification names the reason")
	assert.GreaterOrEqual(t, fig.Predictions, 250, "the held-out sample went through the API")
	assert.Greater(t, fig.Accuracy, 0.7)
	assert.InDelta(t, fig.Optimal, fig.Accuracy, 0.1, "the model is close to the known relationship")
	assert.NotEmpty(t, fig.FirstConfig)
	assert.NotEqual(t, fig.FirstConfig, fig.RetrainConfig, "the retraining put a new endpoint configuration live")
	assert.True(t, strings.HasPrefix(fig.RetrainConfig, "config-retrain-"), fig.RetrainConfig)
	for _, stage := range []string{
		"✓ pipeline ingest-churn-bad-", "✓ EventBridge → ingest", "✓ endpoint churn-dev: InService",
		"✓ predictions through the API", "✓ newer dataset held", "✓ drifted traffic", "✓ monitor",
		"✓ drift alarm", "✓ remediate", "✓ pipeline retrain-",
	} {
		assert.Contains(t, timeline.String(), stage)
	}
	assert.NotContains(t, timeline.String(), "✗")
}
