package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/iampolicy"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/storage"
)

// Storage layout.
const (
	nsQueues    = "sqs.queues"
	nsMoveTasks = "sqs.movetasks"
	// nsDeleted records when each queue name was last deleted (unix ms),
	// for QueueDeletedRecently.
	nsDeleted   = "sqs.deleted"
	queuePrefix = "sqs/"
)

// Limits and defaults of SQS.
const (
	maxBatchEntries   = 10
	maxBatchBytes     = 1 << 20
	maxMessageSize    = 1 << 20
	minMessageSize    = 1024
	maxVisibility     = 43200
	maxDelay          = 900
	maxWait           = 20
	minRetention      = 60
	maxRetention      = 1209600
	maxMessageAttrs   = 10
	maxTags           = 50
	dedupWindow       = 5 * time.Minute
	purgeInterval     = 60 * time.Second
	defaultVisibility = "30"
	defaultRetention  = "345600"
)

// Attribute names.
const (
	attrDelay              = "DelaySeconds"
	attrMaxSize            = "MaximumMessageSize"
	attrRetention          = "MessageRetentionPeriod"
	attrWait               = "ReceiveMessageWaitTimeSeconds"
	attrVisibility         = "VisibilityTimeout"
	attrPolicy             = "Policy"
	attrRedrive            = "RedrivePolicy"
	attrRedriveAllow       = "RedriveAllowPolicy"
	attrFifo               = "FifoQueue"
	attrContentDedup       = "ContentBasedDeduplication"
	attrDedupScope         = "DeduplicationScope"
	attrThroughput         = "FifoThroughputLimit"
	attrKmsKey             = "KmsMasterKeyId"
	attrKmsReuse           = "KmsDataKeyReusePeriodSeconds"
	attrSSE                = "SqsManagedSseEnabled"
	attrArn                = "QueueArn"
	attrCreated            = "CreatedTimestamp"
	attrModified           = "LastModifiedTimestamp"
	attrApproxVisible      = "ApproximateNumberOfMessages"
	attrApproxNotVisible   = "ApproximateNumberOfMessagesNotVisible"
	attrApproxDelayed      = "ApproximateNumberOfMessagesDelayed"
	attrAll                = "All"
	dedupScopeQueue        = "queue"
	dedupScopeMessageGroup = "messageGroup"
)

// readOnlyAttrs are attributes GetQueueAttributes reports but clients
// cannot set.
var readOnlyAttrs = map[string]bool{
	attrArn: true, attrCreated: true, attrModified: true,
	attrApproxVisible: true, attrApproxNotVisible: true, attrApproxDelayed: true,
}

// queueRecord is a queue as stored in Meta (namespace sqs.queues, key
// account/region/name). Attrs holds every settable attribute, normalized
// as GetQueueAttributes reports it.
type queueRecord struct {
	Account   string            `json:"account"`
	Region    string            `json:"region"`
	Name      string            `json:"name"`
	FIFO      bool              `json:"fifo"`
	Attrs     map[string]string `json:"attrs"`
	Tags      map[string]string `json:"tags,omitempty"`
	Created   int64             `json:"created"`
	Modified  int64             `json:"modified"`
	LastPurge int64             `json:"lastPurge,omitempty"` // unix ms on the clock

	version int64
}

func queueKey(account, region, name string) string { return storage.Key(account, region, name) }

func (q *queueRecord) key() string { return queueKey(q.Account, q.Region, q.Name) }

// storageName is the storage.Queues name of the queue's messages.
func (q *queueRecord) storageName() string { return storageName(q.Account, q.Region, q.Name) }

func storageName(account, region, name string) string {
	return queuePrefix + storage.Key(account, region, name)
}

func (q *queueRecord) arn() string { return queueARN(q.Region, q.Account, q.Name) }

func queueARN(region, account, name string) string {
	return "arn:aws:sqs:" + region + ":" + account + ":" + name
}

// url returns the queue URL for a client that addressed the server at base
// (scheme://host).
func (q *queueRecord) url(base string) string { return base + "/" + q.Account + "/" + q.Name }

func (q *queueRecord) intAttr(name string) int64 {
	v, _ := strconv.ParseInt(q.Attrs[name], 10, 64)
	return v
}

func (q *queueRecord) seconds(name string) time.Duration {
	return time.Duration(q.intAttr(name)) * time.Second
}

// redrivePolicy is a RedrivePolicy document, as SQS renders it.
type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int64  `json:"maxReceiveCount"`
}

