// Command proxy is a test function for start-api: it answers an API
// Gateway proxy event with what it received.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	body, _ := json.Marshal(map[string]any{
		"name":   req.PathParameters["name"],
		"query":  req.MultiValueQueryStringParameters,
		"body":   req.Body,
		"base64": req.IsBase64Encoded,
		"stage":  req.RequestContext.Stage,
	})
	return events.APIGatewayProxyResponse{
		StatusCode:        200,
		Headers:           map[string]string{"Content-Type": "application/json"},
		MultiValueHeaders: map[string][]string{"X-Seen": {"1", "2"}},
		Body:              string(body),
	}, nil
}

func main() { lambda.Start(handle) }
