// Package pipeline holds the typed JSON contracts of the training pipeline:
// the execution input, what each Task state sends to its Lambda and gets
// back, and the live-model record that deployment writes and monitoring and
// remediation read.
//
// The state machine definition (statemachines/pipeline.asl.json) builds these
// payloads with JSONPath; pipeline_test.go fixes every JSON field name so the
// ASL and the handlers agree by test, not by hope.
package pipeline

import (
	"fmt"
	"strings"
	"time"

	"github.com/gomlops/mlops/shared/naming"
)

// Trigger says why an execution started.
type Trigger string

// The triggers.
const (
	TriggerUpload  Trigger = "upload"  // a new dataset arrived in the raw bucket
	TriggerRetrain Trigger = "retrain" // remediation of a drift alarm
)

// Action selects what a pipeline Lambda does: start work, or report on it.
// Waiting happens in the state machine (Wait → status → Choice), never in a
// sleeping Lambda.
type Action string

// The actions.
const (
	ActionStart  Action = "start"
	ActionStatus Action = "status"
)

// State is the normalised progress of a long-running job, for Choice states.
type State string

// The states.
const (
	StateRunning   State = "RUNNING"
	StateSucceeded State = "SUCCEEDED"
	StateFailed    State = "FAILED"
)

// Dataset is the S3 object version a pipeline run trains on.
type Dataset struct {
	Bucket       string    `json:"bucket"`
	Key          string    `json:"key"` // URL-decoded
	VersionID    string    `json:"versionId,omitempty"`
	Sequencer    string    `json:"sequencer,omitempty"`
	ETag         string    `json:"etag,omitempty"`
	Size         int64     `json:"size"`
	LastModified time.Time `json:"lastModified"`
}

// URI returns the dataset's s3:// URI.
func (d Dataset) URI() string { return "s3://" + d.Bucket + "/" + d.Key }

// Identity returns what makes this dataset version unique.
func (d Dataset) Identity() naming.ObjectIdentity {
	return naming.ObjectIdentity{Bucket: d.Bucket, Key: d.Key, VersionID: d.VersionID, Sequencer: d.Sequencer}
}

// Validate reports a permanent problem with the dataset reference.
func (d Dataset) Validate() error {
	switch {
	case d.Bucket == "":
		return fmt.Errorf("dataset: bucket is empty")
	case d.Key == "" || strings.HasSuffix(d.Key, "/"):
		return fmt.Errorf("dataset: key %q does not name an object", d.Key)
	}
	return nil
}

// Input is the training pipeline's execution input.
type Input struct {
	Dataset Dataset `json:"dataset"`
	Trigger Trigger `json:"trigger"`
	// Reason is free text for humans (e.g. the alarm that caused a retrain).
	Reason string `json:"reason,omitempty"`
}

// PreparedData are the S3 URIs the Glue job writes for one execution.
type PreparedData struct {
	Prefix     string `json:"prefix"`
	Train      string `json:"train"`      // folder with the training CSV
	Validation string `json:"validation"` // folder with the validation CSV
	Baseline   string `json:"baseline"`   // baseline statistics JSON for drift
	Manifest   string `json:"manifest"`   // row counts and schema
	Quarantine string `json:"quarantine"` // rows that failed the schema
}

// PrepareRequest is the payload of the prepare Lambda.
type PrepareRequest struct {
	Action        Action  `json:"action"`
	ExecutionName string  `json:"executionName"`
	Dataset       Dataset `json:"dataset"`
	// JobRunID is set for ActionStatus.
	JobRunID string `json:"jobRunId,omitempty"`
}

// PrepareResult is what ActionStart returns: the Glue run and its outputs.
type PrepareResult struct {
	JobName  string       `json:"jobName"`
	JobRunID string       `json:"jobRunId"`
	Outputs  PreparedData `json:"outputs"`
}

