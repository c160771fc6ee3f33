package logs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

var nameRE = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)

var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

func decode(body []byte, v any) error { return protocol.UnmarshalJSON(body, v) }

func groupARN(call *service.Call, name string) string {
	return "arn:aws:logs:" + call.Region + ":" + call.Account + ":log-group:" + name
}

func validGroupName(n string) error {
	if len(n) > 512 {
		return errInvalidParam("Invalid LogGroup or LogStream, both must have length less than or equal to 512.")
	}
	if n == "" || !nameRE.MatchString(n) {
		return errValidation("logGroupName", n, `Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+`)
	}
	return nil
}

// groupName takes logGroupName or logGroupIdentifier (a name or an ARN).
func groupName(name, ident string) (string, error) {
	if name != "" && ident != "" {
		return "", protocol.ValidationError("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	}
	if ident != "" {
		if strings.HasPrefix(ident, "arn:") {
			_, rest, _ := strings.Cut(ident, ":log-group:")
			return strings.TrimSuffix(rest, ":*"), nil
		}
		return ident, nil
	}
	if name == "" {
		return "", protocol.ValidationError("1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null")
	}
	return name, nil
}

func (s *Service) createLogGroup(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		LogGroupName  string            `json:"logGroupName"`
		KmsKeyId      string            `json:"kmsKeyId"`
		Tags          map[string]string `json:"tags"`
		LogGroupClass string            `json:"logGroupClass"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := validGroupName(in.LogGroupName); err != nil {
		return nil, err
	}
	g := groupRecord{Name: in.LogGroupName, Created: s.deps.Clock.Now(), KMSKeyID: in.KmsKeyId, Tags: in.Tags, Class: in.LogGroupClass}
	if g.Class == "" {
		g.Class = "STANDARD"
	}
	if err := put(ctx, s.deps.Meta, nsGroups, groupKey(call.Account, call.Region, g.Name), g, storage.MustNotExist); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, errAlreadyExists("log group")
		}
		return nil, err
	}
	call.Resources = []service.Resource{{Type: "AWS::Logs::LogGroup", Name: groupARN(call, g.Name)}}
	return struct{}{}, nil
}

func (s *Service) deleteLogGroup(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		LogGroupName string `json:"logGroupName"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	key := groupKey(call.Account, call.Region, in.LogGroupName)
	if err := s.deps.Meta.Delete(ctx, nsGroups, key, storage.AnyVersion); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, errGroupNotFound()
		}
		return nil, err
	}
	recs, err := s.deps.Meta.List(ctx, nsStreams, key+"/", "", 0)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		_ = s.deps.Meta.Delete(ctx, nsStreams, r.Key, storage.AnyVersion)
		_, _ = s.deps.Logs.Trim(ctx, "logs/"+r.Key, s.deps.Clock.Now().Add(1<<40))
	}
	return struct{}{}, nil
}

func (s *Service) describeLogGroups(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		LogGroupNamePrefix  string `json:"logGroupNamePrefix"`
		LogGroupNamePattern string `json:"logGroupNamePattern"`
		Limit               *int   `json:"limit"`
		NextToken           string `json:"nextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.LogGroupNamePrefix != "" && in.LogGroupNamePattern != "" {
		return nil, errInvalidParam("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	limit := 50
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 50 {
			return nil, errInvalidParam("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50", *in.Limit)
		}
		limit = *in.Limit
	}
	recs, err := s.deps.Meta.List(ctx, nsGroups, call.Account+"/"+call.Region+"/", "", 0)
	if err != nil {
		return nil, err
	}
	var groups []groupRecord
	for _, r := range recs {
		var g groupRecord
		if json.Unmarshal(r.Value, &g) != nil {
			continue
		}
		if !strings.HasPrefix(g.Name, in.LogGroupNamePrefix) {
			continue
		}
		if in.LogGroupNamePattern != "" && !strings.Contains(strings.ToLower(g.Name), strings.ToLower(in.LogGroupNamePattern)) {
			continue
		}
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name < groups[j].Name })
	start := 0
	if in.NextToken != "" {
		after, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil {
			return nil, errInvalidParam("The specified nextToken is invalid.")
		}
		start = sort.Search(len(groups), func(i int) bool { return groups[i].Name > string(after) })
	}
	out := []map[string]any{}
	end := min(len(groups), start+limit)
	for _, g := range groups[start:end] {
		m := map[string]any{
			"logGroupName": g.Name, "creationTime": g.Created.UnixMilli(), "metricFilterCount": 0,
			"arn": groupARN(call, g.Name) + ":*", "logGroupArn": groupARN(call, g.Name), "storedBytes": 0,
			"logGroupClass": g.Class, "deletionProtectionEnabled": false,
		}
		if g.Retention > 0 {
			m["retentionInDays"] = g.Retention
		}
		if g.KMSKeyID != "" {
			m["kmsKeyId"] = g.KMSKeyID
		}
		out = append(out, m)
	}
	resp := map[string]any{"logGroups": out}
	if end < len(groups) {
		resp["nextToken"] = base64.RawURLEncoding.EncodeToString([]byte(groups[end-1].Name))
	}
	return resp, nil
}

func (s *Service) putRetentionPolicy(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		LogGroupName    string `json:"logGroupName"`
		RetentionInDays int    `json:"retentionInDays"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if !slices.Contains(retentionDays, in.RetentionInDays) {
		return nil, errInvalidParam("1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]", in.RetentionInDays)
	}
	return struct{}{}, s.setRetention(ctx, call, in.LogGroupName, in.RetentionInDays)
}

