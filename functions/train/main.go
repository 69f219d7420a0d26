package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/gomlops/mlops/shared/awsconfig"
	"github.com/gomlops/mlops/shared/config"
	"github.com/gomlops/mlops/shared/logging"
)

func main() {
	env := config.FromEnv()
	logLevel := env.StringOr("LOG_LEVEL", "INFO")
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
	h := &Handler{Creator: sm, Describer: sm, Registry: s3.NewFromConfig(awsCfg), Config: cfg, Log: logging.New(os.Stdout, logLevel)}
	lambda.Start(h.Handle)
}
