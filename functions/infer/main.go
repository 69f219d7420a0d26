package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"

	"github.com/gomlops/mlops/shared/awsconfig"
	"github.com/gomlops/mlops/shared/config"
	"github.com/gomlops/mlops/shared/logging"
	"github.com/gomlops/mlops/shared/metrics"
)

// main is the composition root. It does not call tracing.Instrument: the
// X-Ray SDK would add ~12 MiB to a 9 MiB budget; API Gateway's and Lambda's
// active tracing still record the request (see docs/inference.md).
func main() {
	env := config.FromEnv()
	logLevel, namespace := env.StringOr("LOG_LEVEL", "INFO"), env.String("METRICS_NAMESPACE")
	cfg, err := LoadConfig(env) // reports every missing or malformed variable, the two above included
	if err != nil {
		fmt.Fprintf(os.Stderr, "infer: %v\n", err)
		os.Exit(1)
	}
	// Few, short retries: a prediction is latency-bound and INVOKE_TIMEOUT
	// bounds the call, retries included.
	awsCfg, err := awsconfig.Load(context.Background(), awsconfig.Options{MaxAttempts: 3, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		fmt.Fprintf(os.Stderr, "infer: %v\n", err)
		os.Exit(1)
	}
	h := NewHandler(cfg, sagemakerruntime.NewFromConfig(awsCfg), NewControlPlane(awsCfg, time.Now),
		metrics.New(os.Stdout, namespace, time.Now), logging.New(os.Stdout, logLevel), time.Now)
	lambda.Start(h.Handle)
}
