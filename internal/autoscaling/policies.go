package autoscaling

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"slices"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// metricTypes are the PredefinedMetricType values (for enum validation).
var metricTypes = []string{"DynamoDBReadCapacityUtilization", "DynamoDBWriteCapacityUtilization", "ALBRequestCountPerTarget",
	"RDSReaderAverageCPUUtilization", "RDSReaderAverageDatabaseConnections", "EC2SpotFleetRequestAverageCPUUtilization",
	"EC2SpotFleetRequestAverageNetworkIn", "EC2SpotFleetRequestAverageNetworkOut", "SageMakerVariantInvocationsPerInstance",
	"ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization", "AppStreamAverageCapacityUtilization",
	"ComprehendInferenceUtilization", "LambdaProvisionedConcurrencyUtilization", "CassandraReadCapacityUtilization",
	"CassandraWriteCapacityUtilization", "KafkaBrokerStorageUtilization", "ElastiCacheEngineCPUUtilization",
	"ElastiCacheDatabaseMemoryUsagePercentage", "ElastiCachePrimaryEngineCPUUtilization",
	"ElastiCacheReplicaEngineCPUUtilization", "ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage",
	"NeptuneReaderAverageCPUUtilization", "SageMakerVariantProvisionedConcurrencyUtilization",
	"ElastiCacheDatabaseCapacityUsageCountedForEvictPercentage", "SageMakerInferenceComponentInvocationsPerCopy",
	"WorkSpacesAverageUserSessionsCapacityUtilization", "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
	"SageMakerVariantConcurrentRequestsPerModelHighResolution", "ECSServiceAverageCPUUtilizationHighResolution",
	"ECSServiceAverageMemoryUtilizationHighResolution"}

// targetTrackingConfig is the part of TargetTrackingScalingPolicyConfiguration
// the scaler reads.
type targetTrackingConfig struct {
	TargetValue                   *float64 `json:"TargetValue"`
	PredefinedMetricSpecification *struct {
		PredefinedMetricType string `json:"PredefinedMetricType"`
		ResourceLabel        string `json:"ResourceLabel"`
	} `json:"PredefinedMetricSpecification"`
	CustomizedMetricSpecification *struct {
		MetricName string `json:"MetricName"`
		Namespace  string `json:"Namespace"`
		Dimensions []struct {
			Name  string `json:"Name"`
			Value string `json:"Value"`
		} `json:"Dimensions"`
		Statistic string          `json:"Statistic"`
		Unit      string          `json:"Unit"`
		Metrics   json.RawMessage `json:"Metrics"`
	} `json:"CustomizedMetricSpecification"`
	ScaleOutCooldown *int  `json:"ScaleOutCooldown"`
	ScaleInCooldown  *int  `json:"ScaleInCooldown"`
	DisableScaleIn   *bool `json:"DisableScaleIn"`
}

