package events

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/protocol"
)

// Meta namespaces.
const (
	nsBuses     = "events.buses"
	nsRules     = "events.rules"
	nsArchives  = "events.archives"
	nsReplays   = "events.replays"
	nsSchedules = "events.schedules"
	// nsGen holds the rules generation: record "rules", whose version grows
	// on every rule change by any node (see syncRules).
	nsGen = "events.gen"
)

const defaultBus = "default"

// Rule states.
const (
	stateEnabled    = "ENABLED"
	stateDisabled   = "DISABLED"
	stateEnabledAll = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
)

// managedByArchive is the ManagedBy value of the rules AWS creates for archives.
const managedByArchive = "prod.vhs.events.aws.internal"

// Bus is a stored event bus. The default bus of an account and region
// exists implicitly; it is stored only once something about it changes
// (policy, tags).
type Bus struct {
	Name        string            `json:"name"`
	Account     string            `json:"account"`
	Region      string            `json:"region"`
	Description string            `json:"description,omitempty"`
	Policy      string            `json:"policy,omitempty"`
	KMSKey      string            `json:"kmsKey,omitempty"`
	DLQ         string            `json:"dlq,omitempty"`
	Created     time.Time         `json:"created"`
	Modified    time.Time         `json:"modified"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// ARN returns the bus ARN.
func (b *Bus) ARN() string { return busARN(b.Account, b.Region, b.Name) }

// Rule is a stored rule with its targets.
type Rule struct {
	Name               string            `json:"name"`
	Bus                string            `json:"bus"`
	Account            string            `json:"account"`
	Region             string            `json:"region"`
	EventPattern       string            `json:"eventPattern,omitempty"`
	ScheduleExpression string            `json:"scheduleExpression,omitempty"`
	State              string            `json:"state"`
	Description        string            `json:"description,omitempty"`
	RoleArn            string            `json:"roleArn,omitempty"`
	ManagedBy          string            `json:"managedBy,omitempty"`
	CreatedBy          string            `json:"createdBy"`
	Targets            []Target          `json:"targets,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	// Archive names the archive a managed archive rule feeds.
	Archive string `json:"archive,omitempty"`
	// Modified is when the rule (or its state) last changed; schedules
	// anchor rate() expressions on it.
	Modified time.Time `json:"modified"`
}

// ARN returns the rule ARN (rule/name on the default bus, rule/bus/name otherwise).
func (r *Rule) ARN() string { return ruleARN(r.Account, r.Region, r.Bus, r.Name) }

func (r *Rule) enabled() bool { return r.State == stateEnabled || r.State == stateEnabledAll }

// Target is a rule target, in the API shape (it is stored and returned as is).
type Target struct {
	Id                          string            `json:"Id"`
	Arn                         string            `json:"Arn"`
	RoleArn                     string            `json:"RoleArn,omitempty"`
	Input                       string            `json:"Input,omitempty"`
	InputPath                   string            `json:"InputPath,omitempty"`
	InputTransformer            *InputTransformer `json:"InputTransformer,omitempty"`
	SqsParameters               *SqsParameters    `json:"SqsParameters,omitempty"`
	HttpParameters              *HttpParameters   `json:"HttpParameters,omitempty"`
	RetryPolicy                 *RetryPolicy      `json:"RetryPolicy,omitempty"`
	DeadLetterConfig            *DeadLetterConfig `json:"DeadLetterConfig,omitempty"`
	KinesisParameters           json.RawMessage   `json:"KinesisParameters,omitempty"`
	RunCommandParameters        json.RawMessage   `json:"RunCommandParameters,omitempty"`
	EcsParameters               json.RawMessage   `json:"EcsParameters,omitempty"`
	BatchParameters             json.RawMessage   `json:"BatchParameters,omitempty"`
	RedshiftDataParameters      json.RawMessage   `json:"RedshiftDataParameters,omitempty"`
	SageMakerPipelineParameters json.RawMessage   `json:"SageMakerPipelineParameters,omitempty"`
	AppSyncParameters           json.RawMessage   `json:"AppSyncParameters,omitempty"`
}

