package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomlops/mlops/internal/mototest"
	"github.com/gomlops/mlops/shared/logging"
	"github.com/gomlops/mlops/shared/metrics"
	"github.com/gomlops/mlops/shared/pipeline"
)

// TestIntegrationRemediateAgainstMoto runs the real S3, Step Functions,
// SageMaker and SNS clients against moto_server (CloudWatch's Go client
// speaks a protocol moto cannot answer, so SetAlarmState goes to a fake):
// a drift alarm with newer data starts one retraining on the newest dataset
// version, a later drift alarm finds it running, a redelivered event is a
// duplicate, and an errors alarm rolls the endpoint back.
func TestIntegrationRemediateAgainstMoto(t *testing.T) {
	srv := mototest.Start(t)
	ctx := mototest.Context(t, 2*time.Minute)
	cfg := srv.Config()
	s3c, sfnc, smc, snsc, sqsc := s3.NewFromConfig(cfg), sfn.NewFromConfig(cfg), sagemaker.NewFromConfig(cfg), sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)

	for _, b := range []string{testArtifacts, testRaw} {
		_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		require.NoError(t, err)
	}
	_, err := s3c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(testRaw),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
	require.NoError(t, err)
	put := func(bucket, key string, body []byte) {
		t.Helper()
		_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
		require.NoError(t, err)
	}
	put(testRaw, "raw/churn-2026-11-24.csv", []byte("tenure_months,monthly_charges,support_calls,plan,churned\n1,2,3,basic,0\n"))
	put(testRaw, "raw/churn-2026-11-25.csv", []byte("tenure_months,monthly_charges,support_calls,plan,churned\n4,5,6,premium,1\n"))

	sm, err := sfnc.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String("mlops-test-pipeline"), RoleArn: aws.String("arn:aws:iam::123456789012:role/mlops-test-states"),
		Definition: aws.String(`{"StartAt":"Done","States":{"Done":{"Type":"Pass","End":true}}}`),
	})
	require.NoError(t, err)

	for _, name := range []string{"model-old", "model-new"} {
		_, err = smc.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String(name),
			ExecutionRoleArn: aws.String("arn:aws:iam::123456789012:role/mlops-test-sagemaker"),
			PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1")}})
		require.NoError(t, err)
	}
	for cfgName, model := range map[string]string{"config-old": "model-old", "config-new": "model-new"} {
		_, err = smc.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String(cfgName),
			ProductionVariants: []smtypes.ProductionVariant{{VariantName: aws.String("AllTraffic"), ModelName: aws.String(model),
				InitialInstanceCount: aws.Int32(1), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large}}})
		require.NoError(t, err)
	}
	_, err = smc.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String(testEndpoint), EndpointConfigName: aws.String("config-new")})
	require.NoError(t, err)

	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("mlops-test-notifications")})
	require.NoError(t, err)
	queue, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("mlops-test-inbox")})
	require.NoError(t, err)
	_, err = snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String("arn:aws:sqs:us-east-1:123456789012:mlops-test-inbox"), Attributes: map[string]string{"RawMessageDelivery": "true"}})
	require.NoError(t, err)

	now := time.Now().UTC()
	live, err := json.Marshal(pipeline.LiveModel{
		EndpointName: testEndpoint, EndpointConfigName: "config-new", PreviousEndpointConfigName: "config-old",
		Dataset:    pipeline.Dataset{Bucket: testRaw, Key: "raw/churn-2026-11-01.csv", LastModified: now.Add(-72 * time.Hour)},
		DeployedAt: now.Add(-time.Hour),
	})
	require.NoError(t, err)
	put(testArtifacts, pipeline.RegistryKey(testEndpoint), live)

	// moto 5.2.1 answers UpdateEndpoint with "The update_endpoint action has
	// not been implemented", so the rollback call goes, through the real
	// SDK client and its wire protocol, to a recorder that answers like
	// SageMaker; DescribeEndpoint still goes to moto.
	var rollbackBody map[string]string
	var rollbackTarget string
	recorder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rollbackTarget = r.Header.Get("X-Amz-Target")
		if err := json.NewDecoder(r.Body).Decode(&rollbackBody); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"EndpointArn":"arn:aws:sagemaker:us-east-1:123456789012:endpoint/` + testEndpoint + `"}`))
	}))
	t.Cleanup(recorder.Close)
	recCfg := cfg.Copy()
	recCfg.BaseEndpoint = aws.String(recorder.URL)
	sageMaker := splitSageMaker{describe: smc, update: sagemaker.NewFromConfig(recCfg)}

	cw := &fakeCloudWatch{}
	h := &Handler{
		S3: s3c, SFN: sfnc, SageMaker: sageMaker, SNS: snsc, CloudWatch: cw,
		Config: Config{StateMachineARN: aws.ToString(sm.StateMachineArn), EndpointName: testEndpoint, ArtifactsBucket: testArtifacts,
			RawBucket: testRaw, RawPrefix: "raw/", TopicARN: aws.ToString(topic.TopicArn),
			DriftAlarmNames: []string{driftAlarm}, ErrorAlarmNames: []string{errorsAlarm},
			RetrainCooldown: 6 * time.Hour, MaxRetrainsPerDay: 2, RollbackWindow: 24 * time.Hour},
		Log: logging.New(&bytes.Buffer{}, "ERROR"), Metrics: metrics.New(&bytes.Buffer{}, "MLOps/test", time.Now), Now: time.Now,
	}
	handle := func(fixture string) Decision {
		t.Helper()
		d, err := h.Handle(ctx, event(t, fixture))
		require.NoError(t, err)
		return d
	}

	// Drift with newer data: one retraining on the newest version.
	d := handle("remediate-drift-alarm.json")
	require.Equal(t, ActionRetrain, d.Action, d.Reason)
	execs, err := sfnc.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
	require.NoError(t, err)
	require.Len(t, execs.Executions, 1)
	assert.Equal(t, d.ExecutionName, aws.ToString(execs.Executions[0].Name))
	desc, err := sfnc.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: execs.Executions[0].ExecutionArn})
	require.NoError(t, err)
	var in pipeline.Input
	require.NoError(t, json.Unmarshal([]byte(aws.ToString(desc.Input)), &in))
	assert.Equal(t, pipeline.TriggerRetrain, in.Trigger)
	assert.Equal(t, "raw/churn-2026-11-25.csv", in.Dataset.Key)
	assert.NotEmpty(t, in.Dataset.VersionID, "the retraining pins the dataset version")

	// Redelivery: duplicate. A later transition: the retraining runs.
	assert.Equal(t, ActionDuplicate, handle("remediate-drift-alarm.json").Action)
	later := handle("remediate-drift-from-insufficient-data.json")
	assert.Equal(t, ActionRetrainSkipped, later.Action)
	assert.Contains(t, later.Reason, "already running")

	// Endpoint errors after the deployment: roll back.
	rb := handle("remediate-errors-alarm.json")
	require.Equal(t, ActionRollback, rb.Action, rb.Reason)
	assert.Equal(t, "SageMaker.UpdateEndpoint", rollbackTarget)
	assert.Equal(t, map[string]string{"EndpointName": testEndpoint, "EndpointConfigName": "config-old"}, rollbackBody)

	// Every acted-on decision reached the topic; CloudWatch re-arms went to the fake.
	var messages []string
	for range 5 {
		out, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10})
		require.NoError(t, err)
		for _, m := range out.Messages {
			messages = append(messages, aws.ToString(m.Body))
		}
		if len(messages) >= 3 {
			break
		}
	}
	require.Len(t, messages, 3)
	all := strings.Join(messages, "\n")
	for _, action := range []string{ActionRetrain, ActionRetrainSkipped, ActionRollback} {
		assert.Contains(t, all, `"action": "`+action+`"`)
	}
	require.Len(t, cw.calls, 3)
}

// splitSageMaker sends DescribeEndpoint and UpdateEndpoint to two clients.
type splitSageMaker struct {
	describe, update *sagemaker.Client
}

func (s splitSageMaker) DescribeEndpoint(ctx context.Context, in *sagemaker.DescribeEndpointInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeEndpointOutput, error) {
	return s.describe.DescribeEndpoint(ctx, in, optFns...)
}

func (s splitSageMaker) UpdateEndpoint(ctx context.Context, in *sagemaker.UpdateEndpointInput, optFns ...func(*sagemaker.Options)) (*sagemaker.UpdateEndpointOutput, error) {
	return s.update.UpdateEndpoint(ctx, in, optFns...)
}
