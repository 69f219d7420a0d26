package mototest

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"
)

func TestStartServesS3(t *testing.T) {
	srv := Start(t)
	ctx := Context(t, 30*time.Second)
	client := s3.NewFromConfig(srv.Config())
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("probe")})
	require.NoError(t, err)
	out, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
	require.NoError(t, err)
	require.Len(t, out.Buckets, 1)
}
