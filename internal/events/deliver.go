package events

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/events/transform"
	"github.com/fogbank/fogbank/internal/protocol"
)

// deliveryError is a failed invocation, classified as AWS classifies it.
type deliveryError struct {
	// code is the DLQ ERROR_CODE ("NO_RESOURCE", "THROTTLING", ...).
	code    string
	message string
	// retryable failures are retried under the RetryPolicy; others go to
	// the dead-letter queue at once (missing resources, missing
	// permissions, invalid input).
	retryable bool
	// retryAfter, when set, is the delay the target asked for.
	retryAfter time.Duration
	// throttled: the invocation was not made (rate limit); the task is
	// put back after retryAfter without counting an attempt.
	throttled bool
}

func fatal(code, format string, args ...any) *deliveryError {
	return &deliveryError{code: code, message: sprintf(format, args...)}
}

func transient(code, format string, args ...any) *deliveryError {
	return &deliveryError{code: code, message: sprintf(format, args...), retryable: true}
}

// renderInput computes what the target receives.
func (s *Service) renderInput(t *task) ([]byte, *deliveryError) {
	tg := t.Target
	switch {
	case tg.Input != "":
		return []byte(tg.Input), nil
	case tg.InputPath != "":
		p, err := transform.ParsePath(tg.InputPath)
		if err != nil {
			return nil, fatal("INVALID_PARAMETER", "InputPath %s is not valid.", tg.InputPath)
		}
		v, ok := p.Select(t.Event)
		if !ok {
			return nil, fatal("INVALID_PARAMETER", "InputPath %s did not match anything in the event.", tg.InputPath)
		}
		return v, nil
	case tg.InputTransformer != nil:
		tr, err := transform.New(tg.InputTransformer.InputPathsMap, tg.InputTransformer.InputTemplate)
		if err != nil {
			return nil, fatal("INVALID_PARAMETER", "InputTransformer is not valid: %v", err)
		}
		out, err := tr.Render(t.Event, transform.Vars{RuleARN: t.RuleARN, RuleName: t.Rule, IngestionTime: t.Ingested})
		if err != nil {
			return nil, fatal("INVALID_JSON", "Failed to transform the event input: %v", err)
		}
		return out, nil
	}
	return t.Event, nil
}

// deliver makes one invocation of the task's target.
func (s *Service) deliver(ctx context.Context, t *task) *deliveryError {
	input, derr := s.renderInput(t)
	if derr != nil {
		return derr
	}
	a, ok := parseARN(t.Target.Arn)
	if !ok {
		return fatal("INVALID_PARAMETER", "Target ARN %s is not valid.", t.Target.Arn)
	}
	switch {
	case a.Service == "sqs":
		return s.deliverSQS(ctx, t, a, input)
	case a.Service == "events" && strings.HasPrefix(a.Resource, "event-bus/"):
		return s.deliverBus(ctx, t, a)
	case a.Service == "events" && strings.HasPrefix(a.Resource, "api-destination/"):
		return s.deliverAPIDestination(ctx, t, a, input)
	case a.Service == "lambda":
		if s.deps.Lambda == nil {
			return fatal("NO_RESOURCE", "Function not found: %s", t.Target.Arn)
		}
		if err := s.deps.Lambda.InvokeForRule(ctx, t.Target.Arn, t.RuleARN, t.Target.RoleArn, input); err != nil {
			return classifyAWSError(err)
		}
		return nil
	}
	// SNS, Step Functions, Kinesis, ... are not served by Fogbank yet: the
	// target resource does not exist.
	return fatal("NO_RESOURCE", "Target %s does not exist.", t.Target.Arn)
}

// classifyAWSError maps a target service error to a DLQ code and retry
// decision: missing resources, permissions and invalid requests are final;
// throttling and server faults are retried.
func classifyAWSError(err error) *deliveryError {
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		return transient("INTERNAL_ERROR", "%v", err)
	}
	code := pe.Code
	switch {
	case strings.Contains(code, "NonExistentQueue") || code == "QueueDoesNotExist" || code == "ResourceNotFoundException" || strings.Contains(pe.QueryCode, "NonExistentQueue"):
		return fatal("NO_RESOURCE", "%s", pe.Message)
	case code == "AccessDenied" || code == "AccessDeniedException" || strings.HasPrefix(code, "KMS."):
		return fatal("NO_PERMISSIONS", "%s", pe.Message)
	case strings.Contains(code, "Throttl") || code == "RequestThrottled" || code == "TooManyRequestsException" || pe.HTTPStatus() == 429:
		return transient("THROTTLING", "%s", pe.Message)
	case pe.HTTPStatus() >= 500:
		return transient("SDK_CLIENT_ERROR", "%s", pe.Message)
	}
	return fatal("INVALID_PARAMETER", "%s", pe.Message)
}

