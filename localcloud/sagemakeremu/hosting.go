package sagemakeremu

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/gomlops/mlops/localcloud/awsproto"
)

// Endpoint statuses.
const (
	epCreating    = "Creating"
	epUpdating    = "Updating"
	epInService   = "InService"
	epRollingBack = "RollingBack"
	epFailed      = "Failed"
	epDeleting    = "Deleting"
)

// ---- models ----

// ContainerDefinition is a model's container.
type ContainerDefinition struct {
	Image           string            `json:"Image,omitempty"`
	ModelDataURL    string            `json:"ModelDataUrl,omitempty"`
	Environment     map[string]string `json:"Environment,omitempty"`
	Mode            string            `json:"Mode,omitempty"`
	ContainerHost   string            `json:"ContainerHostname,omitempty"`
	ModelDataSource json.RawMessage   `json:"ModelDataSource,omitempty"`
}

// CreateModelInput is the CreateModel request.
type CreateModelInput struct {
	ModelName              string                `json:"ModelName"`
	PrimaryContainer       *ContainerDefinition  `json:"PrimaryContainer,omitempty"`
	Containers             []ContainerDefinition `json:"Containers,omitempty"`
	ExecutionRoleArn       string                `json:"ExecutionRoleArn,omitempty"`
	EnableNetworkIsolation *bool                 `json:"EnableNetworkIsolation,omitempty"`
	VpcConfig              json.RawMessage       `json:"VpcConfig,omitempty"`
	Tags                   []Tag                 `json:"Tags,omitempty"`
}

type model struct {
	Request      CreateModelInput `json:"request"`
	ARN          string           `json:"arn"`
	CreationTime time.Time        `json:"creationTime"`
}

// container returns the container the local cloud serves.
func (m *model) container() ContainerDefinition {
	if m.Request.PrimaryContainer != nil {
		return *m.Request.PrimaryContainer
	}
	return m.Request.Containers[0]
}

// CreateModelOutput is the CreateModel answer.
type CreateModelOutput struct {
	ModelArn string `json:"ModelArn"`
}

