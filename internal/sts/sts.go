package sts

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/fogbank/fogbank/internal/identity"
	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
)

const (
	version    = "2011-06-15"
	xmlns      = "https://sts.amazonaws.com/doc/2011-06-15/"
	jsonTarget = "AWSSecurityTokenServiceV20110615"
	jsonNS     = "com.amazonaws.sts"
)

// Deps are what the service needs.
type Deps struct {
	Identity *identity.Store
	Logger   *slog.Logger
}

// Service is the STS service.
type Service struct {
	deps  Deps
	query protocol.Codec
	json  protocol.Codec
}

// New returns the STS service.
func New(deps Deps) *Service {
	return &Service{
		deps:  deps,
		query: protocol.Codec{Kind: protocol.AWSQuery, XMLNS: xmlns, Logger: deps.Logger},
		json:  protocol.Codec{Kind: protocol.AWSJSON10, Namespace: jsonNS, Logger: deps.Logger},
	}
}

// Name implements service.Service.
func (s *Service) Name() string { return "sts" }

// Routes implements service.Service.
func (s *Service) Routes() service.Routes {
	return service.Routes{TargetPrefixes: []string{jsonTarget}, QueryVersions: []string{version}, EndpointPrefix: "sts"}
}

// Start implements service.Service.
func (s *Service) Start(context.Context) error { return nil }

// Close implements service.Service.
func (s *Service) Close() error { return nil }

func (s *Service) codec(r *http.Request) protocol.Codec {
	if r.Header.Get("X-Amz-Target") != "" {
		return s.json
	}
	return s.query
}

// WriteError implements service.Service.
func (s *Service) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	s.codec(r).WriteError(w, r, err)
}

// params is the decoded input of either protocol.
type params map[string]string

func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := service.CallFrom(r.Context())
	var op string
	p := params{}
	jsonMode := r.Header.Get("X-Amz-Target") != ""
	if jsonMode {
		op = strings.TrimPrefix(r.Header.Get("X-Amz-Target"), jsonTarget+".")
		var in map[string]any
		if err := protocol.DecodeJSON(r, &in); err != nil {
			s.json.WriteError(w, r, err)
			return
		}
		for k, v := range in {
			p[k] = fmt.Sprint(v)
		}
	} else {
		vals, err := protocol.ParseQuery(r)
		if err != nil {
			s.query.WriteError(w, r, err)
			return
		}
		op = vals.Get("Action")
		for k := range vals {
			p[k] = vals.Get(k)
		}
		if op == "" {
			s.query.WriteError(w, r, protocol.MissingAction())
			return
		}
	}
	call.Operation = op
	var (
		res any
		err error
	)
	switch op {
	case "GetCallerIdentity":
		call.ReadOnly = true
		res = s.getCallerIdentity(call)
	case "AssumeRole":
		res, err = s.assumeRole(r.Context(), call, p)
	case "GetSessionToken":
		res, err = s.getSessionToken(r.Context(), call, p)
	case "GetFederationToken":
		res, err = s.getFederationToken(r.Context(), call, p)
	case "GetAccessKeyInfo":
		call.ReadOnly = true
		res, err = s.getAccessKeyInfo(r.Context(), p)
	case "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML", "DecodeAuthorizationMessage", "AssumeRoot", "GetDelegatedAccessToken", "GetWebIdentityToken":
		err = protocol.NewError(501, "NotImplemented", "Fogbank does not implement STS %s yet", op)
	default:
		if jsonMode {
			err = protocol.UnknownOperation(op)
		} else {
			err = protocol.InvalidAction(op)
		}
	}
	if err != nil {
		s.codec(r).WriteError(w, r, err)
		return
	}
	if jsonMode {
		s.json.WriteJSON(w, http.StatusOK, toJSON(res))
		return
	}
	s.query.WriteQuery(w, r, op, res)
}

type callerIdentity struct {
	UserID  string `xml:"UserId" json:"UserId"`
	Account string `xml:"Account" json:"Account"`
	ARN     string `xml:"Arn" json:"Arn"`
}

func (s *Service) getCallerIdentity(call *service.Call) callerIdentity {
	id := call.Identity
	return callerIdentity{UserID: id.PrincipalID, Account: id.AccountID, ARN: id.ARN}
}

type credentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
	expiration      time.Time
}

func credsOf(k identity.Key) credentials {
	return credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.Secret, SessionToken: k.SessionToken, Expiration: k.Expiration.UTC().Format("2006-01-02T15:04:05Z"), expiration: k.Expiration}
}

