// Package tracing adds AWS X-Ray instrumentation to an aws.Config.
//
// It is kept apart from package awsconfig because aws-xray-sdk-go is heavy
// (about 12 MiB per binary and twice the cold start, see BENCHMARKS.md): a
// function opts in from its main package and pays only if it does.
package tracing

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-xray-sdk-go/instrumentation/awsv2"
)

// Instrument records every AWS call made with cfg as an X-Ray subsegment of
// the invocation's segment (Lambda's Tracing: Active provides the parent).
func Instrument(cfg *aws.Config) {
	awsv2.AWSV2Instrumentor(&cfg.APIOptions)
}