// parseRedrive reads a normalized RedrivePolicy ("" or invalid: false).
func parseRedrive(p string) (redrivePolicy, bool) {
	var rp redrivePolicy
	if p == "" || json.Unmarshal([]byte(p), &rp) != nil || rp.DeadLetterTargetArn == "" {
		return redrivePolicy{}, false
	}
	return rp, true
}

// redrive returns the dead-letter queue ARN and maxReceiveCount, if set.
func (q *queueRecord) redrive() (string, int, bool) {
	rp, ok := parseRedrive(q.Attrs[attrRedrive])
	return rp.DeadLetterTargetArn, int(rp.MaxReceiveCount), ok
}

// ParseQueueARN splits an SQS queue ARN (arn:aws:sqs:region:account:name).
func ParseQueueARN(arn string) (account, region, name string, ok bool) {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" || parts[3] == "" || parts[4] == "" || parts[5] == "" {
		return "", "", "", false
	}
	if !strings.HasPrefix(parts[1], "aws") {
		return "", "", "", false
	}
	return parts[4], parts[3], parts[5], true
}

// parseQueueURL extracts account, region and name from a queue URL in any
// of the forms clients use: http://host/<account>/<name>,
// http://sqs.<region>.host/<account>/<name>, a path /<account>/<name>, or
// a bare queue name (the caller's own queue). region is "" when the URL
// does not carry one.
func parseQueueURL(raw string) (account, region, name string, ok bool) {
	if raw == "" {
		return "", "", "", false
	}
	if !strings.Contains(raw, "/") {
		return "", "", raw, validQueueNameChars(raw)
	}
	path := raw
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return "", "", "", false
		}
		path = u.Path
		region = regionOfHost(u.Hostname())
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 2 {
		return "", "", "", false
	}
	account, name = parts[len(parts)-2], parts[len(parts)-1]
	if len(parts) >= 4 && parts[len(parts)-4] == "queue" {
		// LocalStack's path style: /queue/<region>/<account>/<name>.
		region = parts[len(parts)-3]
	}
	if !accountRE.MatchString(account) || name == "" {
		return "", "", "", false
	}
	return account, region, name, true
}

var accountRE = regexp.MustCompile(`^[0-9]{12}$`)

// regionOfHost returns the region of hosts like sqs.eu-west-1.amazonaws.com
// or eu-west-1.queue.amazonaws.com, or "".
func regionOfHost(host string) string {
	labels := strings.Split(host, ".")
	if len(labels) >= 3 && labels[0] == "sqs" && isRegion(labels[1]) {
		return labels[1]
	}
	if len(labels) >= 3 && labels[1] == "queue" && isRegion(labels[0]) {
		return labels[0]
	}
	return ""
}

var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

func isRegion(s string) bool { return regionRE.MatchString(s) }