type assumedRoleUser struct {
	ARN           string `xml:"Arn"`
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type assumeRoleResult struct {
	Credentials      credentials     `xml:"Credentials"`
	AssumedRoleUser  assumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize *int            `xml:"PackedPolicySize,omitempty"`
	SourceIdentity   string          `xml:"SourceIdentity,omitempty"`
}

type sessionTokenResult struct {
	Credentials credentials `xml:"Credentials"`
}

type federatedUser struct {
	ARN             string `xml:"Arn"`
	FederatedUserID string `xml:"FederatedUserId"`
}

type federationTokenResult struct {
	Credentials      credentials   `xml:"Credentials"`
	FederatedUser    federatedUser `xml:"FederatedUser"`
	PackedPolicySize int           `xml:"PackedPolicySize"`
}

type accessKeyInfoResult struct {
	Account string `xml:"Account"`
}

var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]*$`)

func validationError(value, member, constraint string) *protocol.Error {
	return protocol.NewError(400, "ValidationError", "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

func duration(p params, name, member string, def, lo, hi int) (time.Duration, error) {
	v, ok := p[name]
	if !ok || v == "" {
		return time.Duration(def) * time.Second, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, validationError(v, member, "Member must be a number")
	}
	if n < lo {
		return 0, validationError(v, member, fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	}
	if n > hi {
		return 0, validationError(v, member, fmt.Sprintf("Member must have value less than or equal to %d", hi))
	}
	return time.Duration(n) * time.Second, nil
}

// roleID derives a stable unique id for a role ARN (AWS's "AROA…" ids).
func roleID(arn string) string {
	h := sha256.Sum256([]byte(arn))
	return "AROA" + strings.TrimRight(base32.StdEncoding.EncodeToString(h[:]), "=")[:17]
}

func (s *Service) assumeRole(ctx context.Context, call *service.Call, p params) (any, error) {
	arn, name := p["RoleArn"], p["RoleSessionName"]
	if arn == "" {
		return nil, protocol.NewError(400, "ValidationError", "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	}
	if name == "" {
		return nil, protocol.NewError(400, "ValidationError", "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	}
	if len(arn) < 20 || len(arn) > 2048 {
		return nil, validationError(arn, "roleArn", "Member must have length greater than or equal to 20")
	}
	if len(name) < 2 || len(name) > 64 {
		c := "Member must have length greater than or equal to 2"
		if len(name) > 64 {
			c = "Member must have length less than or equal to 64"
		}
		return nil, validationError(name, "roleSessionName", c)
	}
	if !sessionNameRE.MatchString(name) {
		return nil, validationError(name, "roleSessionName", `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	d, err := duration(p, "DurationSeconds", "durationSeconds", 3600, 900, 43200)
	if err != nil {
		return nil, err
	}
	acct, _ := identity.SplitRoleARN(arn)
	denied := protocol.NewError(403, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", call.Identity.ARN, arn)
	if acct == "" {
		return nil, denied
	}
	exists, err := s.deps.Identity.AccountExists(ctx, acct)
	if err != nil {
		return nil, err
	}
	if !exists && !s.deps.Identity.AnyCredentials() {
		return nil, denied
	}
	rid := roleID(arn)
	k, err := s.deps.Identity.CreateTemporary(ctx, acct, arn, rid, name, "", d)
	if err != nil {
		return nil, err
	}
	call.RequestParameters = map[string]any{"roleArn": arn, "roleSessionName": name, "durationSeconds": int(d / time.Second)}
	res := assumeRoleResult{
		Credentials:     credsOf(k),
		AssumedRoleUser: assumedRoleUser{ARN: identity.AssumedRoleARN(arn, name), AssumedRoleID: rid + ":" + name},
	}
	call.ResponseElements = map[string]any{
		"credentials":     map[string]any{"accessKeyId": k.AccessKeyID, "sessionToken": "HIDDEN_DUE_TO_SECURITY_REASONS", "expiration": res.Credentials.Expiration},
		"assumedRoleUser": map[string]any{"assumedRoleId": res.AssumedRoleUser.AssumedRoleID, "arn": res.AssumedRoleUser.ARN},
	}
	if v := p["SourceIdentity"]; v != "" {
		res.SourceIdentity = v
	}
	if pol := p["Policy"]; pol != "" {
		n := min(100, len(pol)*100/2048)
		res.PackedPolicySize = &n
	}
	return res, nil
}

