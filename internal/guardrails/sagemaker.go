package guardrails

import (
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// The training jobs, models and endpoint configs of this platform are
// created at run time by the train and deploy Lambdas, not declared in the
// template. The template rules check that those functions receive the KMS
// key (KMS_KEY_ARN); the functions below are the test hook for what they do
// with it: a handler test passes the input its fake SageMaker client
// received and asserts that no finding comes back, so a request that drops
// a KMS key or network isolation fails the handler's own tests.

// CheckCreateTrainingJob returns the guardrail findings for a
// CreateTrainingJob request (rule sagemaker-training-encryption).
func CheckCreateTrainingJob(in *sagemaker.CreateTrainingJobInput) []Finding {
	const rule = "sagemaker-training-encryption"
	if in == nil {
		return []Finding{{Rule: rule, Resource: "CreateTrainingJob", Message: "no request"}}
	}
	res := "TrainingJob " + deref(in.TrainingJobName)
	var out []Finding
	if in.ResourceConfig == nil || deref(in.ResourceConfig.VolumeKmsKeyId) == "" {
		out = append(out, Finding{rule, res, "ResourceConfig.VolumeKmsKeyId", "training volume is not encrypted with the platform KMS key"})
	}
	if in.OutputDataConfig == nil || deref(in.OutputDataConfig.KmsKeyId) == "" {
		out = append(out, Finding{rule, res, "OutputDataConfig.KmsKeyId", "model artifacts are not encrypted with the platform KMS key"})
	}
	if in.EnableInterContainerTrafficEncryption == nil || !*in.EnableInterContainerTrafficEncryption {
		out = append(out, Finding{rule, res, "EnableInterContainerTrafficEncryption", "traffic between training instances is not encrypted"})
	}
	return out
}

// CheckCreateModel returns the guardrail findings for a CreateModel request
// (rule sagemaker-model-network-isolation).
func CheckCreateModel(in *sagemaker.CreateModelInput) []Finding {
	const rule = "sagemaker-model-network-isolation"
	if in == nil {
		return []Finding{{Rule: rule, Resource: "CreateModel", Message: "no request"}}
	}
	if in.EnableNetworkIsolation == nil || !*in.EnableNetworkIsolation {
		return []Finding{{rule, "Model " + deref(in.ModelName), "EnableNetworkIsolation", "model network isolation is not enabled"}}
	}
	return nil
}

// CheckCreateEndpointConfig returns the guardrail findings for a
// CreateEndpointConfig request (rule sagemaker-endpoint-kms).
func CheckCreateEndpointConfig(in *sagemaker.CreateEndpointConfigInput) []Finding {
	const rule = "sagemaker-endpoint-kms"
	if in == nil {
		return []Finding{{Rule: rule, Resource: "CreateEndpointConfig", Message: "no request"}}
	}
	res := "EndpointConfig " + deref(in.EndpointConfigName)
	var out []Finding
	if deref(in.KmsKeyId) == "" {
		out = append(out, Finding{rule, res, "KmsKeyId", "endpoint volume is not encrypted with the platform KMS key"})
	}
	if in.DataCaptureConfig == nil {
		out = append(out, Finding{rule, res, "DataCaptureConfig", "no data capture: drift monitoring has nothing to read"})
	} else if deref(in.DataCaptureConfig.KmsKeyId) == "" {
		out = append(out, Finding{rule, res, "DataCaptureConfig.KmsKeyId", "captured inference data is not encrypted with the platform KMS key"})
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
