package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/gomlops/mlops/shared/awsconfig"
	"github.com/gomlops/mlops/shared/config"
	"github.com/gomlops/mlops/shared/logging"
	"github.com/gomlops/mlops/shared/metrics"
)

func main() {
	env := config.FromEnv()
	logLevel, namespace := env.StringOr("LOG_LEVEL", "INFO"), env.String("METRICS_NAMESPACE")
	cfg, err := LoadConfig(env, os.Getenv("AWS_REGION"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
	awsCfg, err := awsconfig.Load(context.Background(), awsconfig.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
	sm := sagemaker.NewFromConfig(awsCfg)
	h := &Handler{Creator: sm, Describer: sm, Registry: s3.NewFromConfig(awsCfg), Config: cfg,
		Log: logging.New(os.Stdout, logLevel), Metrics: metrics.New(os.Stdout, namespace, time.Now)}
	lambda.Start(h.Handle)
}
