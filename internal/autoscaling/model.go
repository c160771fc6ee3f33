package autoscaling

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/protocol"
)

// Meta namespaces. Keys start with account/region/service-namespace.
const (
	nsTargets    = "autoscaling.targets"
	nsPolicies   = "autoscaling.policies"
	nsActivities = "autoscaling.activities"
)

const (
	lambdaNamespace = "lambda"
	lambdaDimension = "lambda:function:ProvisionedConcurrency"
	lambdaMetric    = "LambdaProvisionedConcurrencyUtilization"
	// activityRetention is how long AWS keeps scaling activities.
	activityRetention = 6 * 7 * 24 * time.Hour
)

// The enums of the API, in the order AWS lists them in validation messages.
var (
	serviceNamespaces = []string{"ecs", "elasticmapreduce", "ec2", "appstream", "dynamodb", "rds", "sagemaker",
		"custom-resource", "comprehend", "lambda", "cassandra", "kafka", "elasticache", "neptune", "workspaces"}
	scalableDimensions = []string{"ecs:service:DesiredCount", "ec2:spot-fleet-request:TargetCapacity",
		"elasticmapreduce:instancegroup:InstanceCount", "appstream:fleet:DesiredCapacity",
		"dynamodb:table:ReadCapacityUnits", "dynamodb:table:WriteCapacityUnits", "dynamodb:index:ReadCapacityUnits",
		"dynamodb:index:WriteCapacityUnits", "rds:cluster:ReadReplicaCount", "sagemaker:variant:DesiredInstanceCount",
		"custom-resource:ResourceType:Property", "comprehend:document-classifier-endpoint:DesiredInferenceUnits",
		"comprehend:entity-recognizer-endpoint:DesiredInferenceUnits", "lambda:function:ProvisionedConcurrency",
		"cassandra:table:ReadCapacityUnits", "cassandra:table:WriteCapacityUnits", "kafka:broker-storage:VolumeSize",
		"elasticache:cache-cluster:Nodes", "elasticache:replication-group:NodeGroups",
		"elasticache:replication-group:Replicas", "neptune:cluster:ReadReplicaCount",
		"sagemaker:variant:DesiredProvisionedConcurrency", "sagemaker:inference-component:DesiredCopyCount",
		"workspaces:workspacespool:DesiredUserSessions"}
	policyTypes     = []string{"StepScaling", "TargetTrackingScaling", "PredictiveScaling"}
	metricStatistic = []string{"Average", "Minimum", "Maximum", "SampleCount", "Sum"}
)

// targetID names a scalable target; its JSON names are the API's.
type targetID struct {
	Namespace  string `json:"ServiceNamespace"`
	ResourceID string `json:"ResourceId"`
	Dimension  string `json:"ScalableDimension"`
}

// function and qualifier of a Lambda resource ID (function:<name>:<qualifier>).
func (t targetID) function() (name, qualifier string) {
	parts := strings.Split(t.ResourceID, ":")
	if len(parts) != 3 {
		return "", ""
	}
	return parts[1], parts[2]
}

var (
	functionNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	qualifierRE    = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)
)

// validationErrors collects AWS's "N validation errors detected" messages.
type validationErrors []string

func (v *validationErrors) enum(field, value string, set []string) {
	if value != "" && !slices.Contains(set, value) {
		*v = append(*v, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [%s]",
			value, field, strings.Join(set, ", ")))
	}
}

func (v *validationErrors) required(field string, present bool) {
	if !present {
		*v = append(*v, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", field))
	}
}

func (v *validationErrors) length(field, value string, lo, hi int) {
	if value != "" && (len(value) < lo || len(value) > hi) {
		*v = append(*v, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must have length between %d and %d, inclusive",
			value, field, lo, hi))
	}
}

func (v validationErrors) err() error {
	switch len(v) {
	case 0:
		return nil
	case 1:
		return errValidation("1 validation error detected: %s", v[0])
	}
	return errValidation("%d validation errors detected: %s", len(v), strings.Join(v, "; "))
}

func checkNamespaceEnum(ns string) error {
	var v validationErrors
	v.required("serviceNamespace", ns != "")
	v.enum("serviceNamespace", ns, serviceNamespaces)
	return v.err()
}

