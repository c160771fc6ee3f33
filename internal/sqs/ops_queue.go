package sqs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

func (s *Service) createQueue(ctx context.Context, rc *reqCtx) (any, error) {
	var in createQueueInput
	if err := rc.decode(&in); err != nil {
		return nil, err
	}
	name := deref(in.QueueName)
	if in.QueueName == nil {
		return nil, errMissingParameter("QueueName")
	}
	fifo := false
	if v, ok := in.Attributes[attrFifo]; ok {
		fifo, _ = parseBool(v)
	}
	if err := validateQueueName(name, fifo); err != nil {
		return nil, err
	}
	attrs, err := normalizeAttrs(in.Attributes, fifo, true)
	if err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags, 0); err != nil {
		return nil, err
	}
	account, region := rc.call.Account, rc.call.Region
	if err := s.checkRedrive(ctx, account, region, name, fifo, attrs[attrRedrive]); err != nil {
		return nil, err
	}
	if err := s.checkDeletedRecently(ctx, account, region, name); err != nil {
		return nil, err
	}
	for range 5 {
		existing, err := s.loadQueue(ctx, account, region, name)
		if err == nil {
			for _, k := range sortedKeys(attrs) {
				if existing.Attrs[k] != attrs[k] && (attrs[k] != "" || existing.Attrs[k] != "") {
					return nil, errQueueNameExists(k)
				}
			}
			rc.call.Resources = append(rc.call.Resources, service.Resource{Type: "AWS::SQS::Queue", Name: existing.arn()})
			return queueURLOutput{existing.url(rc.base)}, nil
		}
		if !isNonExistent(err) {
			return nil, err
		}
		now := s.now()
		q := &queueRecord{Account: account, Region: region, Name: name, FIFO: fifo, Attrs: defaultAttrs(fifo),
			Created: now.Unix(), Modified: now.Unix()}
		applyAttrs(q, attrs)
		if len(in.Tags) > 0 {
			q.Tags = in.Tags
		}
		// A queue of this name deleted earlier leaves no messages behind.
		if err := s.deps.Queues.Drop(ctx, q.storageName()); err != nil {
			return nil, fmt.Errorf("sqs: create queue %s: %w", name, err)
		}
		err = s.saveQueue(ctx, q)
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		rc.call.Resources = append(rc.call.Resources, service.Resource{Type: "AWS::SQS::Queue", Name: q.arn()})
		out := queueURLOutput{q.url(rc.base)}
		rc.call.ResponseElements = map[string]any{"queueUrl": out.QueueURL}
		return out, nil
	}
	return nil, fmt.Errorf("sqs: create queue %s: too many concurrent changes", name)
}

func isNonExistent(err error) bool {
	e, ok := errors.AsType[*protocol.Error](err)
	return ok && e.Code == "QueueDoesNotExist"
}

// applyAttrs sets normalized attributes on q; empty values of optional
// attributes remove them.
func applyAttrs(q *queueRecord, attrs map[string]string) {
	for k, v := range attrs {
		switch k {
		case attrPolicy, attrRedrive, attrRedriveAllow, attrKmsKey:
			if v == "" {
				delete(q.Attrs, k)
				if k == attrKmsKey {
					delete(q.Attrs, attrKmsReuse)
				}
				continue
			}
		}
		q.Attrs[k] = v
	}
	if q.Attrs[attrKmsKey] != "" {
		if _, ok := attrs[attrSSE]; !ok {
			q.Attrs[attrSSE] = "false"
		}
		if q.Attrs[attrKmsReuse] == "" {
			q.Attrs[attrKmsReuse] = "300"
		}
	} else {
		delete(q.Attrs, attrKmsReuse)
	}
}

// checkRedrive verifies the dead-letter target of a RedrivePolicy: it must
// exist in the same account and region, be of the source's type and allow
// the source by its RedriveAllowPolicy.
func (s *Service) checkRedrive(ctx context.Context, account, region, name string, fifo bool, policy string) error {
	if policy == "" {
		return nil
	}
	rp, _ := parseRedrive(policy)
	invalid := func(reason string) error {
		return errInvalidValue(policy, attrRedrive, reason)
	}
	da, dr, dn, _ := ParseQueueARN(rp.DeadLetterTargetArn)
	if da != account || dr != region {
		return invalid("Dead-letter target must be in the same account and region as the source.")
	}
	dlq, err := s.loadQueue(ctx, da, dr, dn)
	if isNonExistent(err) {
		return invalid("Dead letter target does not exist.")
	}
	if err != nil {
		return err
	}
	if dlq.FIFO != fifo {
		return invalid("Dead-letter queue must be same type of queue as the source..")
	}
	if p := dlq.Attrs[attrRedriveAllow]; p != "" {
		var ra redriveAllow
		_ = json.Unmarshal([]byte(p), &ra)
		src := queueARN(region, account, name)
		if ra.RedrivePermission == "denyAll" || ra.RedrivePermission == "byQueue" && !slices.Contains(ra.SourceQueueArns, src) {
			return invalid(fmt.Sprintf("Queue %s does not allow this queue to use it as a dead-letter queue.", dlq.arn()))
		}
	}
	return nil
}