// CreateModel registers a model.
func (s *Service) CreateModel(_ context.Context, in *CreateModelInput) (*CreateModelOutput, error) {
	var c checks
	c.str("modelName", in.ModelName, 1, 63, nameRE, namePattern)
	if in.ExecutionRoleArn != "" {
		c.str("executionRoleArn", in.ExecutionRoleArn, 20, 2048, roleRE, rolePattern)
	}
	c.count("containers", len(in.Containers), 0, 15)
	validContainer := func(p string, ct ContainerDefinition) {
		if ct.Image != "" {
			c.str(p+".image", ct.Image, 0, 255, imageRE, imagePattern)
		}
		if ct.ModelDataURL != "" {
			c.str(p+".modelDataUrl", ct.ModelDataURL, 0, 1024, s3URIRE, s3URIPattern)
		}
	}
	if in.PrimaryContainer != nil {
		validContainer("primaryContainer", *in.PrimaryContainer)
	}
	for i, ct := range in.Containers {
		validContainer(fmt.Sprintf("containers.%d.member", i+1), ct)
	}
	c.tags(in.Tags)
	if err := c.err(); err != nil {
		return nil, err
	}
	if (in.PrimaryContainer == nil) == (len(in.Containers) == 0) {
		return nil, awsproto.Validation("Exactly one of PrimaryContainer or Containers must be specified.")
	}
	m := &model{Request: *in, ARN: s.arn("model", in.ModelName)}
	if m.container().Image == "" {
		return nil, awsproto.Validation("Container image must be specified.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.models[in.ModelName]; ok {
		return nil, awsproto.Validation("Cannot create already existing model %q.", m.ARN)
	}
	m.CreationTime = s.now()
	s.models[in.ModelName] = m
	s.save()
	return &CreateModelOutput{ModelArn: m.ARN}, nil
}

// ModelNameInput names a model.
type ModelNameInput struct {
	ModelName string `json:"ModelName"`
}

// DescribeModelOutput describes a model.
type DescribeModelOutput struct {
	CreateModelInput
	ModelArn     string     `json:"ModelArn"`
	CreationTime *Timestamp `json:"CreationTime"`
}

// DescribeModel reports a model.
func (s *Service) DescribeModel(_ context.Context, in *ModelNameInput) (*DescribeModelOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.models[in.ModelName]
	if !ok {
		return nil, awsproto.Validation("Could not find model %q.", s.arn("model", in.ModelName))
	}
	out := &DescribeModelOutput{CreateModelInput: m.Request, ModelArn: m.ARN, CreationTime: ts(m.CreationTime)}
	out.Tags = nil
	return out, nil
}

// DeleteModel removes a model (endpoints already serving it keep serving,
// as on AWS).
func (s *Service) DeleteModel(_ context.Context, in *ModelNameInput) (*struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.models[in.ModelName]; !ok {
		return nil, awsproto.Validation("Could not find model %q.", s.arn("model", in.ModelName))
	}
	delete(s.models, in.ModelName)
	s.save()
	return &struct{}{}, nil
}

// ---- endpoint configurations ----

// ProductionVariant is one variant of an endpoint configuration.
type ProductionVariant struct {
	VariantName          string          `json:"VariantName"`
	ModelName            string          `json:"ModelName,omitempty"`
	InitialInstanceCount *int64          `json:"InitialInstanceCount,omitempty"`
	InstanceType         string          `json:"InstanceType,omitempty"`
	InitialVariantWeight *float64        `json:"InitialVariantWeight,omitempty"`
	ServerlessConfig     json.RawMessage `json:"ServerlessConfig,omitempty"`
}

// CaptureOption is one captured direction.
type CaptureOption struct {
	CaptureMode string `json:"CaptureMode"`
}

// CaptureContentTypeHeader lists the content types captured as text.
type CaptureContentTypeHeader struct {
	CsvContentTypes  []string `json:"CsvContentTypes,omitempty"`
	JSONContentTypes []string `json:"JsonContentTypes,omitempty"`
}

// DataCaptureConfig configures data capture.
type DataCaptureConfig struct {
	EnableCapture             *bool                     `json:"EnableCapture,omitempty"`
	InitialSamplingPercentage *int64                    `json:"InitialSamplingPercentage,omitempty"`
	DestinationS3URI          string                    `json:"DestinationS3Uri"`
	KmsKeyID                  string                    `json:"KmsKeyId,omitempty"`
	CaptureOptions            []CaptureOption           `json:"CaptureOptions,omitempty"`
	CaptureContentTypeHeader  *CaptureContentTypeHeader `json:"CaptureContentTypeHeader,omitempty"`
}

// enabled reports whether capture is on (EnableCapture defaults to true).
func (d *DataCaptureConfig) enabled() bool {
	return d != nil && (d.EnableCapture == nil || *d.EnableCapture)
}

// CreateEndpointConfigInput is the CreateEndpointConfig request.
type CreateEndpointConfigInput struct {
	EndpointConfigName string              `json:"EndpointConfigName"`
	ProductionVariants []ProductionVariant `json:"ProductionVariants"`
	DataCaptureConfig  *DataCaptureConfig  `json:"DataCaptureConfig,omitempty"`
	KmsKeyID           string              `json:"KmsKeyId,omitempty"`
	Tags               []Tag               `json:"Tags,omitempty"`
	AsyncInferenceCfg  json.RawMessage     `json:"AsyncInferenceConfig,omitempty"`
}

type endpointConfig struct {
	Request      CreateEndpointConfigInput `json:"request"`
	ARN          string                    `json:"arn"`
	CreationTime time.Time                 `json:"creationTime"`
}

// CreateEndpointConfigOutput is the CreateEndpointConfig answer.
type CreateEndpointConfigOutput struct {
	EndpointConfigArn string `json:"EndpointConfigArn"`
}

// CreateEndpointConfig registers an endpoint configuration. Its models must
// exist.
func (s *Service) CreateEndpointConfig(_ context.Context, in *CreateEndpointConfigInput) (*CreateEndpointConfigOutput, error) {
	var c checks
	c.str("endpointConfigName", in.EndpointConfigName, 1, 63, nameRE, namePattern)
	c.count("productionVariants", len(in.ProductionVariants), 1, 10)
	for i, v := range in.ProductionVariants {
		p := fmt.Sprintf("productionVariants.%d.member", i+1)
		c.str(p+".variantName", v.VariantName, 1, 63, nameRE, namePattern)
		c.str(p+".modelName", v.ModelName, 1, 63, nameRE, namePattern)
		if v.ServerlessConfig == nil {
			c.enum(p+".instanceType", v.InstanceType, enumValues(smtypes.ProductionVariantInstanceType("").Values()))
			if c.required(p+".initialInstanceCount", v.InitialInstanceCount != nil) {
				c.num(p+".initialInstanceCount", *v.InitialInstanceCount, 1, 0)
			}
		}
		if v.InitialVariantWeight != nil && *v.InitialVariantWeight < 0 {
			c.add(quote(fmt.Sprint(*v.InitialVariantWeight)), p+".initialVariantWeight", "have value greater than or equal to 0")
		}
	}
	if d := in.DataCaptureConfig; d != nil {
		if c.required("dataCaptureConfig.initialSamplingPercentage", d.InitialSamplingPercentage != nil) {
			c.num("dataCaptureConfig.initialSamplingPercentage", *d.InitialSamplingPercentage, 0, 100)
		}
		c.str("dataCaptureConfig.destinationS3Uri", d.DestinationS3URI, 0, 512, s3URIRE, s3URIPattern)
		c.str("dataCaptureConfig.kmsKeyId", d.KmsKeyID, 0, 2048, kmsRE, kmsPattern)
		c.count("dataCaptureConfig.captureOptions", len(d.CaptureOptions), 1, 2)
		for i, o := range d.CaptureOptions {
			c.enum(fmt.Sprintf("dataCaptureConfig.captureOptions.%d.member.captureMode", i+1), o.CaptureMode, enumValues(smtypes.CaptureMode("").Values()))
		}
		if h := d.CaptureContentTypeHeader; h != nil {
			c.count("dataCaptureConfig.captureContentTypeHeader.csvContentTypes", len(h.CsvContentTypes), 0, 10)
			c.count("dataCaptureConfig.captureContentTypeHeader.jsonContentTypes", len(h.JSONContentTypes), 0, 10)
		}
	}
	c.str("kmsKeyId", in.KmsKeyID, 0, 2048, kmsRE, kmsPattern)
	c.tags(in.Tags)
	if err := c.err(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, v := range in.ProductionVariants {
		if seen[v.VariantName] {
			return nil, awsproto.Validation("Variant names must be unique: %q is repeated.", v.VariantName)
		}
		seen[v.VariantName] = true
	}
	if d := in.DataCaptureConfig; d != nil && !strings.HasPrefix(d.DestinationS3URI, "s3://") {
		return nil, awsproto.Validation("DestinationS3Uri %q must be an s3:// URI.", d.DestinationS3URI)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range in.ProductionVariants {
		if _, ok := s.models[v.ModelName]; !ok {
			return nil, awsproto.Validation("Could not find model %q.", s.arn("model", v.ModelName))
		}
	}
	arn := s.arn("endpoint-config", in.EndpointConfigName)
	if _, ok := s.configs[in.EndpointConfigName]; ok {
		return nil, awsproto.Validation("Cannot create already existing endpoint configuration %q.", arn)
	}
	s.configs[in.EndpointConfigName] = &endpointConfig{Request: *in, ARN: arn, CreationTime: s.now()}
	s.save()
	return &CreateEndpointConfigOutput{EndpointConfigArn: arn}, nil
}

// EndpointConfigNameInput names an endpoint configuration.
type EndpointConfigNameInput struct {
	EndpointConfigName string `json:"EndpointConfigName"`
}

// DescribeEndpointConfigOutput describes an endpoint configuration.
type DescribeEndpointConfigOutput struct {
	CreateEndpointConfigInput
	EndpointConfigArn string     `json:"EndpointConfigArn"`
	CreationTime      *Timestamp `json:"CreationTime"`
}

// DescribeEndpointConfig reports an endpoint configuration.
func (s *Service) DescribeEndpointConfig(_ context.Context, in *EndpointConfigNameInput) (*DescribeEndpointConfigOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, ok := s.configs[in.EndpointConfigName]
	if !ok {
		return nil, awsproto.Validation("Could not find endpoint configuration %q.", s.arn("endpoint-config", in.EndpointConfigName))
	}
	out := &DescribeEndpointConfigOutput{CreateEndpointConfigInput: cfg.Request, EndpointConfigArn: cfg.ARN, CreationTime: ts(cfg.CreationTime)}
	out.Tags = nil
	return out, nil
}

// DeleteEndpointConfig removes an endpoint configuration (endpoints using
// it keep running, as on AWS).
func (s *Service) DeleteEndpointConfig(_ context.Context, in *EndpointConfigNameInput) (*struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.configs[in.EndpointConfigName]; !ok {
		return nil, awsproto.Validation("Could not find endpoint configuration %q.", s.arn("endpoint-config", in.EndpointConfigName))
	}
	delete(s.configs, in.EndpointConfigName)
	s.save()
	return &struct{}{}, nil
}

// ---- endpoints ----

// DeploymentConfig is an UpdateEndpoint's blue/green policy.
type DeploymentConfig struct {
	BlueGreenUpdatePolicy *struct {
		TrafficRoutingConfiguration *struct {
			Type                  string          `json:"Type"`
			WaitIntervalInSeconds *int64          `json:"WaitIntervalInSeconds,omitempty"`
			CanarySize            json.RawMessage `json:"CanarySize,omitempty"`
			LinearStepSize        json.RawMessage `json:"LinearStepSize,omitempty"`
		} `json:"TrafficRoutingConfiguration,omitempty"`
		TerminationWaitInSeconds         *int64 `json:"TerminationWaitInSeconds,omitempty"`
		MaximumExecutionTimeoutInSeconds *int64 `json:"MaximumExecutionTimeoutInSeconds,omitempty"`
	} `json:"BlueGreenUpdatePolicy,omitempty"`
	AutoRollbackConfiguration *struct {
		Alarms []struct {
			AlarmName string `json:"AlarmName"`
		} `json:"Alarms,omitempty"`
	} `json:"AutoRollbackConfiguration,omitempty"`
	RollingUpdatePolicy json.RawMessage `json:"RollingUpdatePolicy,omitempty"`
}

func (d *DeploymentConfig) bake() time.Duration {
	if d == nil || d.BlueGreenUpdatePolicy == nil || d.BlueGreenUpdatePolicy.TrafficRoutingConfiguration == nil || d.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.WaitIntervalInSeconds == nil {
		return 0
	}
	return time.Duration(*d.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.WaitIntervalInSeconds) * time.Second
}

func (d *DeploymentConfig) termination() time.Duration {
	if d == nil || d.BlueGreenUpdatePolicy == nil || d.BlueGreenUpdatePolicy.TerminationWaitInSeconds == nil {
		return 0
	}
	return time.Duration(*d.BlueGreenUpdatePolicy.TerminationWaitInSeconds) * time.Second
}

func (d *DeploymentConfig) alarms() []string {
	if d == nil || d.AutoRollbackConfiguration == nil {
		return nil
	}
	var out []string
	for _, a := range d.AutoRollbackConfiguration.Alarms {
		out = append(out, a.AlarmName)
	}
	return out
}

type endpoint struct {
	Name             string            `json:"name"`
	ARN              string            `json:"arn"`
	ConfigName       string            `json:"configName"`
	PendingConfig    string            `json:"pendingConfig,omitempty"`
	Status           string            `json:"status"`
	FailureReason    string            `json:"failureReason,omitempty"`
	CreationTime     time.Time         `json:"creationTime"`
	LastModifiedTime time.Time         `json:"lastModifiedTime"`
	PendingStart     time.Time         `json:"pendingStart,omitzero"`
	LastDeployment   *DeploymentConfig `json:"lastDeployment,omitempty"`
	// Config is a copy of the served configuration and its models, so the
	// endpoint keeps working when they are deleted.
	Config *fleetSpec `json:"config,omitempty"`

	gen      int
	serving  *fleet
	pending  *fleet
	retiring *fleet
}

// CreateEndpointInput is the CreateEndpoint request.
type CreateEndpointInput struct {
	EndpointName       string `json:"EndpointName"`
	EndpointConfigName string `json:"EndpointConfigName"`
	Tags               []Tag  `json:"Tags,omitempty"`
}

// CreateEndpointOutput is the CreateEndpoint answer.
type CreateEndpointOutput struct {
	EndpointArn string `json:"EndpointArn"`
}

// specLocked snapshots a configuration and its models; s.mu must be held.
func (s *Service) specLocked(configName string) (*fleetSpec, error) {
	cfg, ok := s.configs[configName]
	if !ok {
		return nil, awsproto.Validation("Could not find endpoint configuration %q.", s.arn("endpoint-config", configName))
	}
	spec := &fleetSpec{ConfigName: configName, Capture: cfg.Request.DataCaptureConfig}
	for _, v := range cfg.Request.ProductionVariants {
		m, ok := s.models[v.ModelName]
		if !ok {
			return nil, awsproto.Validation("Could not find model %q.", s.arn("model", v.ModelName))
		}
		weight := 1.0
		if v.InitialVariantWeight != nil {
			weight = *v.InitialVariantWeight
		}
		ct := m.container()
		spec.Variants = append(spec.Variants, variantSpec{Name: v.VariantName, Model: v.ModelName, Image: ct.Image, ModelDataURL: ct.ModelDataURL, Weight: weight, InstanceType: v.InstanceType, InstanceCount: deref(v.InitialInstanceCount)})
	}
	return spec, nil
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func validEndpointNames(endpointName, configName string) error {
	var c checks
	c.str("endpointName", endpointName, 1, 63, nameRE, namePattern)
	c.str("endpointConfigName", configName, 1, 63, nameRE, namePattern)
	return c.err()
}

// CreateEndpoint starts an endpoint: Creating, then InService once its
// model servers answer (or Failed).
func (s *Service) CreateEndpoint(_ context.Context, in *CreateEndpointInput) (*CreateEndpointOutput, error) {
	if err := validEndpointNames(in.EndpointName, in.EndpointConfigName); err != nil {
		return nil, err
	}
	var c checks
	c.tags(in.Tags)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, awsproto.Internal()
	}
	arn := s.arn("endpoint", in.EndpointName)
	if _, ok := s.endpoints[in.EndpointName]; ok {
		return nil, awsproto.Validation("Cannot create already existing endpoint %q.", arn)
	}
	spec, err := s.specLocked(in.EndpointConfigName)
	if err != nil {
		return nil, err
	}
	now := s.now()
	ep := &endpoint{Name: in.EndpointName, ARN: arn, ConfigName: in.EndpointConfigName, Status: epCreating, CreationTime: now, LastModifiedTime: now, Config: spec}
	s.endpoints[in.EndpointName] = ep
	s.startCreate(ep, true)
	s.save()
	return &CreateEndpointOutput{EndpointArn: arn}, nil
}

// startCreate brings ep's configuration up in the background; s.mu must be
// held. provision adds the emulated provisioning time.
func (s *Service) startCreate(ep *endpoint, provision bool) {
	ep.gen++
	gen, spec := ep.gen, ep.Config
	s.goBackground(func(ctx context.Context) {
		f, err := s.startFleet(ctx, ep.Name, spec)
		if err == nil && provision && !s.sleep(ctx, s.timings.EndpointProvision) {
			err = ctx.Err()
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if ep.gen != gen || s.closed {
			f.stop()
			return
		}
		now := s.now()
		ep.LastModifiedTime = now
		if err != nil {
			f.stop()
			ep.Status, ep.FailureReason = epFailed, err.Error()
			s.log.Warn("endpoint creation failed", "endpoint", ep.Name, "reason", err)
		} else {
			ep.serving, ep.Status, ep.FailureReason = f, epInService, ""
			s.log.Info("endpoint in service", "endpoint", ep.Name, "config", spec.ConfigName)
		}
		s.save()
	})
}

// UpdateEndpointInput is the UpdateEndpoint request.
type UpdateEndpointInput struct {
	EndpointName                   string            `json:"EndpointName"`
	EndpointConfigName             string            `json:"EndpointConfigName"`
	RetainAllVariantProperties     *bool             `json:"RetainAllVariantProperties,omitempty"`
	ExcludeRetainedVariantProperty json.RawMessage   `json:"ExcludeRetainedVariantProperties,omitempty"`
	DeploymentConfig               *DeploymentConfig `json:"DeploymentConfig,omitempty"`
	RetainDeploymentConfig         *bool             `json:"RetainDeploymentConfig,omitempty"`
}

// UpdateEndpointOutput is the UpdateEndpoint answer.
type UpdateEndpointOutput struct {
	EndpointArn string `json:"EndpointArn"`
}

// UpdateEndpoint deploys a new configuration blue/green: the new fleet is
// provisioned while the old one serves, takes all traffic once ready,
// bakes for WaitIntervalInSeconds while the rollback alarms are watched,
// and the old fleet is terminated after TerminationWaitInSeconds. An alarm
// in ALARM during the deployment rolls it back (RollingBack, then InService
// on the old configuration with a FailureReason).
func (s *Service) UpdateEndpoint(_ context.Context, in *UpdateEndpointInput) (*UpdateEndpointOutput, error) {
	if err := validEndpointNames(in.EndpointName, in.EndpointConfigName); err != nil {
		return nil, err
	}
	if d := in.DeploymentConfig; d != nil {
		var c checks
		if d.AutoRollbackConfiguration != nil {
			c.count("deploymentConfig.autoRollbackConfiguration.alarms", len(d.AutoRollbackConfiguration.Alarms), 1, 10)
		}
		if b := d.BlueGreenUpdatePolicy; b != nil {
			if t := b.TrafficRoutingConfiguration; c.required("deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration", t != nil) {
				c.enum("deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.type", t.Type, enumValues(smtypes.TrafficRoutingConfigType("").Values()))
				if t.WaitIntervalInSeconds != nil {
					c.num("deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.waitIntervalInSeconds", *t.WaitIntervalInSeconds, 0, 3600)
				}
			}
			if b.TerminationWaitInSeconds != nil {
				c.num("deploymentConfig.blueGreenUpdatePolicy.terminationWaitInSeconds", *b.TerminationWaitInSeconds, 0, 3600)
			}
		}
		if err := c.err(); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ep, ok := s.endpoints[in.EndpointName]
	if !ok {
		return nil, awsproto.Validation("Could not find endpoint %q.", s.arn("endpoint", in.EndpointName))
	}
	if ep.Status != epInService {
		return nil, awsproto.Validation("Cannot update in-progress endpoint %q.", ep.ARN)
	}
	spec, err := s.specLocked(in.EndpointConfigName)
	if err != nil {
		return nil, err
	}
	deployment := in.DeploymentConfig
	if deployment == nil && in.RetainDeploymentConfig != nil && *in.RetainDeploymentConfig {
		deployment = ep.LastDeployment
	}
	now := s.now()
	ep.gen++
	gen := ep.gen
	ep.Status, ep.PendingConfig, ep.PendingStart, ep.LastModifiedTime, ep.FailureReason = epUpdating, in.EndpointConfigName, now, now, ""
	ep.LastDeployment = deployment
	s.save()
	s.goBackground(func(ctx context.Context) { s.runUpdate(ctx, ep, gen, spec, deployment) })
	return &UpdateEndpointOutput{EndpointArn: ep.ARN}, nil
}

// runUpdate is the blue/green deployment of spec on ep.
func (s *Service) runUpdate(ctx context.Context, ep *endpoint, gen int, spec *fleetSpec, d *DeploymentConfig) {
	log := s.log.With("endpoint", ep.Name, "config", spec.ConfigName)
	green, err := s.startFleet(ctx, ep.Name, spec)
	if err == nil && !s.sleep(ctx, s.timings.EndpointProvision) {
		err = ctx.Err()
	}
	// current reports whether this deployment still owns the endpoint.
	current := func() bool { return ep.gen == gen && !s.closed }

	alarms := d.alarms()
	if err == nil {
		if fired := s.firedAlarm(ctx, alarms); fired != "" {
			s.rollBack(ctx, ep, gen, green, nil, fired, log)
			return
		}
	}
	s.mu.Lock()
	if !current() {
		s.mu.Unlock()
		green.stop()
		return
	}
	if err != nil {
		green.stop()
		now := s.now()
		ep.Status, ep.PendingConfig, ep.PendingStart, ep.LastModifiedTime = epInService, "", time.Time{}, now
		ep.FailureReason = fmt.Sprintf("Failed to update endpoint to configuration %q: %v. The endpoint keeps serving %q.", spec.ConfigName, err, ep.ConfigName)
		log.Warn("endpoint update failed", "reason", err)
		s.save()
		s.mu.Unlock()
		return
	}
	// All at once: the new fleet takes the traffic; the old one stays up
	// for a rollback until the deployment ends.
	blue, blueSpec, blueConfig := ep.serving, ep.Config, ep.ConfigName
	// The old fleet is kept (and stopped by Close or DeleteEndpoint) until
	// the termination wait ends.
	ep.serving, ep.retiring = green, blue
	s.save()
	s.mu.Unlock()
	log.Info("traffic shifted to the new fleet; baking", "bake", d.bake())

	bakeEnd := s.now().Add(d.bake())
	for {
		if fired := s.firedAlarm(ctx, alarms); fired != "" {
			s.rollBack(ctx, ep, gen, green, &rollbackTarget{blue, blueSpec, blueConfig}, fired, log)
			return
		}
		left := bakeEnd.Sub(s.now())
		if left <= 0 {
			break
		}
		if !s.sleep(ctx, min(left, s.timings.AlarmPoll)) {
			return
		}
	}
	s.mu.Lock()
	if !current() {
		s.mu.Unlock()
		return
	}
	now := s.now()
	ep.Status, ep.ConfigName, ep.Config, ep.PendingConfig, ep.PendingStart, ep.LastModifiedTime = epInService, spec.ConfigName, spec, "", time.Time{}, now
	s.save()
	s.mu.Unlock()
	log.Info("endpoint updated")
	if s.sleep(ctx, d.termination()) {
		s.mu.Lock()
		if ep.retiring == blue {
			ep.retiring = nil
		}
		s.mu.Unlock()
	}
	blue.stop()
}

type rollbackTarget struct {
	fleet  *fleet
	spec   *fleetSpec
	config string
}

// rollBack returns the traffic to the old fleet (when it had moved) and
// ends the deployment InService on the old configuration.
func (s *Service) rollBack(ctx context.Context, ep *endpoint, gen int, green *fleet, back *rollbackTarget, alarm string, log *slog.Logger) {
	s.mu.Lock()
	if ep.gen != gen || s.closed {
		s.mu.Unlock()
		green.stop()
		return
	}
	ep.Status, ep.LastModifiedTime = epRollingBack, s.now()
	if back != nil {
		ep.serving, ep.retiring = back.fleet, nil
	}
	s.save()
	s.mu.Unlock()
	log.Warn("rolling back the deployment", "alarm", alarm)
	green.stop()
	ok := s.sleep(ctx, s.timings.AlarmPoll)
	s.mu.Lock()
	defer s.mu.Unlock()
	if ep.gen != gen || s.closed || !ok {
		return
	}
	pending := ep.PendingConfig
	ep.Status, ep.PendingConfig, ep.PendingStart, ep.LastModifiedTime = epInService, "", time.Time{}, s.now()
	ep.FailureReason = fmt.Sprintf("Deployment of endpoint configuration %q was rolled back because CloudWatch alarm %q went into ALARM state.", pending, alarm)
	s.save()
}

// firedAlarm returns the first listed alarm in ALARM, or "".
func (s *Service) firedAlarm(ctx context.Context, alarms []string) string {
	if s.opts.Alarms == nil {
		return ""
	}
	for _, a := range alarms {
		state, err := s.opts.Alarms.AlarmState(ctx, a)
		if err != nil {
			s.log.Warn("read rollback alarm", "alarm", a, "error", err)
			continue
		}
		if state == "ALARM" {
			return a
		}
	}
	return ""
}

// EndpointNameInput names an endpoint.
type EndpointNameInput struct {
	EndpointName string `json:"EndpointName"`
}

// ProductionVariantSummary is a variant's runtime state.
type ProductionVariantSummary struct {
	VariantName          string          `json:"VariantName"`
	DeployedImages       []DeployedImage `json:"DeployedImages,omitempty"`
	CurrentWeight        float64         `json:"CurrentWeight"`
	DesiredWeight        float64         `json:"DesiredWeight"`
	CurrentInstanceCount int64           `json:"CurrentInstanceCount"`
	DesiredInstanceCount int64           `json:"DesiredInstanceCount"`
}

// DeployedImage is the image a variant runs.
type DeployedImage struct {
	SpecifiedImage string     `json:"SpecifiedImage"`
	ResolvedImage  string     `json:"ResolvedImage"`
	ResolutionTime *Timestamp `json:"ResolutionTime,omitempty"`
}

// DataCaptureConfigSummary is an endpoint's capture state.
type DataCaptureConfigSummary struct {
	EnableCapture             bool   `json:"EnableCapture"`
	CaptureStatus             string `json:"CaptureStatus"`
	CurrentSamplingPercentage int64  `json:"CurrentSamplingPercentage"`
	DestinationS3URI          string `json:"DestinationS3Uri"`
	KmsKeyID                  string `json:"KmsKeyId"`
}

// PendingDeploymentSummary is the deployment in progress.
type PendingDeploymentSummary struct {
	EndpointConfigName string                     `json:"EndpointConfigName"`
	ProductionVariants []ProductionVariantSummary `json:"ProductionVariants,omitempty"`
	StartTime          *Timestamp                 `json:"StartTime,omitempty"`
}

// DescribeEndpointOutput describes an endpoint.
type DescribeEndpointOutput struct {
	EndpointName             string                     `json:"EndpointName"`
	EndpointArn              string                     `json:"EndpointArn"`
	EndpointConfigName       string                     `json:"EndpointConfigName"`
	ProductionVariants       []ProductionVariantSummary `json:"ProductionVariants,omitempty"`
	DataCaptureConfig        *DataCaptureConfigSummary  `json:"DataCaptureConfig,omitempty"`
	EndpointStatus           string                     `json:"EndpointStatus"`
	FailureReason            string                     `json:"FailureReason,omitempty"`
	CreationTime             *Timestamp                 `json:"CreationTime"`
	LastModifiedTime         *Timestamp                 `json:"LastModifiedTime"`
	LastDeploymentConfig     *DeploymentConfig          `json:"LastDeploymentConfig,omitempty"`
	PendingDeploymentSummary *PendingDeploymentSummary  `json:"PendingDeploymentSummary,omitempty"`
}

func variantSummaries(spec *fleetSpec, at time.Time) []ProductionVariantSummary {
	var out []ProductionVariantSummary
	for _, v := range spec.Variants {
		out = append(out, ProductionVariantSummary{
			VariantName:    v.Name,
			DeployedImages: []DeployedImage{{SpecifiedImage: v.Image, ResolvedImage: v.Image, ResolutionTime: ts(at)}},
			CurrentWeight:  v.Weight, DesiredWeight: v.Weight,
			CurrentInstanceCount: v.InstanceCount, DesiredInstanceCount: v.InstanceCount,
		})
	}
	return out
}

// DescribeEndpoint reports an endpoint.
func (s *Service) DescribeEndpoint(_ context.Context, in *EndpointNameInput) (*DescribeEndpointOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep, ok := s.endpoints[in.EndpointName]
	if !ok {
		return nil, awsproto.Validation("Could not find endpoint %q.", s.arn("endpoint", in.EndpointName))
	}
	out := &DescribeEndpointOutput{
		EndpointName: ep.Name, EndpointArn: ep.ARN, EndpointConfigName: ep.ConfigName,
		EndpointStatus: ep.Status, FailureReason: ep.FailureReason,
		CreationTime: ts(ep.CreationTime), LastModifiedTime: ts(ep.LastModifiedTime),
		LastDeploymentConfig: ep.LastDeployment,
	}
	if ep.Status != epCreating && ep.Status != epFailed {
		out.ProductionVariants = variantSummaries(ep.Config, ep.CreationTime)
	}
	if d := ep.Config.Capture; d != nil {
		status := "Stopped"
		if d.enabled() {
			status = "Started"
		}
		out.DataCaptureConfig = &DataCaptureConfigSummary{EnableCapture: d.enabled(), CaptureStatus: status, CurrentSamplingPercentage: deref(d.InitialSamplingPercentage), DestinationS3URI: d.DestinationS3URI, KmsKeyID: d.KmsKeyID}
	}
	if ep.PendingConfig != "" {
		out.PendingDeploymentSummary = &PendingDeploymentSummary{EndpointConfigName: ep.PendingConfig, StartTime: ts(ep.PendingStart)}
	}
	return out, nil
}

// DeleteEndpoint stops the endpoint's model servers and removes it.
func (s *Service) DeleteEndpoint(_ context.Context, in *EndpointNameInput) (*struct{}, error) {
	s.mu.Lock()
	ep, ok := s.endpoints[in.EndpointName]
	if !ok {
		s.mu.Unlock()
		return nil, awsproto.Validation("Could not find endpoint %q.", s.arn("endpoint", in.EndpointName))
	}
	ep.gen++
	ep.Status = epDeleting
	fleets := []*fleet{ep.serving, ep.pending, ep.retiring}
	delete(s.endpoints, in.EndpointName)
	s.save()
	s.mu.Unlock()
	for _, f := range fleets {
		f.stop()
	}
	_ = os.RemoveAll(filepath.Join(s.dir, "endpoints", in.EndpointName))
	return &struct{}{}, nil
}

// ListEndpointsInput filters the endpoint list.
type ListEndpointsInput struct {
	NameContains string `json:"NameContains,omitempty"`
	StatusEquals string `json:"StatusEquals,omitempty"`
	MaxResults   int    `json:"MaxResults,omitempty"`
}

// EndpointSummary is one listed endpoint.
type EndpointSummary struct {
	EndpointName     string     `json:"EndpointName"`
	EndpointArn      string     `json:"EndpointArn"`
	EndpointStatus   string     `json:"EndpointStatus"`
	CreationTime     *Timestamp `json:"CreationTime"`
	LastModifiedTime *Timestamp `json:"LastModifiedTime"`
}

// ListEndpointsOutput lists endpoints, newest first.
type ListEndpointsOutput struct {
	Endpoints []EndpointSummary `json:"Endpoints"`
}

// ListEndpoints lists endpoints, newest first (no pagination).
func (s *Service) ListEndpoints(_ context.Context, in *ListEndpointsInput) (*ListEndpointsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &ListEndpointsOutput{Endpoints: []EndpointSummary{}}
	for name, ep := range s.endpoints {
		if in.NameContains != "" && !strings.Contains(name, in.NameContains) {
			continue
		}
		if in.StatusEquals != "" && ep.Status != in.StatusEquals {
			continue
		}
		out.Endpoints = append(out.Endpoints, EndpointSummary{EndpointName: name, EndpointArn: ep.ARN, EndpointStatus: ep.Status, CreationTime: ts(ep.CreationTime), LastModifiedTime: ts(ep.LastModifiedTime)})
	}
	sort.Slice(out.Endpoints, func(a, b int) bool { return out.Endpoints[a].CreationTime.After(out.Endpoints[b].CreationTime.Time) })
	if in.MaxResults > 0 && len(out.Endpoints) > in.MaxResults {
		out.Endpoints = out.Endpoints[:in.MaxResults]
	}
	return out, nil
}
