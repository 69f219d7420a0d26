package stsemu

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGetCallerIdentityThroughSDK(t *testing.T) {
	srv := httptest.NewServer(New(Options{AccountID: "111122223333"}))
	t.Cleanup(srv.Close)
	c := sts.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("DUMMYKEY", "SECRET", ""),
		BaseEndpoint: aws.String(srv.URL),
	})
	out, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	assert.Equal(t, "111122223333", aws.ToString(out.Account))
	assert.Equal(t, "arn:aws:iam::111122223333:user/DUMMYKEY", aws.ToString(out.Arn))
	assert.Equal(t, "DUMMYKEY", aws.ToString(out.UserId))
}

func TestUnknownAction(t *testing.T) {
	srv := httptest.NewServer(New(Options{}))
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader(url.Values{"Action": {"AssumeRoleWithMagic"}}.Encode()))
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	c := sts.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("A", "B", ""), BaseEndpoint: aws.String(srv.URL)})
	_, err = c.AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s")})
	var apiErr interface{ ErrorCode() string }
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, "InvalidAction", apiErr.ErrorCode())
}