func (s *Service) deleteRetentionPolicy(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		LogGroupName string `json:"logGroupName"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return struct{}{}, s.setRetention(ctx, call, in.LogGroupName, 0)
}

func (s *Service) setRetention(ctx context.Context, call *service.Call, name string, days int) error {
	g, ver, err := s.getGroup(ctx, call.Account, call.Region, name)
	if err != nil {
		return err
	}
	g.Retention = days
	if err := put(ctx, s.deps.Meta, nsGroups, groupKey(call.Account, call.Region, name), g, ver); err != nil {
		return err
	}
	if days > 0 {
		// Expire what is already older than the new retention.
		cutoff := s.deps.Clock.Now().AddDate(0, 0, -days)
		recs, _ := s.deps.Meta.List(ctx, nsStreams, groupKey(call.Account, call.Region, name)+"/", "", 0)
		for _, r := range recs {
			_, _ = s.deps.Logs.Trim(ctx, "logs/"+r.Key, cutoff)
		}
	}
	return nil
}

// tag operations: TagResource/UntagResource/ListTagsForResource on log groups.
func (s *Service) tagTarget(call *service.Call, arn string) (string, error) {
	_, rest, ok := strings.Cut(arn, ":log-group:")
	if !ok {
		return "", errInvalidParam("Invalid resource ARN %s", arn)
	}
	return strings.TrimSuffix(rest, ":*"), nil
}

func (s *Service) tagResource(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		ResourceArn string            `json:"resourceArn"`
		Tags        map[string]string `json:"tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return struct{}{}, s.editTags(ctx, call, in.ResourceArn, func(tags map[string]string) {
		for k, v := range in.Tags {
			tags[k] = v
		}
	})
}

// editTags applies edit to the tags of the log group an ARN names and
// stores the group.
func (s *Service) editTags(ctx context.Context, call *service.Call, arn string, edit func(map[string]string)) error {
	name, err := s.tagTarget(call, arn)
	if err != nil {
		return err
	}
	g, ver, err := s.getGroup(ctx, call.Account, call.Region, name)
	if err != nil {
		return err
	}
	if g.Tags == nil {
		g.Tags = map[string]string{}
	}
	edit(g.Tags)
	return put(ctx, s.deps.Meta, nsGroups, groupKey(call.Account, call.Region, name), g, ver)
}

func (s *Service) untagResource(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		ResourceArn string   `json:"resourceArn"`
		TagKeys     []string `json:"tagKeys"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return struct{}{}, s.editTags(ctx, call, in.ResourceArn, func(tags map[string]string) {
		for _, k := range in.TagKeys {
			delete(tags, k)
		}
	})
}

func (s *Service) listTagsForResource(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in struct {
		ResourceArn string `json:"resourceArn"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, err := s.tagTarget(call, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	g, _, err := s.getGroup(ctx, call.Account, call.Region, name)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for k, v := range g.Tags {
		tags[k] = v
	}
	return map[string]any{"tags": tags}, nil
}

var _ = url.PathEscape