// Status is what every ActionStatus returns.
type Status struct {
	State State `json:"state"`
	// Detail is the service's own status ("TIMEOUT", "Training", "Updating").
	Detail string `json:"detail"`
	// Reason explains a failure; empty otherwise.
	Reason string `json:"reason,omitempty"`
}

// MetricValue is one named model quality figure.
type MetricValue struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// TrainRequest is the payload of the train Lambda.
type TrainRequest struct {
	Action        Action       `json:"action"`
	ExecutionName string       `json:"executionName"`
	Dataset       Dataset      `json:"dataset"`
	Prepared      PreparedData `json:"prepared"`
	// TrainingJobName is set for ActionStatus.
	TrainingJobName string `json:"trainingJobName,omitempty"`
}

// TrainResult is what ActionStart returns.
type TrainResult struct {
	TrainingJobName string `json:"trainingJobName"`
}

// TrainStatus is what ActionStatus returns: the job's state and, once it
// completed, the model artefact and the quality figures the gate compares.
type TrainStatus struct {
	Status
	ModelDataURL string       `json:"modelDataUrl,omitempty"`
	Metric       *MetricValue `json:"metric,omitempty"`
	// LiveMetric is the same metric of the model serving now, if any.
	LiveMetric *MetricValue `json:"liveMetric,omitempty"`
}

// DeployRequest is the payload of the deploy Lambda.
type DeployRequest struct {
	Action          Action       `json:"action"`
	ExecutionName   string       `json:"executionName"`
	Dataset         Dataset      `json:"dataset"`
	TrainingJobName string       `json:"trainingJobName"`
	ModelDataURL    string       `json:"modelDataUrl"`
	Metric          *MetricValue `json:"metric,omitempty"`
	BaselineURI     string       `json:"baselineUri"`
	// Deployment is set for ActionStatus.
	Deployment *Deployment `json:"deployment,omitempty"`
}

// Deployment describes one deployment to the endpoint.
type Deployment struct {
	EndpointName       string `json:"endpointName"`
	ModelName          string `json:"modelName"`
	EndpointConfigName string `json:"endpointConfigName"`
	// PreviousEndpointConfigName is the configuration that was live before,
	// empty on the first deployment. A rollback goes back to it.
	PreviousEndpointConfigName string `json:"previousEndpointConfigName,omitempty"`
	// Mode is "create" for a new endpoint, "update" for blue/green.
	Mode string `json:"mode"`
}

// LiveModel is the record of the model serving on an endpoint, written by
// deploy once the endpoint is InService on its configuration. Monitoring reads
// its baseline; remediation reads its dataset and previous configuration.
type LiveModel struct {
	EndpointName               string       `json:"endpointName"`
	EndpointConfigName         string       `json:"endpointConfigName"`
	ModelName                  string       `json:"modelName"`
	ExecutionName              string       `json:"executionName"`
	TrainingJobName            string       `json:"trainingJobName"`
	Dataset                    Dataset      `json:"dataset"`
	Metric                     *MetricValue `json:"metric,omitempty"`
	BaselineURI                string       `json:"baselineUri"`
	PreviousEndpointConfigName string       `json:"previousEndpointConfigName,omitempty"`
	DeployedAt                 time.Time    `json:"deployedAt"`
}

// RegistryKey is the S3 key, in the artifacts bucket, of an endpoint's
// LiveModel record. The bucket is versioned, so every deployment is kept.
func RegistryKey(endpointName string) string {
	return "registry/" + endpointName + "/live.json"
}

// ConfigRecordKey is the S3 key, in the artifacts bucket, of the LiveModel
// record deploy wrote when endpointConfigName went live. It is never
// rewritten, so a rollback can restore the record of the configuration it
// goes back to (and monitoring then compares traffic with the right
// baseline).
func ConfigRecordKey(endpointName, endpointConfigName string) string {
	return "registry/" + endpointName + "/configs/" + endpointConfigName + ".json"
}

// ParseS3URI splits "s3://bucket/key" into bucket and key.
func ParseS3URI(uri string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URI", uri)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q has no bucket", uri)
	}
	return bucket, key, nil
}
