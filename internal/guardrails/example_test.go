package guardrails_test

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/gomlops/mlops/internal/guardrails"
)

// A handler test hands the request its fake SageMaker client received to
// the hook and expects no finding.
func ExampleCheckCreateModel() {
	in := &sagemaker.CreateModelInput{ModelName: aws.String("model-churn-1")}
	for _, f := range guardrails.CheckCreateModel(in) {
		fmt.Println(f)
	}
	in.EnableNetworkIsolation = aws.Bool(true)
	fmt.Println(len(guardrails.CheckCreateModel(in)), "findings")
	// Output:
	// sagemaker-model-network-isolation: Model model-churn-1.EnableNetworkIsolation: model network isolation is not enabled
	// 0 findings
}

// Check runs every rule over a template and reports what is left after
// the documented suppressions.
func ExampleCheck() {
	tmpl, err := guardrails.Load("testdata/good/template.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	rep := guardrails.Check(tmpl, guardrails.Rules())
	fmt.Println(rep.OK(), len(rep.Findings), len(rep.Suppressions))
	// Output: true 0 0
}
