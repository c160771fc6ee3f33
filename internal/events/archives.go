package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// Archive is a stored archive. Events reach it through a managed rule
// ("Events-Archive-<name>") on its source bus, as on AWS, and are kept in
// the log stream archiveStream(...).
type Archive struct {
	Name          string    `json:"name"`
	Account       string    `json:"account"`
	Region        string    `json:"region"`
	SourceBus     string    `json:"sourceBus"`
	EventPattern  string    `json:"eventPattern,omitempty"`
	Description   string    `json:"description,omitempty"`
	RetentionDays int       `json:"retentionDays"`
	State         string    `json:"state"`
	Created       time.Time `json:"created"`
}

func (a *Archive) ARN() string { return archiveARN(a.Account, a.Region, a.Name) }

func (a *Archive) ruleName() string { return "Events-Archive-" + a.Name }

func archiveStream(account, region, name string) string {
	return storage.Key("events", "archive", account, region, name)
}

// archiveRulePattern is the archive's pattern plus the clause AWS adds to
// keep replayed events out of archives.
func archiveRulePattern(p string) string {
	obj := map[string]json.RawMessage{}
	if p != "" {
		json.Unmarshal([]byte(p), &obj)
	}
	obj["replay-name"] = json.RawMessage(`[{"exists":false}]`)
	return string(mustJSON(obj))
}

type archiveInput struct {
	ArchiveName    string
	EventSourceArn string
	Description    *string
	EventPattern   *string
	RetentionDays  *int
	NamePrefix     string
	State          string
	NextToken      string
	Limit          *int
}

func (s *Service) getArchive(ctx context.Context, account, region, name string) (*Archive, int64, error) {
	return getRecord[Archive](ctx, s, nsArchives, regionKey(account, region, name), func() error {
		return errNotFound("Archive %s does not exist.", name)
	})
}

func (s *Service) createArchive(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in archiveInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v validationErrors
	v.pattern(in.ArchiveName, "archiveName", nameRE, nameOK(in.ArchiveName))
	v.maxLen(in.ArchiveName, "archiveName", 48)
	if in.RetentionDays != nil && *in.RetentionDays < 0 {
		v.add("Value '%d' at 'retentionDays' failed to satisfy constraint: Member must have value greater than or equal to 0", *in.RetentionDays)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	ref, err := resolveBus(in.EventSourceArn, call.Account, call.Region)
	if err != nil || !strings.HasPrefix(in.EventSourceArn, "arn:") {
		return nil, errValidation("Parameter EventSourceArn is not valid. Reason: Provided Arn is not in correct format.")
	}
	if ref.Account != call.Account || ref.Region != call.Region {
		return nil, errBusNotFound(ref.Name)
	}
	if _, _, err := s.getBus(ctx, ref); err != nil {
		return nil, err
	}
	a := &Archive{Name: in.ArchiveName, Account: call.Account, Region: call.Region, SourceBus: ref.Name, State: "ENABLED", Created: s.now()}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.EventPattern != nil && *in.EventPattern != "" {
		if err := checkPattern(*in.EventPattern); err != nil {
			return nil, err
		}
		a.EventPattern = *in.EventPattern
	}
	if in.RetentionDays != nil {
		a.RetentionDays = *in.RetentionDays
	}
	if _, err := s.deps.Meta.Put(ctx, nsArchives, regionKey(a.Account, a.Region, a.Name), mustJSON(a), storage.MustNotExist); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, errExists("Archive %s already exists.", a.Name)
		}
		return nil, fmt.Errorf("events: put archive: %w", err)
	}
	r := &Rule{Name: a.ruleName(), Bus: a.SourceBus, Account: a.Account, Region: a.Region, EventPattern: archiveRulePattern(a.EventPattern), State: stateEnabled, ManagedBy: managedByArchive, CreatedBy: a.Account, Archive: a.Name, Modified: a.Created}
	if err := s.saveRule(ctx, r, storage.AnyVersion); err != nil {
		return nil, err
	}
	return map[string]any{"ArchiveArn": a.ARN(), "State": a.State, "CreationTime": epoch(a.Created)}, nil
}

// archiveStats counts the archive's events and bytes within retention.
func (s *Service) archiveStats(ctx context.Context, a *Archive) (count, size int64, err error) {
	stream := archiveStream(a.Account, a.Region, a.Name)
	if a.RetentionDays > 0 {
		s.deps.Logs.Trim(ctx, stream, s.now().AddDate(0, 0, -a.RetentionDays))
	}
	recs, err := s.deps.Logs.Read(ctx, stream, storage.LogQuery{})
	if err != nil {
		return 0, 0, fmt.Errorf("events: read archive: %w", err)
	}
	for _, r := range recs {
		count++
		size += int64(len(r.Data))
	}
	return count, size, nil
}