// parseTargetTracking validates a target tracking configuration for a
// Lambda target and fills the policy's parsed fields. The metric is
// LambdaProvisionedConcurrencyUtilization (Average statistic, as the
// alarms AWS creates use), or the customized form of the same metric
// (AWS/Lambda ProvisionedConcurrencyUtilization with the function's
// FunctionName and Resource dimensions) with its own statistic.
func parseTargetTracking(p *policyRecord, raw json.RawMessage) error {
	var c targetTrackingConfig
	if err := protocol.UnmarshalJSON(raw, &c); err != nil {
		return err
	}
	const field = "targetTrackingScalingPolicyConfiguration"
	var v validationErrors
	v.required(field+".targetValue", c.TargetValue != nil)
	if c.PredefinedMetricSpecification != nil {
		v.required(field+".predefinedMetricSpecification.predefinedMetricType", c.PredefinedMetricSpecification.PredefinedMetricType != "")
		v.enum(field+".predefinedMetricSpecification.predefinedMetricType", c.PredefinedMetricSpecification.PredefinedMetricType, metricTypes)
	}
	if c.CustomizedMetricSpecification != nil {
		v.enum(field+".customizedMetricSpecification.statistic", c.CustomizedMetricSpecification.Statistic, metricStatistic)
	}
	if err := v.err(); err != nil {
		return err
	}
	if (c.PredefinedMetricSpecification == nil) == (c.CustomizedMetricSpecification == nil) {
		return errValidation("Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification must be specified")
	}
	name, qualifier := p.function()
	switch {
	case c.PredefinedMetricSpecification != nil:
		if t := c.PredefinedMetricSpecification.PredefinedMetricType; t != lambdaMetric {
			return errValidation("Unsupported predefined metric type %s for service namespace lambda: use %s", t, lambdaMetric)
		}
		p.Statistic = "Average"
	default:
		m := c.CustomizedMetricSpecification
		if len(m.Metrics) > 0 && string(m.Metrics) != "null" {
			return errValidation("Fogbank supports only the ProvisionedConcurrencyUtilization metric of namespace AWS/Lambda for Lambda targets; metric math (Metrics) is not supported")
		}
		dims := map[string]string{}
		for _, d := range m.Dimensions {
			dims[d.Name] = d.Value
		}
		if m.Namespace != "AWS/Lambda" || m.MetricName != "ProvisionedConcurrencyUtilization" ||
			dims["FunctionName"] != name || (dims["Resource"] != name+":"+qualifier && dims["Resource"] != "") {
			return errValidation("Fogbank supports only the ProvisionedConcurrencyUtilization metric of namespace AWS/Lambda with dimensions FunctionName=%s and Resource=%s:%s for this target", name, name, qualifier)
		}
		switch m.Statistic {
		case "Average", "Maximum", "Minimum":
			p.Statistic = m.Statistic
		default:
			return errValidation("Fogbank supports the Average, Maximum and Minimum statistics of ProvisionedConcurrencyUtilization, not %q", m.Statistic)
		}
	}
	t := *c.TargetValue
	if math.IsNaN(t) || t < 0.1 || t > 0.9 {
		return errValidation("The target value for the LambdaProvisionedConcurrencyUtilization metric must be between 0.1 and 0.9")
	}
	p.Target = t
	p.ScaleInCooldown, p.ScaleOutCooldown, p.DisableScaleIn = 0, 0, false
	if c.ScaleInCooldown != nil {
		if *c.ScaleInCooldown < 0 {
			return errValidation("ScaleInCooldown must be greater than or equal to 0")
		}
		p.ScaleInCooldown = *c.ScaleInCooldown
	}
	if c.ScaleOutCooldown != nil {
		if *c.ScaleOutCooldown < 0 {
			return errValidation("ScaleOutCooldown must be greater than or equal to 0")
		}
		p.ScaleOutCooldown = *c.ScaleOutCooldown
	}
	if c.DisableScaleIn != nil {
		p.DisableScaleIn = *c.DisableScaleIn
	}
	p.Config = raw
	return nil
}

func policyKey(targetKey, name string) string { return targetKey + "/" + url.PathEscape(name) }