func validQueueNameChars(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// validateQueueName checks a CreateQueue name against SQS's rules.
func validateQueueName(name string, fifo bool) error {
	base := name
	if fifo {
		if !strings.HasSuffix(name, ".fifo") {
			return errInvalidParameter("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
		}
		base = strings.TrimSuffix(name, ".fifo")
	}
	ok := len(name) >= 1 && len(name) <= 80 && base != ""
	for _, c := range base {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			ok = false
		}
	}
	if !ok {
		if fifo {
			return errInvalidParameter("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
		}
		return errInvalidParameter("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	return nil
}

// defaultAttrs are the attributes of a new queue.
func defaultAttrs(fifo bool) map[string]string {
	a := map[string]string{
		attrDelay:      "0",
		attrMaxSize:    strconv.Itoa(maxMessageSize),
		attrRetention:  defaultRetention,
		attrWait:       "0",
		attrVisibility: defaultVisibility,
		attrSSE:        "true",
	}
	if fifo {
		a[attrFifo] = "true"
		a[attrContentDedup] = "false"
		a[attrDedupScope] = dedupScopeQueue
		a[attrThroughput] = "perQueue"
	}
	return a
}

type intRange struct{ lo, hi int64 }

var intAttrs = map[string]intRange{
	attrDelay:      {0, maxDelay},
	attrMaxSize:    {minMessageSize, maxMessageSize},
	attrRetention:  {minRetention, maxRetention},
	attrWait:       {0, maxWait},
	attrVisibility: {0, maxVisibility},
	attrKmsReuse:   {60, 86400},
}

// knownAttrs are the attributes CreateQueue and SetQueueAttributes accept.
var knownAttrs = map[string]bool{
	attrDelay: true, attrMaxSize: true, attrRetention: true, attrWait: true, attrVisibility: true,
	attrPolicy: true, attrRedrive: true, attrRedriveAllow: true, attrFifo: true, attrContentDedup: true,
	attrDedupScope: true, attrThroughput: true, attrKmsKey: true, attrKmsReuse: true, attrSSE: true,
}

// normalizeAttrs validates attributes a client sets and returns them in the
// form GetQueueAttributes reports. Cross-queue checks (the dead-letter
// target) are done by the caller. creating distinguishes CreateQueue, where
// FifoQueue may be set, from SetQueueAttributes.
func normalizeAttrs(in map[string]string, fifo, creating bool) (map[string]string, error) {
	out := make(map[string]string, len(in))
	for _, name := range sortedKeys(in) {
		v := in[name]
		if !knownAttrs[name] {
			return nil, errUnknownAttribute(name)
		}
		if r, ok := intAttrs[name]; ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n < r.lo || n > r.hi {
				return nil, errInvalidAttributeValue("Invalid value for the parameter %s.", name)
			}
			out[name] = strconv.FormatInt(n, 10)
			continue
		}
		switch name {
		case attrFifo:
			b, ok := parseBool(v)
			if !ok {
				return nil, errInvalidAttributeValue("Invalid value for the parameter %s.", name)
			}
			if !fifo {
				if creating && b {
					return nil, errInvalidParameter("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
				}
				return nil, errUnknownAttribute(name)
			}
			if !b {
				return nil, errInvalidAttributeValue("Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.")
			}
			out[name] = "true"
		case attrContentDedup, attrSSE:
			b, ok := parseBool(v)
			if !ok {
				return nil, errInvalidAttributeValue("Invalid value for the parameter %s.", name)
			}
			if name == attrContentDedup && !fifo {
				return nil, errUnknownAttribute(name)
			}
			out[name] = strconv.FormatBool(b)
		case attrDedupScope:
			if !fifo {
				return nil, errInvalidAttributeName("You can specify the DeduplicationScope only when FifoQueue is set to true.")
			}
			if v != dedupScopeQueue && v != dedupScopeMessageGroup {
				return nil, errInvalidAttributeValue("Invalid value for the parameter DeduplicationScope.")
			}
			out[name] = v
		case attrThroughput:
			if !fifo {
				return nil, errInvalidAttributeName("You can specify the FifoThroughputLimit only when FifoQueue is set to true.")
			}
			if v != "perQueue" && v != "perMessageGroupId" {
				return nil, errInvalidAttributeValue("Invalid value for the parameter FifoThroughputLimit.")
			}
			out[name] = v
		case attrPolicy:
			if v != "" {
				// SQS reports every policy error with one message.
				p, err := iampolicy.Parse([]byte(v))
				if err == nil {
					err = p.RequirePrincipals()
				}
				if err != nil {
					return nil, errInvalidAttributeValue("Invalid value for the parameter Policy.")
				}
			}
			out[name] = v
		case attrRedriveAllow:
			n, err := normalizeRedriveAllow(v)
			if err != nil {
				return nil, err
			}
			out[name] = n
		case attrRedrive:
			n, err := normalizeRedrive(v)
			if err != nil {
				return nil, err
			}
			out[name] = n
		case attrKmsKey:
			out[name] = v
		}
	}
	if out[attrKmsKey] != "" && out[attrSSE] == "true" {
		return nil, errInvalidAttributeName("You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.")
	}
	return out, nil
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// normalizeRedrive checks a RedrivePolicy document and renders it as SQS
// does: {"deadLetterTargetArn":"…","maxReceiveCount":N}. An empty value
// removes the policy.
func normalizeRedrive(v string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return "", nil
	}
	invalid := func(reason string) error { return errPolicyValue(attrRedrive, v, reason) }
	var doc map[string]any
	if err := json.Unmarshal([]byte(v), &doc); err != nil {
		return "", invalid("Redrive policy is not a valid JSON map.")
	}
	arn, _ := doc["deadLetterTargetArn"].(string)
	if _, ok := doc["deadLetterTargetArn"]; !ok {
		return "", invalid("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
	}
	raw, ok := doc["maxReceiveCount"]
	if !ok {
		return "", invalid("Redrive policy does not contain mandatory attribute: maxReceiveCount.")
	}
	var n int64
	switch x := raw.(type) {
	case float64:
		n = int64(x)
		if float64(n) != x {
			n = -1
		}
	case string:
		p, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			p = -1
		}
		n = p
	default:
		n = -1
	}
	if n < 1 || n > 1000 {
		return "", invalid(fmt.Sprintf("Invalid value for maxReceiveCount: %v, valid values are from 1 to 1000 both inclusive.", raw))
	}
	if _, _, _, ok := ParseQueueARN(arn); !ok {
		return "", invalid("Invalid value for deadLetterTargetArn.")
	}
	b, _ := json.Marshal(redrivePolicy{arn, n})
	return string(b), nil
}

// redriveAllow is a RedriveAllowPolicy document.
type redriveAllow struct {
	RedrivePermission string   `json:"redrivePermission"`
	SourceQueueArns   []string `json:"sourceQueueArns,omitempty"`
}

func normalizeRedriveAllow(v string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return "", nil
	}
	invalid := func(reason string) error { return errPolicyValue(attrRedriveAllow, v, reason) }
	var p redriveAllow
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return "", invalid("Redrive allow policy is not a valid JSON map.")
	}
	switch p.RedrivePermission {
	case "allowAll", "denyAll":
		if len(p.SourceQueueArns) > 0 {
			return "", invalid("Only byQueue redrivePermission supports sourceQueueArns.")
		}
	case "byQueue":
		if len(p.SourceQueueArns) == 0 || len(p.SourceQueueArns) > 10 {
			return "", invalid("byQueue redrivePermission requires between 1 and 10 sourceQueueArns.")
		}
	default:
		return "", invalid("Invalid value for redrivePermission.")
	}
	b, _ := json.Marshal(p)
	return string(b), nil
}

// loadQueue reads a queue record.
func (s *Service) loadQueue(ctx context.Context, account, region, name string) (*queueRecord, error) {
	rec, err := s.deps.Meta.Get(ctx, nsQueues, queueKey(account, region, name))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errQueueDoesNotExist()
	}
	if err != nil {
		return nil, fmt.Errorf("sqs: load queue %s: %w", name, err)
	}
	var q queueRecord
	if err := json.Unmarshal(rec.Value, &q); err != nil {
		return nil, fmt.Errorf("sqs: decode queue %s: %w", name, err)
	}
	q.version = rec.Version
	return &q, nil
}

// loadQueueARN reads the queue an ARN names.
func (s *Service) loadQueueARN(ctx context.Context, arn string) (*queueRecord, error) {
	account, region, name, ok := ParseQueueARN(arn)
	if !ok {
		return nil, errQueueDoesNotExist()
	}
	return s.loadQueue(ctx, account, region, name)
}

// saveQueue writes q if its stored version is still q.version (0: create).
func (s *Service) saveQueue(ctx context.Context, q *queueRecord) error {
	b, err := json.Marshal(q)
	if err != nil {
		return fmt.Errorf("sqs: encode queue %s: %w", q.Name, err)
	}
	v, err := s.deps.Meta.Put(ctx, nsQueues, q.key(), b, q.version)
	if err != nil {
		return fmt.Errorf("sqs: save queue %s: %w", q.Name, err)
	}
	q.version = v
	return nil
}

// updateQueue applies f to the current record of queue q and saves it,
// retrying on concurrent changes.
func (s *Service) updateQueue(ctx context.Context, q *queueRecord, f func(cur *queueRecord) error) error {
	for range 20 {
		cur, err := s.loadQueue(ctx, q.Account, q.Region, q.Name)
		if err != nil {
			return err
		}
		if err := f(cur); err != nil {
			return err
		}
		err = s.saveQueue(ctx, cur)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		return err
	}
	return protocol.InternalFailure()
}

// listQueues returns the queue records of an account and region whose name
// starts with prefix, in name order, after the name `after`.
func (s *Service) listQueues(ctx context.Context, account, region, prefix, after string, limit int) ([]*queueRecord, error) {
	base := queueKey(account, region, "")
	var afterKey string
	if after != "" {
		afterKey = base + after
	}
	recs, err := s.deps.Meta.List(ctx, nsQueues, base+prefix, afterKey, limit)
	if err != nil {
		return nil, fmt.Errorf("sqs: list queues: %w", err)
	}
	out := make([]*queueRecord, 0, len(recs))
	for _, r := range recs {
		var q queueRecord
		if err := json.Unmarshal(r.Value, &q); err != nil {
			return nil, fmt.Errorf("sqs: decode queue %s: %w", r.Key, err)
		}
		q.version = r.Version
		out = append(out, &q)
	}
	return out, nil
}

// allQueues lists every queue of every account (retention sweeps, metrics).
func (s *Service) allQueues(ctx context.Context) ([]*queueRecord, error) {
	recs, err := s.deps.Meta.List(ctx, nsQueues, "", "", 0)
	if err != nil {
		return nil, fmt.Errorf("sqs: list all queues: %w", err)
	}
	out := make([]*queueRecord, 0, len(recs))
	for _, r := range recs {
		var q queueRecord
		if json.Unmarshal(r.Value, &q) == nil {
			q.version = r.Version
			out = append(out, &q)
		}
	}
	return out, nil
}
