package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/mototest"
)

// TestIntegrationMoto runs the handler's SDK paths against moto_server.
//
// What moto does (moto 5.2): sagemaker-runtime InvokeEndpoint does not
// check that the endpoint exists and runs no model; it answers from a queue
// of canned results set through /moto-api/static/sagemaker/endpoint-results
// (then a fixed placeholder), and repeats the same answer for an identical
// request (same body, Accept and X-Amzn-SageMaker-* headers, which include
// the InferenceId). So the test asserts the wire contract: the canned body,
// content type and invoked variant come back through the proxy, identical
// requests get identical answers, and DescribeEndpoint (the hand-signed
// health check) reads real endpoint state.
func TestIntegrationMoto(t *testing.T) {
	srv := mototest.Start(t)
	ctx := mototest.Context(t, time.Minute)
	cfg := srv.Config()

	queueResults(t, srv.URL, map[string]any{"results": []map[string]string{
		{"Body": "0.42\n", "ContentType": "text/csv", "InvokedProductionVariant": "challenger", "CustomAttributes": ""},
		{"Body": "0.9,0.1", "ContentType": "text/csv", "InvokedProductionVariant": "champion", "CustomAttributes": ""},
	}})

	clock := &fakeClock{t: time.Now()}
	env := newTestEnv(t, sagemakerruntime.NewFromConfig(cfg), NewControlPlane(cfg, time.Now), DefaultMaxBodyBytes)
	env.h.now = clock.now

	t.Run("prediction", func(t *testing.T) {
		resp, err := env.h.Handle(ctx, loadEvent(t, "infer-target-variant.json"))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
		assert.Equal(t, "0.42\n", resp.Body)
		assert.Equal(t, "text/csv", resp.Headers["Content-Type"])
		assert.Equal(t, "challenger", resp.Headers[ModelVariantHeader])
	})
	t.Run("identical request gets the same answer", func(t *testing.T) {
		resp, err := env.h.Handle(ctx, loadEvent(t, "infer-target-variant.json"))
		require.NoError(t, err)
		assert.Equal(t, "0.42\n", resp.Body)
	})
	t.Run("json prediction takes the next result", func(t *testing.T) {
		resp, err := env.h.Handle(ctx, loadEvent(t, "infer-predict-json.json"))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
		assert.JSONEq(t, `{"predictions":[0.9,0.1]}`, resp.Body)
		assert.Equal(t, "application/json", resp.Headers["Content-Type"])
		assert.Equal(t, "champion", resp.Headers[ModelVariantHeader])
	})
	t.Run("refused before SageMaker", func(t *testing.T) {
		resp, err := env.h.Handle(ctx, loadEvent(t, "infer-malformed-json.json"))
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})

	t.Run("health of a missing endpoint", func(t *testing.T) {
		resp, err := env.h.Handle(ctx, loadEvent(t, "infer-health.json"))
		require.NoError(t, err)
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		assert.JSONEq(t, `{"status":"NotFound","inService":false,"requestId":"0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"}`, resp.Body)
	})

	t.Run("health of an endpoint in service", func(t *testing.T) {
		createEndpoint(ctx, t, sagemaker.NewFromConfig(cfg), testEndpoint)
		clock.t = clock.t.Add(healthTTL) // past the cached NotFound
		resp, err := env.h.Handle(ctx, loadEvent(t, "infer-health.json"))
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
		assert.JSONEq(t, `{"status":"InService","inService":true,"requestId":"0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"}`, resp.Body)
	})
}

// queueResults configures moto's canned InvokeEndpoint answers.
func queueResults(t *testing.T, url string, results map[string]any) {
	t.Helper()
	body, err := json.Marshal(results)
	require.NoError(t, err)
	resp, err := http.Post(url+"/moto-api/static/sagemaker/endpoint-results", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
}

// createEndpoint makes a model, an endpoint configuration and an endpoint
// in moto (which puts it InService at once).
func createEndpoint(ctx context.Context, t *testing.T, sm *sagemaker.Client, name string) {
	t.Helper()
	_, err := sm.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName:        aws.String(name + "-model"),
		ExecutionRoleArn: aws.String("arn:aws:iam::123456789012:role/sagemaker"),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1")},
	})
	require.NoError(t, err)
	_, err = sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
		EndpointConfigName: aws.String(name + "-config"),
		ProductionVariants: []smtypes.ProductionVariant{{
			VariantName: aws.String("champion"), ModelName: aws.String(name + "-model"),
			InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large, InitialInstanceCount: aws.Int32(1),
		}},
	})
	require.NoError(t, err)
	_, err = sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(name), EndpointConfigName: aws.String(name + "-config")})
	require.NoError(t, err)
}