func validateTags(tags map[string]string, existing int) error {
	if len(tags)+existing > maxTags {
		return errInvalidParameter("Too many tags added for queue. The maximum number of tags per queue is %d.", maxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 {
			return errInvalidParameter("Tag keys must be between 1 and 128 characters in length.")
		}
		if len(v) > 256 {
			return errInvalidParameter("Tag values may only be up to 256 characters in length.")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return errInvalidParameter("Tag keys must not start with 'aws:'.")
		}
	}
	return nil
}

func (s *Service) getQueueURL(ctx context.Context, rc *reqCtx) (any, error) {
	var in getQueueURLInput
	if err := rc.decode(&in); err != nil {
		return nil, err
	}
	if deref(in.QueueName) == "" {
		return nil, errMissingParameter("QueueName")
	}
	account := rc.call.Account
	if in.QueueOwnerAWSAccountId != "" {
		account = in.QueueOwnerAWSAccountId
	}
	q, err := s.loadQueue(ctx, account, rc.call.Region, *in.QueueName)
	if err != nil {
		return nil, err
	}
	rc.call.Resources = append(rc.call.Resources, service.Resource{Type: "AWS::SQS::Queue", Name: q.arn()})
	if err := s.authorizeCall(rc, q); err != nil {
		return nil, err
	}
	return queueURLOutput{q.url(rc.base)}, nil
}

// pageLimit validates MaxResults (1..1000) of the list operations.
func pageLimit(p intParam) (int, bool, error) {
	if !p.Set {
		return 1000, false, nil
	}
	if p.Bad || p.V < 1 || p.V > 1000 {
		return 0, false, errInvalidValue(p.Raw, "MaxResults", "MaxResults must be an integer between 1 and 1000.")
	}
	return int(p.V), true, nil
}

func decodeToken(t string) (string, error) {
	if t == "" {
		return "", nil
	}
	b, err := base64.StdEncoding.DecodeString(t)
	if err != nil || !strings.HasPrefix(string(b), "q:") {
		return "", errInvalidParameter("Invalid NextToken value.")
	}
	return string(b[2:]), nil
}

func encodeToken(name string) string { return base64.StdEncoding.EncodeToString([]byte("q:" + name)) }

func (s *Service) listQueuesOp(ctx context.Context, rc *reqCtx) (any, error) {
	var in listQueuesInput
	if err := rc.decode(&in); err != nil {
		return nil, err
	}
	limit, paged, err := pageLimit(in.MaxResults)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	qs, err := s.listQueues(ctx, rc.call.Account, rc.call.Region, in.QueueNamePrefix, after, limit+1)
	if err != nil {
		return nil, err
	}
	var out listQueuesOutput
	for i, q := range qs {
		if i == limit {
			if paged {
				out.NextToken = encodeToken(qs[i-1].Name)
			}
			break
		}
		out.QueueUrls = append(out.QueueUrls, q.url(rc.base))
	}
	return out, nil
}

func (s *Service) deleteQueue(ctx context.Context, rc *reqCtx) (any, error) {
	var in queueURLInput
	q, err := s.decodeQueue(ctx, rc, &in)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Meta.Delete(ctx, nsQueues, q.key(), storage.AnyVersion); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("sqs: delete queue %s: %w", q.Name, err)
	}
	if err := s.deps.Queues.Drop(ctx, q.storageName()); err != nil {
		return nil, fmt.Errorf("sqs: delete queue %s: %w", q.Name, err)
	}
	if err := s.forgetAttempts(ctx, q.key()+"/"); err != nil {
		return nil, fmt.Errorf("sqs: delete queue %s: %w", q.Name, err)
	}
	// The name stays unavailable for a minute (QueueDeletedRecently).
	stamp := strconv.FormatInt(s.now().UnixMilli(), 10)
	if _, err := s.deps.Meta.Put(ctx, nsDeleted, q.key(), []byte(stamp), storage.AnyVersion); err != nil {
		return nil, fmt.Errorf("sqs: delete queue %s: %w", q.Name, err)
	}
	s.metrics.forget(q)
	s.expireMu.Lock()
	delete(s.lastExpire, q.storageName())
	s.expireMu.Unlock()
	return nil, nil
}