func (s *Service) putScalingPolicy(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		targetID
		PolicyName                               string          `json:"PolicyName"`
		PolicyType                               string          `json:"PolicyType"`
		TargetTrackingScalingPolicyConfiguration json.RawMessage `json:"TargetTrackingScalingPolicyConfiguration"`
		StepScalingPolicyConfiguration           json.RawMessage `json:"StepScalingPolicyConfiguration"`
		PredictiveScalingPolicyConfiguration     json.RawMessage `json:"PredictiveScalingPolicyConfiguration"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	call.RequestParameters = in
	var v validationErrors
	v.required("policyName", in.PolicyName != "")
	v.length("policyName", in.PolicyName, 1, 256)
	v.enum("policyType", in.PolicyType, policyTypes)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	switch in.PolicyType {
	case "TargetTrackingScaling":
	case "":
		return nil, errValidation("PolicyType is required when creating a scaling policy; Lambda provisioned concurrency supports TargetTrackingScaling")
	default:
		return nil, errValidation("Unsupported policy type %s for service namespace lambda: Lambda provisioned concurrency supports TargetTrackingScaling", in.PolicyType)
	}
	if len(in.TargetTrackingScalingPolicyConfiguration) == 0 || string(in.TargetTrackingScalingPolicyConfiguration) == "null" {
		return nil, errValidation("TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy")
	}
	tk := in.key(call.Account, call.Region)
	if _, _, err := s.loadTarget(ctx, call.Account, call.Region, in.targetID); err != nil {
		return nil, err
	}
	key := policyKey(tk, in.PolicyName)
	for {
		p, ver, err := storage.GetJSON[policyRecord](ctx, s.deps.Meta, nsPolicies, key)
		if errors.Is(err, storage.ErrNotFound) {
			id := s.deps.IDs.UUID()
			p = policyRecord{targetID: in.targetID, Name: in.PolicyName, Created: call.Time,
				ARN: "arn:aws:autoscaling:" + call.Region + ":" + call.Account + ":scalingPolicy:" + id +
					":resource/" + in.Namespace + "/" + in.ResourceID + ":policyName/" + in.PolicyName}
			alarmARN := "arn:aws:cloudwatch:" + call.Region + ":" + call.Account + ":alarm:"
			high := "TargetTracking-" + in.ResourceID + "-AlarmHigh-" + s.deps.IDs.UUID()
			low := "TargetTracking-" + in.ResourceID + "-AlarmLow-" + s.deps.IDs.UUID()
			p.Alarms = []alarm{{AlarmName: high, AlarmARN: alarmARN + high}, {AlarmName: low, AlarmARN: alarmARN + low}}
			ver = storage.MustNotExist
		} else if err != nil {
			return nil, err
		}
		p.Type = in.PolicyType
		if err := parseTargetTracking(&p, in.TargetTrackingScalingPolicyConfiguration); err != nil {
			return nil, err
		}
		if _, err := storage.PutJSON(ctx, s.deps.Meta, nsPolicies, key, p, ver); errors.Is(err, storage.ErrConflict) {
			continue
		} else if err != nil {
			return nil, err
		}
		call.Resources = []service.Resource{{Type: "AWS::ApplicationAutoScaling::ScalingPolicy", Name: p.ARN}}
		return map[string]any{"PolicyARN": p.ARN, "Alarms": p.Alarms}, nil
	}
}

type scalingPolicyOut struct {
	PolicyARN                                string                `json:"PolicyARN"`
	PolicyName                               string                `json:"PolicyName"`
	ServiceNamespace                         string                `json:"ServiceNamespace"`
	ResourceID                               string                `json:"ResourceId"`
	ScalableDimension                        string                `json:"ScalableDimension"`
	PolicyType                               string                `json:"PolicyType"`
	TargetTrackingScalingPolicyConfiguration json.RawMessage       `json:"TargetTrackingScalingPolicyConfiguration,omitempty"`
	Alarms                                   []alarm               `json:"Alarms"`
	CreationTime                             protocol.EpochSeconds `json:"CreationTime"`
}

func (s *Service) describeScalingPolicies(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		ServiceNamespace  string   `json:"ServiceNamespace"`
		PolicyNames       []string `json:"PolicyNames"`
		ResourceID        string   `json:"ResourceId"`
		ScalableDimension string   `json:"ScalableDimension"`
		MaxResults        *int     `json:"MaxResults"`
		NextToken         string   `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v validationErrors
	v.required("serviceNamespace", in.ServiceNamespace != "")
	v.enum("serviceNamespace", in.ServiceNamespace, serviceNamespaces)
	v.enum("scalableDimension", in.ScalableDimension, scalableDimensions)
	if err := v.err(); err != nil {
		return nil, err
	}
	size, err := pageSize(in.MaxResults, 10)
	if err != nil {
		return nil, err
	}
	recs, keys, err := storage.ListJSON[policyRecord](ctx, s.deps.Meta, nsPolicies, call.Account+"/"+call.Region+"/"+in.ServiceNamespace+"/")
	if err != nil {
		return nil, err
	}
	var sel []policyRecord
	var selKeys []string
	for i, p := range recs {
		if (len(in.PolicyNames) > 0 && !slices.Contains(in.PolicyNames, p.Name)) ||
			(in.ResourceID != "" && p.ResourceID != in.ResourceID) ||
			(in.ScalableDimension != "" && p.Dimension != in.ScalableDimension) {
			continue
		}
		sel, selKeys = append(sel, p), append(selKeys, keys[i])
	}
	page, next, err := paginate(sel, selKeys, in.NextToken, size)
	if err != nil {
		return nil, err
	}
	items := make([]scalingPolicyOut, 0, len(page))
	for _, p := range page {
		items = append(items, scalingPolicyOut{PolicyARN: p.ARN, PolicyName: p.Name, ServiceNamespace: p.Namespace,
			ResourceID: p.ResourceID, ScalableDimension: p.Dimension, PolicyType: p.Type,
			TargetTrackingScalingPolicyConfiguration: p.Config, Alarms: p.Alarms, CreationTime: epoch(p.Created)})
	}
	out := map[string]any{"ScalingPolicies": items}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (s *Service) deleteScalingPolicy(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		targetID
		PolicyName string `json:"PolicyName"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	call.RequestParameters = in
	var v validationErrors
	v.required("policyName", in.PolicyName != "")
	v.length("policyName", in.PolicyName, 1, 256)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	err := s.deps.Meta.Delete(ctx, nsPolicies, policyKey(in.key(call.Account, call.Region), in.PolicyName), storage.AnyVersion)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errObjectNotFound("No scaling policy found for service namespace: %s, resource ID: %s, scalable dimension: %s, policy name: %s",
			in.Namespace, in.ResourceID, in.Dimension, in.PolicyName)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}