type archiveOutput struct {
	ArchiveArn     string                 `json:"ArchiveArn,omitempty"`
	ArchiveName    string                 `json:"ArchiveName"`
	EventSourceArn string                 `json:"EventSourceArn"`
	Description    string                 `json:"Description,omitempty"`
	EventPattern   string                 `json:"EventPattern,omitempty"`
	State          string                 `json:"State"`
	RetentionDays  int                    `json:"RetentionDays"`
	SizeBytes      int64                  `json:"SizeBytes"`
	EventCount     int64                  `json:"EventCount"`
	CreationTime   *protocol.EpochSeconds `json:"CreationTime"`
}

func (s *Service) archiveView(ctx context.Context, a *Archive, full bool) (archiveOutput, error) {
	n, size, err := s.archiveStats(ctx, a)
	if err != nil {
		return archiveOutput{}, err
	}
	out := archiveOutput{ArchiveName: a.Name, EventSourceArn: busARN(a.Account, a.Region, a.SourceBus), State: a.State, RetentionDays: a.RetentionDays, SizeBytes: size, EventCount: n, CreationTime: epoch(a.Created)}
	if full {
		out.ArchiveArn, out.Description, out.EventPattern = a.ARN(), a.Description, a.EventPattern
	}
	return out, nil
}

func (s *Service) describeArchive(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in archiveInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	a, _, err := s.getArchive(ctx, call.Account, call.Region, in.ArchiveName)
	if err != nil {
		return nil, err
	}
	return s.archiveView(ctx, a, true)
}

func (s *Service) listArchives(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in archiveInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := checkLimit(in.Limit)
	if err != nil {
		return nil, err
	}
	if in.EventSourceArn != "" {
		ref, err := resolveBus(in.EventSourceArn, call.Account, call.Region)
		if err != nil {
			return nil, err
		}
		if _, _, err := s.getBus(ctx, ref); err != nil {
			return nil, err
		}
	}
	recs, next, err := s.listRecords(ctx, nsArchives, call.Account+"/"+call.Region+"/"+in.NamePrefix, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	out := struct {
		Archives  []archiveOutput `json:"Archives"`
		NextToken string          `json:"NextToken,omitempty"`
	}{Archives: []archiveOutput{}, NextToken: next}
	for _, rec := range recs {
		var a Archive
		if json.Unmarshal(rec.Value, &a) != nil {
			continue
		}
		if (in.EventSourceArn != "" && busARN(a.Account, a.Region, a.SourceBus) != in.EventSourceArn) || (in.State != "" && a.State != in.State) {
			continue
		}
		v, err := s.archiveView(ctx, &a, false)
		if err != nil {
			return nil, err
		}
		out.Archives = append(out.Archives, v)
	}
	return out, nil
}

func (s *Service) updateArchive(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in archiveInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Description == nil && in.EventPattern == nil && in.RetentionDays == nil {
		return nil, errValidation("At least one of EventPattern, RetentionDays or Description must be provided.")
	}
	a, ver, err := s.getArchive(ctx, call.Account, call.Region, in.ArchiveName)
	if err != nil {
		return nil, err
	}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.RetentionDays != nil {
		a.RetentionDays = *in.RetentionDays
	}
	if in.EventPattern != nil {
		if *in.EventPattern != "" {
			if err := checkPattern(*in.EventPattern); err != nil {
				return nil, err
			}
		}
		a.EventPattern = *in.EventPattern
	}
	if _, err := s.deps.Meta.Put(ctx, nsArchives, regionKey(a.Account, a.Region, a.Name), mustJSON(a), ver); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, errConcurrentModification()
		}
		return nil, fmt.Errorf("events: put archive: %w", err)
	}
	r, rver, err := s.getRule(ctx, a.Account, a.Region, a.SourceBus, a.ruleName())
	if err == nil {
		r.EventPattern = archiveRulePattern(a.EventPattern)
		if err := s.saveRule(ctx, r, rver); err != nil {
			return nil, err
		}
	}
	return map[string]any{"ArchiveArn": a.ARN(), "State": a.State, "CreationTime": epoch(a.Created)}, nil
}

func (s *Service) deleteArchive(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in archiveInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	a, ver, err := s.getArchive(ctx, call.Account, call.Region, in.ArchiveName)
	if err != nil {
		return nil, err
	}
	if r, rver, err := s.getRule(ctx, a.Account, a.Region, a.SourceBus, a.ruleName()); err == nil {
		if err := s.deleteRuleRecord(ctx, r, rver); err != nil {
			return nil, err
		}
	}
	if err := s.deps.Meta.Delete(ctx, nsArchives, regionKey(a.Account, a.Region, a.Name), ver); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("events: delete archive: %w", err)
	}
	if _, err := s.deps.Logs.Trim(ctx, archiveStream(a.Account, a.Region, a.Name), s.now().AddDate(1000, 0, 0)); err != nil {
		return nil, fmt.Errorf("events: drop archive events: %w", err)
	}
	return struct{}{}, nil
}

// archiveEvent appends an archived event (the delivery of an archive rule).
func (s *Service) archiveEvent(ctx context.Context, t *task) error {
	_, err := s.deps.Logs.Append(ctx, archiveStream(t.Account, t.Region, t.Archive), []storage.LogEntry{{Time: t.Ingested, Data: t.Event}})
	return err
}