// deletedWait is how long a deleted queue's name cannot be reused.
const deletedWait = 60 * time.Second

// checkDeletedRecently refuses a name whose queue was deleted less than
// deletedWait ago, and forgets older deletions.
func (s *Service) checkDeletedRecently(ctx context.Context, account, region, name string) error {
	key := queueKey(account, region, name)
	rec, err := s.deps.Meta.Get(ctx, nsDeleted, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqs: create queue %s: %w", name, err)
	}
	ms, _ := strconv.ParseInt(string(rec.Value), 10, 64)
	if s.now().Sub(time.UnixMilli(ms)) < deletedWait {
		return errQueueDeletedRecently()
	}
	if err := s.deps.Meta.Delete(ctx, nsDeleted, key, rec.Version); err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict) {
		return fmt.Errorf("sqs: create queue %s: %w", name, err)
	}
	return nil
}

// knownQueueAttr reports whether GetQueueAttributes accepts name.
func knownQueueAttr(name string) bool {
	return name == attrAll || knownAttrs[name] || readOnlyAttrs[name]
}

// queueAttributes returns the attributes of q selected by names (nil: all).
func (s *Service) queueAttributes(ctx context.Context, q *queueRecord, names []string) (map[string]string, error) {
	if names == nil {
		names = []string{attrAll}
	}
	want := selects(names)
	out := map[string]string{}
	for k, v := range q.Attrs {
		if want(k) {
			out[k] = v
		}
	}
	if want(attrArn) {
		out[attrArn] = q.arn()
	}
	if want(attrCreated) {
		out[attrCreated] = strconv.FormatInt(q.Created, 10)
	}
	if want(attrModified) {
		out[attrModified] = strconv.FormatInt(q.Modified, 10)
	}
	if want(attrApproxVisible) || want(attrApproxNotVisible) || want(attrApproxDelayed) {
		now := s.now()
		s.maybeExpire(ctx, q, now, 0)
		st, err := s.deps.Queues.Stats(ctx, q.storageName(), now)
		if err != nil {
			return nil, fmt.Errorf("sqs: queue attributes of %s: %w", q.Name, err)
		}
		if want(attrApproxVisible) {
			out[attrApproxVisible] = strconv.FormatInt(st.Visible, 10)
		}
		if want(attrApproxNotVisible) {
			out[attrApproxNotVisible] = strconv.FormatInt(st.InFlight, 10)
		}
		if want(attrApproxDelayed) {
			out[attrApproxDelayed] = strconv.FormatInt(st.Delayed, 10)
		}
	}
	return out, nil
}

func (s *Service) getQueueAttributes(ctx context.Context, rc *reqCtx) (any, error) {
	var in getQueueAttributesInput
	q, err := s.decodeQueue(ctx, rc, &in)
	if err != nil {
		return nil, err
	}
	for _, n := range in.AttributeNames {
		if !knownQueueAttr(n) {
			return nil, errUnknownAttribute(n)
		}
	}
	if len(in.AttributeNames) == 0 {
		return attributesOutput{}, nil
	}
	attrs, err := s.queueAttributes(ctx, q, in.AttributeNames)
	if err != nil {
		return nil, err
	}
	return attributesOutput{Attributes: attrs}, nil
}

func (s *Service) setQueueAttributes(ctx context.Context, rc *reqCtx) (any, error) {
	var in setQueueAttributesInput
	q, err := s.decodeQueue(ctx, rc, &in)
	if err != nil {
		return nil, err
	}
	attrs, err := normalizeAttrs(in.Attributes, q.FIFO, false)
	if err != nil {
		return nil, err
	}
	if err := s.checkRedrive(ctx, q.Account, q.Region, q.Name, q.FIFO, attrs[attrRedrive]); err != nil {
		return nil, err
	}
	err = s.updateQueue(ctx, q, func(cur *queueRecord) error {
		if attrs[attrSSE] == "true" && cur.Attrs[attrKmsKey] != "" && attrs[attrKmsKey] == "" {
			if _, clearing := attrs[attrKmsKey]; !clearing {
				return errInvalidAttributeName("You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.")
			}
		}
		applyAttrs(cur, attrs)
		cur.Modified = s.now().Unix()
		return nil
	})
	return nil, err
}

