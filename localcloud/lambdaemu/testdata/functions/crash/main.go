// Command crash is a test function whose process dies in the middle of an
// invocation, after writing a log line.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, event json.RawMessage) (string, error) {
	os.Stderr.WriteString("about to crash\n")
	os.Exit(3)
	return "unreachable", nil
}

func main() { lambda.Start(handle) }
