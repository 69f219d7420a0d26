// Package awsconfig builds the one aws.Config a function's clients share.
//
// It sets the SDK's standard retryer with a bounded number of attempts and
// leaves endpoint selection to the SDK, which honours AWS_ENDPOINT_URL: that
// is how the same binary talks to AWS, to moto or to the local cloud. X-Ray
// instrumentation lives in package tracing so that functions which do not
// want its weight do not link it.
package awsconfig

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Options tune the shared configuration.
type Options struct {
	// MaxAttempts bounds SDK retries per call (default 3, the SDK's default).
	MaxAttempts int
	// MaxBackoff caps the delay between retries (default 5s). A latency
	// sensitive function sets it low so retries stay inside its deadline.
	MaxBackoff time.Duration
}

// Load returns the shared aws.Config with the standard retryer.
func Load(ctx context.Context, opts Options) (aws.Config, error) {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = retry.DefaultMaxAttempts
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = opts.MaxAttempts
				o.MaxBackoff = opts.MaxBackoff
			})
		}),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}
