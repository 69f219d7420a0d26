package sagemakeremu

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/stretchr/testify/require"
)

// BenchmarkInvokeEndpoint measures InvokeEndpoint through the SDK client,
// the runtime handler and a model server, for one row and for 100 rows,
// with data capture at 100%. It also reports the training and endpoint
// start-up times of its set-up.
func BenchmarkInvokeEndpoint(b *testing.B) {
	requirePython(b)
	h := newHarness(b, nil)
	ctx := context.Background()
	h.put(b, "prepared/e/train/train.csv", trainingCSV(churnRows(600, 1)))
	h.put(b, "prepared/e/validation/validation.csv", trainingCSV(churnRows(200, 2)))
	start := time.Now()
	_, err := h.sm.CreateTrainingJob(ctx, h.trainingInput("job", "e"))
	require.NoError(b, err)
	d := h.waitJob(b, "job")
	require.Equal(b, smtypes.TrainingJobStatusCompleted, d.TrainingJobStatus)
	b.Logf("training job (600+200 rows, 20 rounds) completed in %s", time.Since(start))

	_, err = h.sm.CreateModel(ctx, &sagemaker.CreateModelInput{ModelName: aws.String("m"), PrimaryContainer: &smtypes.ContainerDefinition{Image: aws.String(h.image), ModelDataUrl: d.ModelArtifacts.S3ModelArtifacts}})
	require.NoError(b, err)
	_, err = h.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{EndpointConfigName: aws.String("c"),
		ProductionVariants: []smtypes.ProductionVariant{{VariantName: aws.String("AllTraffic"), ModelName: aws.String("m"), InstanceType: smtypes.ProductionVariantInstanceTypeMlM5Large, InitialInstanceCount: aws.Int32(1)}},
		DataCaptureConfig: &smtypes.DataCaptureConfig{InitialSamplingPercentage: aws.Int32(100), DestinationS3Uri: aws.String("s3://artifacts/capture"),
			CaptureOptions: []smtypes.CaptureOption{{CaptureMode: smtypes.CaptureModeInput}, {CaptureMode: smtypes.CaptureModeOutput}}}})
	require.NoError(b, err)
	start = time.Now()
	_, err = h.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: aws.String("ep"), EndpointConfigName: aws.String("c")})
	require.NoError(b, err)
	h.waitEndpoint(b, "ep", func(d *sagemaker.DescribeEndpointOutput) bool {
		return d.EndpointStatus == smtypes.EndpointStatusInService
	})
	b.Logf("endpoint InService in %s", time.Since(start))

	rows := churnRows(100, 3)
	var batch strings.Builder
	for _, r := range rows {
		batch.WriteString(r.features() + "\n")
	}
	for _, bc := range []struct {
		name string
		body string
	}{{"1row", rows[0].features()}, {"100rows", batch.String()}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				_, err := h.rt.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("ep"), ContentType: aws.String("text/csv"), Body: []byte(bc.body)})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
