package cloudtrail

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/clock"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/trail"
)

const target = "CloudTrail_20131101"

// Deps are what the service needs.
type Deps struct {
	Trail  *trail.Trail
	Clock  clock.Clock
	Logger *slog.Logger
}

// Service is the CloudTrail service.
type Service struct {
	deps  Deps
	codec protocol.Codec
}

// New returns the CloudTrail service.
func New(deps Deps) *Service {
	return &Service{deps: deps, codec: protocol.Codec{Kind: protocol.AWSJSON11, Namespace: "com.amazonaws.cloudtrail.v20131101", Logger: deps.Logger}}
}

// Name implements service.Service.
func (s *Service) Name() string { return "cloudtrail" }

// Routes implements service.Service.
func (s *Service) Routes() service.Routes {
	return service.Routes{TargetPrefixes: []string{target, "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"}, EndpointPrefix: "cloudtrail"}
}

// Start implements service.Service.
func (s *Service) Start(context.Context) error { return nil }

// Close implements service.Service.
func (s *Service) Close() error { return nil }

// WriteError implements service.Service.
func (s *Service) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	s.codec.WriteError(w, r, err)
}

func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := service.CallFrom(r.Context())
	t := r.Header.Get("X-Amz-Target")
	op := t[strings.LastIndexByte(t, '.')+1:]
	call.Operation = op
	switch op {
	case "LookupEvents":
		call.ReadOnly = true
		var in lookupInput
		if err := protocol.DecodeJSON(r, &in); err != nil {
			s.codec.WriteError(w, r, err)
			return
		}
		out, err := s.lookupEvents(r.Context(), call, in)
		if err != nil {
			s.codec.WriteError(w, r, err)
			return
		}
		s.codec.WriteJSON(w, http.StatusOK, out)
	default:
		s.codec.WriteError(w, r, protocol.UnknownOperation(op))
	}
}

type lookupAttribute struct {
	AttributeKey   string
	AttributeValue string
}

type lookupInput struct {
	LookupAttributes []lookupAttribute
	StartTime        *protocol.EpochSeconds
	EndTime          *protocol.EpochSeconds
	EventCategory    string
	MaxResults       *int
	NextToken        string
}

type resource struct {
	ResourceType string `json:"ResourceType,omitempty"`
	ResourceName string `json:"ResourceName,omitempty"`
}

type event struct {
	EventID         string                `json:"EventId"`
	EventName       string                `json:"EventName"`
	ReadOnly        string                `json:"ReadOnly"`
	AccessKeyID     string                `json:"AccessKeyId,omitempty"`
	EventTime       protocol.EpochSeconds `json:"EventTime"`
	EventSource     string                `json:"EventSource"`
	Username        string                `json:"Username,omitempty"`
	Resources       []resource            `json:"Resources"`
	CloudTrailEvent string                `json:"CloudTrailEvent"`
}

type lookupOutput struct {
	Events    []event `json:"Events"`
	NextToken string  `json:"NextToken,omitempty"`
}

var validKeys = map[string]bool{"EventId": true, "EventName": true, "ReadOnly": true, "Username": true, "ResourceType": true, "ResourceName": true, "EventSource": true, "AccessKeyId": true}

func (s *Service) lookupEvents(ctx context.Context, call *service.Call, in lookupInput) (*lookupOutput, error) {
	q := trail.Query{Account: call.Account, Region: call.Region, Limit: 50}
	if len(in.LookupAttributes) > 1 {
		return nil, protocol.NewError(400, "InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
	}
	if len(in.LookupAttributes) == 1 {
		a := in.LookupAttributes[0]
		if !validKeys[a.AttributeKey] {
			return nil, protocol.NewError(400, "InvalidLookupAttributesException", "1 validation error detected: Value '%s' at 'lookupAttributes.1.member.attributeKey' failed to satisfy constraint: Member must satisfy enum value set: [EventId, AccessKeyId, EventSource, ResourceName, ResourceType, EventName, ReadOnly, Username]", a.AttributeKey)
		}
		if a.AttributeValue == "" || len(a.AttributeValue) > 2000 {
			return nil, protocol.NewError(400, "InvalidLookupAttributesException", "Attribute value for %s must be between 1 and 2000 characters long.", a.AttributeKey)
		}
		q.AttributeKey, q.AttributeValue = a.AttributeKey, a.AttributeValue
	}
	if in.EventCategory != "" && in.EventCategory != "insight" {
		return nil, protocol.NewError(400, "InvalidEventCategoryException", "EventCategory %s is not valid.", in.EventCategory)
	}
	if in.EventCategory == "insight" {
		return &lookupOutput{Events: []event{}}, nil // Fogbank generates no Insights events.
	}
	now := s.deps.Clock.Now()
	if in.StartTime != nil {
		q.Start = time.Time(*in.StartTime)
	} else {
		q.Start = now.Add(-90 * 24 * time.Hour)
	}
	if in.EndTime != nil {
		q.End = time.Time(*in.EndTime)
	}
	if !q.End.IsZero() && q.Start.After(q.End) {
		return nil, protocol.NewError(400, "InvalidTimeRangeException", "Start time must be earlier than end time.")
	}
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			return nil, protocol.NewError(400, "InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
		}
		q.Limit = *in.MaxResults
	}
	if in.NextToken != "" {
		before, err := decodeToken(in.NextToken)
		if err != nil {
			return nil, protocol.NewError(400, "InvalidNextTokenException", "Invalid NextToken.")
		}
		q.Before = before
	}
	found, next, err := s.deps.Trail.Lookup(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &lookupOutput{Events: make([]event, 0, len(found))}
	for _, f := range found {
		r := f.Record
		ev := event{
			EventID: r.EventID, EventName: r.EventName, ReadOnly: strconv.FormatBool(r.ReadOnly),
			AccessKeyID: r.UserIdentity.AccessKeyID, EventTime: protocol.EpochSeconds(r.Time),
			EventSource: r.EventSource, Username: trail.Username(r), Resources: []resource{},
			CloudTrailEvent: string(f.Raw),
		}
		if ev.EventTime == (protocol.EpochSeconds{}) {
			if t, err := time.Parse(time.RFC3339, r.EventTime); err == nil {
				ev.EventTime = protocol.EpochSeconds(t)
			}
		}
		for _, res := range r.Resources {
			ev.Resources = append(ev.Resources, resource{ResourceType: res.Type, ResourceName: res.ARN})
		}
		out.Events = append(out.Events, ev)
	}
	if next != 0 {
		out.NextToken = encodeToken(next)
	}
	return out, nil
}

func encodeToken(seq int64) string {
	b, _ := json.Marshal(map[string]int64{"before": seq})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(tok string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, err
	}
	var v map[string]int64
	if err := json.Unmarshal(b, &v); err != nil {
		return 0, err
	}
	return v["before"], nil
}
