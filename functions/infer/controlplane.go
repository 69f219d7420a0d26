package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ControlPlane makes the one SageMaker control-plane call the health check
// needs, DescribeEndpoint, as a SigV4-signed awsJson1_1 request built with
// the SDK's own signer, credentials and HTTP client from the shared
// aws.Config. It exists so the function does not link the SDK's sagemaker
// package (about 4 MiB of binary and 4 ms of init; figures in
// docs/inference.md) for a single read-only call.
//
// Endpoint resolution: aws.Config.BaseEndpoint (set from AWS_ENDPOINT_URL by
// the config loader, and by tests) when present, else the regional
// endpoint https://api.sagemaker.<region>.amazonaws.com (.com.cn in China).
// FIPS, dual-stack and AWS_ENDPOINT_URL_SAGEMAKER are not honoured.
type ControlPlane struct {
	cfg    aws.Config
	client aws.HTTPClient
	signer *v4.Signer
	url    string
	now    func() time.Time
}

// NewControlPlane returns a ControlPlane using cfg's region, credentials,
// HTTP client and base endpoint.
func NewControlPlane(cfg aws.Config, now func() time.Time) *ControlPlane {
	client := cfg.HTTPClient
	if client == nil {
		client = awshttp.NewBuildableClient()
	}
	url := ""
	if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
		url = strings.TrimRight(*cfg.BaseEndpoint, "/") + "/"
	} else {
		suffix := "amazonaws.com"
		if strings.HasPrefix(cfg.Region, "cn-") {
			suffix = "amazonaws.com.cn"
		}
		url = "https://api.sagemaker." + cfg.Region + "." + suffix + "/"
	}
	return &ControlPlane{cfg: cfg, client: client, signer: v4.NewSigner(), url: url, now: now}
}

// describeEndpointOutput holds the one field of DescribeEndpoint's answer
// the health check reads.
type describeEndpointOutput struct {
	EndpointStatus string `json:"EndpointStatus"`
}

// maxControlPlaneResponse bounds how much of an answer is read.
const maxControlPlaneResponse = 1 << 20

// EndpointStatus returns the endpoint's EndpointStatus. AWS errors come back
// as smithy.APIError values (code and message from the awsJson1_1 error
// document) so package faults classifies them like SDK errors.
func (c *ControlPlane) EndpointStatus(ctx context.Context, name string) (string, error) {
	if c.cfg.Region == "" {
		return "", errors.New("describe endpoint: no AWS region configured")
	}
	if c.cfg.Credentials == nil {
		return "", errors.New("describe endpoint: no AWS credentials configured")
	}
	payload, err := json.Marshal(struct {
		EndpointName string `json:"EndpointName"`
	}{name})
	if err != nil {
		return "", fmt.Errorf("encode describe endpoint request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(payload))
	if err != nil {
		return "", fmt.Errorf("build describe endpoint request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "SageMaker.DescribeEndpoint")
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("retrieve credentials: %w", err)
	}
	sum := sha256.Sum256(payload)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sagemaker", c.cfg.Region, c.now().UTC()); err != nil {
		return "", fmt.Errorf("sign describe endpoint request: %w", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("describe endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxControlPlaneResponse))
	if err != nil {
		return "", fmt.Errorf("read describe endpoint answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("describe endpoint: %w", decodeAPIError(resp, body))
	}
	var out describeEndpointOutput
	if err := json.Unmarshal(body, &out); err != nil {
		return "", fmt.Errorf("decode describe endpoint answer: %w", err)
	}
	if out.EndpointStatus == "" {
		return "", errors.New("describe endpoint: answer has no EndpointStatus")
	}
	return out.EndpointStatus, nil
}

// decodeAPIError turns an awsJson1_1 error answer into an error carrying
// the AWS code (from X-Amzn-ErrorType or the "__type" field, without its
// namespace prefix), wrapped in the HTTP response so that an error without
// a known code is still classified by status.
func decodeAPIError(resp *http.Response, body []byte) error {
	var doc struct {
		Type     string `json:"__type"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	_ = json.Unmarshal(body, &doc) // a non-JSON answer leaves the code empty
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = doc.Type
	}
	if code == "" {
		code = doc.Code
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	msg := doc.Message
	if msg == "" {
		msg = doc.Message2
	}
	var inner error = fmt.Errorf("HTTP %d", resp.StatusCode)
	if code != "" {
		fault := smithy.FaultClient
		if resp.StatusCode >= 500 {
			fault = smithy.FaultServer
		}
		inner = &smithy.GenericAPIError{Code: code, Message: msg, Fault: fault}
	}
	return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: inner}
}