func (s *Service) tagQueue(ctx context.Context, rc *reqCtx) (any, error) {
	var in tagQueueInput
	q, err := s.decodeQueue(ctx, rc, &in)
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, errMissingParameter("Tags")
	}
	err = s.updateQueue(ctx, q, func(cur *queueRecord) error {
		merged := map[string]string{}
		for k, v := range cur.Tags {
			merged[k] = v
		}
		for k, v := range in.Tags {
			merged[k] = v
		}
		if err := validateTags(merged, 0); err != nil {
			return err
		}
		cur.Tags = merged
		return nil
	})
	return nil, err
}

func (s *Service) untagQueue(ctx context.Context, rc *reqCtx) (any, error) {
	var in untagQueueInput
	q, err := s.decodeQueue(ctx, rc, &in)
	if err != nil {
		return nil, err
	}
	if len(in.TagKeys) == 0 {
		return nil, errMissingParameter("TagKeys")
	}
	err = s.updateQueue(ctx, q, func(cur *queueRecord) error {
		for _, k := range in.TagKeys {
			delete(cur.Tags, k)
		}
		return nil
	})
	return nil, err
}

func (s *Service) listQueueTags(ctx context.Context, rc *reqCtx) (any, error) {
	var in queueURLInput
	q, err := s.decodeQueue(ctx, rc, &in)
	if err != nil {
		return nil, err
	}
	return tagsOutput{Tags: q.Tags}, nil
}

