// Command floor is the benchmarks' reference Lambda: a Go function that
// answers an API Gateway proxy event at once, with no AWS client. Its cold
// start and latency are the floor of the local Runtime API and of a Go
// process, which the other figures are read against. Never deployed.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, _ events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return events.APIGatewayProxyResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/csv"}, Body: "0.42\n"}, nil
}

func main() { lambda.Start(handle) }