// InputTransformer is a target's input transformer.
type InputTransformer struct {
	InputPathsMap map[string]string `json:"InputPathsMap,omitempty"`
	InputTemplate string            `json:"InputTemplate"`
}

// SqsParameters carry the FIFO message group.
type SqsParameters struct {
	MessageGroupId string `json:"MessageGroupId,omitempty"`
}

// HttpParameters shape API destination and API Gateway requests.
type HttpParameters struct {
	PathParameterValues   []string          `json:"PathParameterValues,omitempty"`
	HeaderParameters      map[string]string `json:"HeaderParameters,omitempty"`
	QueryStringParameters map[string]string `json:"QueryStringParameters,omitempty"`
}

// RetryPolicy bounds redelivery; nil fields take AWS's defaults.
type RetryPolicy struct {
	MaximumRetryAttempts     *int `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int `json:"MaximumEventAgeInSeconds,omitempty"`
}

// DeadLetterConfig names the SQS queue for undeliverable events.
type DeadLetterConfig struct {
	Arn string `json:"Arn,omitempty"`
}

// AWS retry defaults.
const (
	defaultMaxRetries = 185
	defaultMaxAge     = 86400
)

func (p *RetryPolicy) limits() (retries int, age time.Duration) {
	retries, ageS := defaultMaxRetries, defaultMaxAge
	if p != nil {
		if p.MaximumRetryAttempts != nil {
			retries = *p.MaximumRetryAttempts
		}
		if p.MaximumEventAgeInSeconds != nil {
			ageS = *p.MaximumEventAgeInSeconds
		}
	}
	return retries, time.Duration(ageS) * time.Second
}

// ARNs.

func busARN(account, region, name string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", region, account, name)
}

func ruleARN(account, region, bus, name string) string {
	if bus == defaultBus {
		return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", region, account, name)
	}
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s/%s", region, account, bus, name)
}

func archiveARN(account, region, name string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:archive/%s", region, account, name)
}

func replayARN(account, region, name string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:replay/%s", region, account, name)
}

// arn is a parsed ARN.
type arn struct {
	Service, Region, Account, Resource string
}

func parseARN(s string) (arn, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" {
		return arn{}, false
	}
	return arn{Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, true
}

// busRef resolves an EventBusName parameter (a name or an ARN) against the
// caller's account and region. An empty value is the default bus.
type busRef struct {
	Account, Region, Name string
}

func resolveBus(param, account, region string) (busRef, error) {
	if param == "" {
		return busRef{account, region, defaultBus}, nil
	}
	if strings.HasPrefix(param, "arn:") {
		a, ok := parseARN(param)
		if !ok || a.Service != "events" || !strings.HasPrefix(a.Resource, "event-bus/") {
			return busRef{}, errValidation("Parameter %s is not valid. Reason: Provided Arn is not in correct format.", param)
		}
		return busRef{a.Account, a.Region, strings.TrimPrefix(a.Resource, "event-bus/")}, nil
	}
	return busRef{account, region, param}, nil
}

// Keys.

func busKey(account, region, name string) string { return account + "/" + region + "/" + name }

// ruleKey uses "|" to separate the bus from the rule name: bus names may
// contain "/" but neither may contain "|".
func ruleKey(account, region, bus, name string) string {
	return account + "/" + region + "/" + bus + "|" + name
}

func rulePrefix(account, region, bus string) string { return account + "/" + region + "/" + bus + "|" }

func regionKey(account, region, name string) string { return account + "/" + region + "/" + name }

// Tags.

// Tag is a key/value tag in the API shape.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

func tagList(m map[string]string) []Tag {
	out := make([]Tag, 0, len(m))
	for k, v := range m {
		out = append(out, Tag{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func epoch(t time.Time) *protocol.EpochSeconds {
	if t.IsZero() {
		return nil
	}
	e := protocol.EpochSeconds(t)
	return &e
}