func (s *Service) purgeQueue(ctx context.Context, rc *reqCtx) (any, error) {
	var in queueURLInput
	q, err := s.decodeQueue(ctx, rc, &in)
	if err != nil {
		return nil, err
	}
	now := s.now()
	err = s.updateQueue(ctx, q, func(cur *queueRecord) error {
		if cur.LastPurge != 0 && now.Sub(timeMs(cur.LastPurge)) < purgeInterval {
			return errPurgeInProgress(cur.Name)
		}
		cur.LastPurge = now.UnixMilli()
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Drop (not Purge) so that FIFO deduplication ids go too, as in SQS.
	if err := s.deps.Queues.Drop(ctx, q.storageName()); err != nil {
		return nil, fmt.Errorf("sqs: purge %s: %w", q.Name, err)
	}
	return nil, nil
}

func (s *Service) listDeadLetterSourceQueues(ctx context.Context, rc *reqCtx) (any, error) {
	var in listDLSourcesInput
	q, err := s.decodeQueue(ctx, rc, &in)
	if err != nil {
		return nil, err
	}
	limit, paged, err := pageLimit(in.MaxResults)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	sources, err := s.deadLetterSources(ctx, q)
	if err != nil {
		return nil, err
	}
	out := listDLSourcesOutput{QueueUrls: []string{}}
	for _, src := range sources {
		if after != "" && src.Name <= after {
			continue
		}
		if len(out.QueueUrls) == limit {
			if paged {
				out.NextToken = encodeToken(nameOfURL(out.QueueUrls[limit-1]))
			}
			break
		}
		out.QueueUrls = append(out.QueueUrls, src.url(rc.base))
	}
	return out, nil
}

func nameOfURL(u string) string { return u[strings.LastIndexByte(u, '/')+1:] }

// deadLetterSources lists the queues whose RedrivePolicy targets dlq.
func (s *Service) deadLetterSources(ctx context.Context, dlq *queueRecord) ([]*queueRecord, error) {
	qs, err := s.listQueues(ctx, dlq.Account, dlq.Region, "", "", 0)
	if err != nil {
		return nil, err
	}
	var out []*queueRecord
	for _, q := range qs {
		if arn, _, ok := q.redrive(); ok && arn == dlq.arn() {
			out = append(out, q)
		}
	}
	return out, nil
}

// Permissions. AddPermission and RemovePermission edit the queue's Policy
// document as SQS does; Fogbank records policies but does not evaluate
// them (every caller with valid credentials may use any queue).

type policyDoc struct {
	Version   string            `json:"Version"`
	ID        string            `json:"Id,omitempty"`
	Statement []json.RawMessage `json:"Statement"`
}

type policyStatement struct {
	Sid       string         `json:"Sid"`
	Effect    string         `json:"Effect"`
	Principal map[string]any `json:"Principal"`
	Action    any            `json:"Action"`
	Resource  string         `json:"Resource"`
}

var permissionActions = []string{"*", "SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility",
	"GetQueueAttributes", "GetQueueUrl", "ListDeadLetterSourceQueues", "PurgeQueue", "ListQueueTags",
	"SendMessageBatch", "DeleteMessageBatch", "ChangeMessageVisibilityBatch"}

func (s *Service) addPermission(ctx context.Context, rc *reqCtx) (any, error) {
	var in addPermissionInput
	q, err := s.decodeQueue(ctx, rc, &in)
	if err != nil {
		return nil, err
	}
	label := deref(in.Label)
	switch {
	case label == "":
		return nil, errMissingParameter("Label")
	case len(in.AWSAccountIds) == 0:
		return nil, errMissingParameter("AWSAccountId")
	case len(in.Actions) == 0:
		return nil, errMissingParameter("ActionName")
	}
	if len(label) > 80 || !validBatchID(label) {
		return nil, errInvalidValue(label, "Label", "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.")
	}
	for _, a := range in.Actions {
		if !slices.Contains(permissionActions, a) {
			return nil, errInvalidValue(a, "ActionName", "Please refer to the appropriate WSDL for a list of valid actions.")
		}
	}
	for _, a := range in.AWSAccountIds {
		if !accountRE.MatchString(a) {
			return nil, errInvalidValue(a, "AWSAccountId", "")
		}
	}
	err = s.updateQueue(ctx, q, func(cur *queueRecord) error {
		doc := policyDoc{Version: "2008-10-17", ID: cur.arn() + "/SQSDefaultPolicy"}
		if err := policyOf(cur, &doc); err != nil {
			return err
		}
		for _, raw := range doc.Statement {
			if statementSid(raw) == label {
				return errInvalidValue(label, "Label", "Already exists.")
			}
		}
		principals := make([]string, 0, len(in.AWSAccountIds))
		for _, a := range in.AWSAccountIds {
			principals = append(principals, "arn:aws:iam::"+a+":root")
		}
		actions := make([]string, 0, len(in.Actions))
		for _, a := range in.Actions {
			actions = append(actions, "SQS:"+a)
		}
		st := policyStatement{Sid: label, Effect: "Allow", Principal: map[string]any{"AWS": oneOrList(principals)},
			Action: oneOrList(actions), Resource: cur.arn()}
		b, _ := json.Marshal(st)
		doc.Statement = append(doc.Statement, b)
		setPolicy(cur, doc)
		cur.Modified = s.now().Unix()
		return nil
	})
	return nil, err
}

// policyOf decodes q's Policy document into doc (left as it is when q has
// no Policy).
func policyOf(q *queueRecord, doc *policyDoc) error {
	if p := q.Attrs[attrPolicy]; p != "" {
		if err := json.Unmarshal([]byte(p), doc); err != nil {
			return errInvalidAttributeValue("Invalid value for the parameter Policy.")
		}
	}
	return nil
}

// setPolicy stores doc as q's Policy; a document without statements
// removes the Policy.
func setPolicy(q *queueRecord, doc policyDoc) {
	if len(doc.Statement) == 0 {
		delete(q.Attrs, attrPolicy)
		return
	}
	pb, _ := json.Marshal(doc)
	q.Attrs[attrPolicy] = string(pb)
}

// statementSid returns the Sid of a policy statement ("" if it has none).
func statementSid(raw json.RawMessage) string {
	var st struct{ Sid string }
	if json.Unmarshal(raw, &st) != nil {
		return ""
	}
	return st.Sid
}

func oneOrList(v []string) any {
	if len(v) == 1 {
		return v[0]
	}
	return v
}

func (s *Service) removePermission(ctx context.Context, rc *reqCtx) (any, error) {
	var in removePermissionInput
	q, err := s.decodeQueue(ctx, rc, &in)
	if err != nil {
		return nil, err
	}
	label := deref(in.Label)
	if label == "" {
		return nil, errMissingParameter("Label")
	}
	err = s.updateQueue(ctx, q, func(cur *queueRecord) error {
		var doc policyDoc
		if err := policyOf(cur, &doc); err != nil {
			return err
		}
		n := len(doc.Statement)
		doc.Statement = slices.DeleteFunc(doc.Statement, func(raw json.RawMessage) bool { return statementSid(raw) == label })
		if len(doc.Statement) == n {
			return errInvalidValue(label, "Label", "can't find label.")
		}
		setPolicy(cur, doc)
		cur.Modified = s.now().Unix()
		return nil
	})
	return nil, err
}