func (s *Service) deliverSQS(ctx context.Context, t *task, a arn, input []byte) *deliveryError {
	if s.deps.SQS == nil {
		return fatal("NO_RESOURCE", "The specified queue does not exist.")
	}
	if _, err := s.deps.SQS.SendEventsMessage(ctx, sqsMessage(t, a, input)); err != nil {
		return classifyAWSError(err)
	}
	return nil
}

// sqsMessage is the message an SQS target (ARN a) receives for a task.
func sqsMessage(t *task, a arn, input []byte) SQSMessage {
	m := SQSMessage{QueueARN: t.Target.Arn, Body: string(input), SenderID: "AIDAIEVENTBRIDGEFOGBANK", RuleARN: t.RuleARN}
	if strings.HasSuffix(a.Resource, ".fifo") {
		if t.Target.SqsParameters != nil {
			m.GroupID = t.Target.SqsParameters.MessageGroupId
		}
		// EventBridge deduplicates FIFO deliveries by event id.
		m.DedupID = t.EventID
	}
	return m
}

// deliverBus forwards the event to another bus. The receiving bus's
// resource policy must allow the sending account. The event keeps its id
// within a region and gets a new one when it crosses regions, as on AWS.
// An event that already crossed an account boundary may not cross another.
func (s *Service) deliverBus(ctx context.Context, t *task, a arn) *deliveryError {
	ref := busRef{a.Account, a.Region, strings.TrimPrefix(a.Resource, "event-bus/")}
	if ref == (busRef{t.Account, t.Region, t.Bus}) {
		return fatal("INVALID_PARAMETER", "An event bus cannot be its own target.")
	}
	bus, _, err := s.getBus(ctx, ref)
	if err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) {
			return fatal("NO_RESOURCE", "%s", pe.Message)
		}
		return transient("INTERNAL_ERROR", "%v", err)
	}
	hops := t.Hops
	if ref.Account != t.Account {
		if t.Hops > 0 {
			return fatal("THIRD_ACCOUNT_HOP_DETECTED", "The event has already been delivered across accounts and cannot be forwarded to account %s.", ref.Account)
		}
		if !allowsPutEvents(bus, t.Account) {
			return fatal("NO_PERMISSIONS", "Account %s is not authorized to put events on %s.", t.Account, bus.ARN())
		}
		hops++
	}
	ev := inEvent{raw: t.Event, id: t.EventID, ingested: s.now(), hops: hops}
	if ref.Region != t.Region {
		env, err := decodeEnvelope(t.Event)
		if err != nil {
			return fatal("INVALID_JSON", "%v", err)
		}
		env.ID = s.deps.IDs.UUID()
		ev.raw, ev.id = env.marshal(), env.ID
	}
	if err := s.ingest(ctx, ref, []inEvent{ev}); err != nil {
		return transient("INTERNAL_ERROR", "%v", err)
	}
	return nil
}

// sendToDLQ puts the original event on the target's dead-letter queue with
// AWS's message attributes.
func (s *Service) sendToDLQ(ctx context.Context, t *task, derr *deliveryError, exhausted string, retries int) error {
	if s.deps.SQS == nil {
		return errors.New("events: no SQS service for the dead-letter queue")
	}
	attrs := map[string]string{
		"RULE_ARN":      t.RuleARN,
		"TARGET_ARN":    t.Target.Arn,
		"ERROR_CODE":    derr.code,
		"ERROR_MESSAGE": derr.message,
	}
	if exhausted != "" {
		attrs["EXHAUSTED_RETRY_CONDITION"] = exhausted
		attrs["RETRY_ATTEMPTS"] = strconv.Itoa(retries)
	}
	_, err := s.deps.SQS.SendEventsMessage(ctx, SQSMessage{QueueARN: t.Target.DeadLetterConfig.Arn, Body: string(t.Event), Attributes: attrs, SenderID: "AIDAIEVENTBRIDGEFOGBANK", RuleARN: t.RuleARN})
	return err
}
