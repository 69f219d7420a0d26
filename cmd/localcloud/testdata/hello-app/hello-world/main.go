package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(request events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return events.APIGatewayProxyResponse{
		Body:       fmt.Sprintf("Hello, %s (PARAM1=%s)", request.RequestContext.Identity.SourceIP, os.Getenv("PARAM1")),
		StatusCode: 200,
	}, nil
}

func main() {
	lambda.Start(handler)
}
