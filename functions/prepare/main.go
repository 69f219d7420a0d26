package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/glue"

	"github.com/gomlops/mlops/shared/awsconfig"
	"github.com/gomlops/mlops/shared/config"
	"github.com/gomlops/mlops/shared/logging"
	"github.com/gomlops/mlops/shared/metrics"
)

func main() {
	env := config.FromEnv()
	cfg := LoadConfig(env)
	logLevel, namespace := env.StringOr("LOG_LEVEL", "INFO"), env.String("METRICS_NAMESPACE")
	if err := env.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "prepare:", err)
		os.Exit(1)
	}
	awsCfg, err := awsconfig.Load(context.Background(), awsconfig.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "prepare:", err)
		os.Exit(1)
	}
	client := glue.NewFromConfig(awsCfg)
	h := &Handler{Starter: client, Getter: client, Runs: client, Config: cfg,
		Log: logging.New(os.Stdout, logLevel), Metrics: metrics.New(os.Stdout, namespace, time.Now)}
	lambda.Start(h.Handle)
}
