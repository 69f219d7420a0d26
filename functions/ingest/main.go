package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

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
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
	awsCfg, err := awsconfig.Load(context.Background(), awsconfig.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
	h := &Handler{
		SFN:     sfn.NewFromConfig(awsCfg),
		Config:  cfg,
		Log:     logging.New(os.Stdout, logLevel),
		Metrics: metrics.New(os.Stdout, namespace, time.Now),
		Now:     time.Now,
	}
	if cfg.Trigger == TriggerOnDrift {
		h.Registry = s3.NewFromConfig(awsCfg)
	}
	lambda.Start(h.Handle)
}