func (s *Service) getSessionToken(ctx context.Context, call *service.Call, p params) (any, error) {
	if call.Identity.SessionToken != "" {
		return nil, protocol.NewError(403, "AccessDenied", "Cannot call GetSessionToken with session credentials")
	}
	d, err := duration(p, "DurationSeconds", "durationSeconds", 43200, 900, 129600)
	if err != nil {
		return nil, err
	}
	if call.Identity.Type == "Root" && d > time.Hour {
		d = time.Hour // AWS caps root sessions at one hour
	}
	user := ""
	if call.Identity.Type == "IAMUser" {
		user = call.Identity.ARN[strings.LastIndexByte(call.Identity.ARN, '/')+1:]
	}
	k, err := s.deps.Identity.CreateTemporary(ctx, call.Identity.AccountID, "", "", "", user, d)
	if err != nil {
		return nil, err
	}
	call.ResponseElements = map[string]any{"credentials": map[string]any{"accessKeyId": k.AccessKeyID, "sessionToken": "HIDDEN_DUE_TO_SECURITY_REASONS", "expiration": k.Expiration.UTC().Format("Jan 2, 2006, 3:04:05 PM")}}
	return sessionTokenResult{Credentials: credsOf(k)}, nil
}

func (s *Service) getFederationToken(ctx context.Context, call *service.Call, p params) (any, error) {
	name := p["Name"]
	if name == "" {
		return nil, protocol.NewError(400, "ValidationError", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	if len(name) < 2 || len(name) > 32 || !sessionNameRE.MatchString(name) {
		return nil, validationError(name, "name", `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	if call.Identity.SessionToken != "" {
		return nil, protocol.NewError(403, "AccessDenied", "Cannot call GetFederationToken with session credentials")
	}
	d, err := duration(p, "DurationSeconds", "durationSeconds", 43200, 900, 129600)
	if err != nil {
		return nil, err
	}
	k, err := s.deps.Identity.CreateTemporary(ctx, call.Identity.AccountID, "", "", "", "", d)
	if err != nil {
		return nil, err
	}
	return federationTokenResult{
		Credentials:   credsOf(k),
		FederatedUser: federatedUser{ARN: "arn:aws:sts::" + call.Identity.AccountID + ":federated-user/" + name, FederatedUserID: call.Identity.AccountID + ":" + name},
	}, nil
}

func (s *Service) getAccessKeyInfo(ctx context.Context, p params) (any, error) {
	akid := p["AccessKeyId"]
	if len(akid) < 16 {
		return nil, validationError(akid, "accessKeyId", "Member must have length greater than or equal to 16")
	}
	k, err := s.deps.Identity.Lookup(ctx, akid)
	if errors.Is(err, identity.ErrUnknownKey) || errors.Is(err, identity.ErrExpired) {
		return nil, protocol.NewError(400, "InvalidParameterValue", "The access key ID is not valid.")
	}
	if err != nil {
		return nil, err
	}
	return accessKeyInfoResult{Account: k.Account}, nil
}

// toJSON converts a result to the awsJson shape (timestamps as epoch seconds).
func toJSON(res any) any {
	switch r := res.(type) {
	case callerIdentity:
		return r
	case assumeRoleResult:
		out := map[string]any{"Credentials": credsJSON(r.Credentials), "AssumedRoleUser": map[string]any{"Arn": r.AssumedRoleUser.ARN, "AssumedRoleId": r.AssumedRoleUser.AssumedRoleID}}
		if r.PackedPolicySize != nil {
			out["PackedPolicySize"] = *r.PackedPolicySize
		}
		if r.SourceIdentity != "" {
			out["SourceIdentity"] = r.SourceIdentity
		}
		return out
	case sessionTokenResult:
		return map[string]any{"Credentials": credsJSON(r.Credentials)}
	case federationTokenResult:
		return map[string]any{"Credentials": credsJSON(r.Credentials), "FederatedUser": map[string]any{"Arn": r.FederatedUser.ARN, "FederatedUserId": r.FederatedUser.FederatedUserID}, "PackedPolicySize": r.PackedPolicySize}
	case accessKeyInfoResult:
		return map[string]any{"Account": r.Account}
	}
	return res
}

func credsJSON(c credentials) map[string]any {
	return map[string]any{"AccessKeyId": c.AccessKeyID, "SecretAccessKey": c.SecretAccessKey, "SessionToken": c.SessionToken, "Expiration": protocol.EpochSeconds(c.expiration)}
}