// check validates a target's identity for an operation that names one
// target: the enums first (as AWS's model validation does), then whether
// Fogbank serves the combination (Lambda provisioned concurrency only).
func (t targetID) check() error {
	var v validationErrors
	v.required("serviceNamespace", t.Namespace != "")
	v.required("resourceId", t.ResourceID != "")
	v.required("scalableDimension", t.Dimension != "")
	v.enum("serviceNamespace", t.Namespace, serviceNamespaces)
	v.enum("scalableDimension", t.Dimension, scalableDimensions)
	v.length("resourceId", t.ResourceID, 1, 1600)
	if err := v.err(); err != nil {
		return err
	}
	if t.Namespace != lambdaNamespace || t.Dimension != lambdaDimension {
		return errUnsupported()
	}
	parts := strings.Split(t.ResourceID, ":")
	if len(parts) != 3 || parts[0] != "function" || !functionNameRE.MatchString(parts[1]) ||
		!qualifierRE.MatchString(parts[2]) || parts[2] == "$LATEST" {
		return errUnsupported()
	}
	return nil
}

func (t targetID) key(account, region string) string {
	return account + "/" + region + "/" + t.Namespace + "/" + url.PathEscape(t.ResourceID) + "/" + t.Dimension
}

// suspendedState is the API's SuspendedState.
type suspendedState struct {
	DynamicScalingInSuspended  bool `json:"DynamicScalingInSuspended"`
	DynamicScalingOutSuspended bool `json:"DynamicScalingOutSuspended"`
	ScheduledScalingSuspended  bool `json:"ScheduledScalingSuspended"`
}

// targetRecord is a registered scalable target and the scaler's durable
// state for it.
type targetRecord struct {
	targetID
	Account   string            `json:"account"`
	Region    string            `json:"region"`
	ARN       string            `json:"arn"`
	Min       int               `json:"min"`
	Max       int               `json:"max"`
	RoleARN   string            `json:"roleArn"`
	Suspended suspendedState    `json:"suspended"`
	Created   time.Time         `json:"created"`
	Tags      map[string]string `json:"tags,omitempty"`

	// Pending is the activity in progress (the scaler completes it when
	// Lambda reports the configuration READY or FAILED).
	Pending *pendingActivity `json:"pending,omitempty"`
	// LastScaleOut and LastScaleIn are when the last activity of each
	// kind completed (the cooldowns start then).
	LastScaleOut time.Time `json:"lastScaleOut,omitzero"`
	LastScaleIn  time.Time `json:"lastScaleIn,omitzero"`
}

type pendingActivity struct {
	Key      string `json:"key"`
	Desired  int    `json:"desired"`
	ScaleOut bool   `json:"scaleOut"`
}

// policyRecord is a scaling policy (target tracking only).
type policyRecord struct {
	targetID
	ARN     string    `json:"arn"`
	Name    string    `json:"name"`
	Type    string    `json:"type"`
	Created time.Time `json:"created"`
	// Config is the TargetTrackingScalingPolicyConfiguration as given
	// (echoed by DescribeScalingPolicies).
	Config json.RawMessage `json:"config"`
	// Parsed from Config.
	Target           float64 `json:"target"`
	Statistic        string  `json:"statistic"`
	ScaleInCooldown  int     `json:"scaleInCooldown"`
	ScaleOutCooldown int     `json:"scaleOutCooldown"`
	DisableScaleIn   bool    `json:"disableScaleIn"`
	Alarms           []alarm `json:"alarms"`
}

type alarm struct {
	AlarmName string `json:"AlarmName"`
	AlarmARN  string `json:"AlarmARN"`
}

// activityRecord is a scaling activity.
type activityRecord struct {
	targetID
	ID            string    `json:"id"`
	Description   string    `json:"description"`
	Cause         string    `json:"cause"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end,omitzero"`
	Status        string    `json:"status"`
	StatusMessage string    `json:"statusMessage,omitempty"`
}

// pageSize returns MaxResults checked against AWS's range (1..max; absent:
// max).
func pageSize(v *int, max int) (int, error) {
	if v == nil {
		return max, nil
	}
	if *v < 1 {
		return 0, errValidation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1", *v)
	}
	if *v > max {
		return 0, errValidation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to %d", *v, max)
	}
	return *v, nil
}

func epoch(t time.Time) protocol.EpochSeconds { return protocol.EpochSeconds(t) }
