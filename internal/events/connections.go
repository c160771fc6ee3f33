package events

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// Connections: the authorization an API destination uses. The secret parts
// (password, API key value, OAuth client secret, parameters marked
// IsValueSecret) are stored sealed with AES-256-GCM; Describe shows only
// the public parts, as AWS does.

const nsConnections = "events.connections"

// Connection states.
const (
	connAuthorized    = "AUTHORIZED"
	connAuthorizing   = "AUTHORIZING"
	connDeauthorized  = "DEAUTHORIZED"
	connDeauthorizing = "DEAUTHORIZING"
	connDeleting      = "DELETING"
)

// Authorization types.
const (
	authBasic  = "BASIC"
	authAPIKey = "API_KEY"
	authOAuth  = "OAUTH_CLIENT_CREDENTIALS"
)

// SecretKeyEnv names the environment variable that may hold the connection
// secret key (base64 of 32 bytes); otherwise the key is the file
// connectionKeyFile in the data directory, created on first use.
const SecretKeyEnv = "FOGBANK_EVENTS_SECRET_KEY"

const connectionKeyFile = "events-connections.key"

// ConnParam is one header, query-string or body parameter of a connection.
type ConnParam struct {
	Key           string `json:"Key,omitempty"`
	Value         string `json:"Value,omitempty"`
	IsValueSecret bool   `json:"IsValueSecret,omitempty"`
}

// ConnHTTPParams are extra parameters a connection adds to requests.
type ConnHTTPParams struct {
	HeaderParameters      []ConnParam `json:"HeaderParameters,omitempty"`
	QueryStringParameters []ConnParam `json:"QueryStringParameters,omitempty"`
	BodyParameters        []ConnParam `json:"BodyParameters,omitempty"`
}

// BasicAuth is BASIC authorization.
type BasicAuth struct {
	Username string `json:"Username,omitempty"`
	Password string `json:"Password,omitempty"`
}

// APIKeyAuth is API_KEY authorization: a header named ApiKeyName.
type APIKeyAuth struct {
	ApiKeyName  string `json:"ApiKeyName,omitempty"`
	ApiKeyValue string `json:"ApiKeyValue,omitempty"`
}

// OAuthClient holds the OAuth client credentials.
type OAuthClient struct {
	ClientID     string `json:"ClientID,omitempty"`
	ClientSecret string `json:"ClientSecret,omitempty"`
}

// OAuthAuth is OAUTH_CLIENT_CREDENTIALS authorization.
type OAuthAuth struct {
	ClientParameters      *OAuthClient    `json:"ClientParameters,omitempty"`
	AuthorizationEndpoint string          `json:"AuthorizationEndpoint,omitempty"`
	HttpMethod            string          `json:"HttpMethod,omitempty"`
	OAuthHttpParameters   *ConnHTTPParams `json:"OAuthHttpParameters,omitempty"`
}

// AuthParams are a connection's authorization parameters in the API shape.
type AuthParams struct {
	BasicAuthParameters      *BasicAuth      `json:"BasicAuthParameters,omitempty"`
	ApiKeyAuthParameters     *APIKeyAuth     `json:"ApiKeyAuthParameters,omitempty"`
	OAuthParameters          *OAuthAuth      `json:"OAuthParameters,omitempty"`
	InvocationHttpParameters *ConnHTTPParams `json:"InvocationHttpParameters,omitempty"`
}

// public returns the parameters without their secret values.
func (p *AuthParams) public() *AuthParams {
	if p == nil {
		return nil
	}
	hide := func(h *ConnHTTPParams) *ConnHTTPParams {
		if h == nil {
			return nil
		}
		strip := func(ps []ConnParam) []ConnParam {
			out := make([]ConnParam, len(ps))
			for i, p := range ps {
				out[i] = p
				if p.IsValueSecret {
					out[i].Value = ""
				}
			}
			if len(out) == 0 {
				return nil
			}
			return out
		}
		return &ConnHTTPParams{strip(h.HeaderParameters), strip(h.QueryStringParameters), strip(h.BodyParameters)}
	}
	out := &AuthParams{InvocationHttpParameters: hide(p.InvocationHttpParameters)}
	if b := p.BasicAuthParameters; b != nil {
		out.BasicAuthParameters = &BasicAuth{Username: b.Username}
	}
	if k := p.ApiKeyAuthParameters; k != nil {
		out.ApiKeyAuthParameters = &APIKeyAuth{ApiKeyName: k.ApiKeyName}
	}
	if o := p.OAuthParameters; o != nil {
		po := &OAuthAuth{AuthorizationEndpoint: o.AuthorizationEndpoint, HttpMethod: o.HttpMethod, OAuthHttpParameters: hide(o.OAuthHttpParameters)}
		if o.ClientParameters != nil {
			po.ClientParameters = &OAuthClient{ClientID: o.ClientParameters.ClientID}
		}
		out.OAuthParameters = po
	}
	return out
}

// Connection is a stored connection.
type Connection struct {
	Name        string    `json:"name"`
	Account     string    `json:"account"`
	Region      string    `json:"region"`
	ID          string    `json:"id"`
	SecretID    string    `json:"secretId"`
	Description string    `json:"description,omitempty"`
	AuthType    string    `json:"authType"`
	State       string    `json:"state"`
	StateReason string    `json:"stateReason,omitempty"`
	Created     time.Time `json:"created"`
	Modified    time.Time `json:"modified"`
	Authorized  time.Time `json:"authorized"`
	// Public is what DescribeConnection shows; Sealed the full parameters,
	// encrypted (nonce || AES-256-GCM ciphertext).
	Public *AuthParams `json:"public,omitempty"`
	Sealed []byte      `json:"sealed,omitempty"`
}

// ARN returns the connection ARN.
func (c *Connection) ARN() string {
	return fmt.Sprintf("arn:aws:events:%s:%s:connection/%s/%s", c.Region, c.Account, c.Name, c.ID)
}

// SecretARN is the ARN of the (Secrets Manager) secret AWS would keep the
// credentials in.
func (c *Connection) SecretARN() string {
	return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:events!connection/%s/%s", c.Region, c.Account, c.Name, c.SecretID)
}

// secretBox seals connection secrets.
type secretBox struct {
	once sync.Once
	aead cipher.AEAD
	err  error
}

// box returns the AEAD, loading or creating the key on first use: Deps.SecretKey,
// then $FOGBANK_EVENTS_SECRET_KEY, then <data dir>/events-connections.key
// (created, mode 0600), else a key for this process only.
func (s *Service) box() (cipher.AEAD, error) {
	b := &s.secrets
	b.once.Do(func() {
		key := s.deps.SecretKey
		if key == nil {
			if v := os.Getenv(SecretKeyEnv); v != "" {
				k, err := base64.StdEncoding.DecodeString(v)
				if err != nil {
					b.err = fmt.Errorf("events: %s is not base64: %w", SecretKeyEnv, err)
					return
				}
				key = k
			}
		}
		if key == nil && s.deps.DataDir != "" {
			k, err := loadOrCreateKey(filepath.Join(s.deps.DataDir, connectionKeyFile))
			if err != nil {
				b.err = err
				return
			}
			key = k
		}
		if key == nil {
			key = make([]byte, 32)
			rand.Read(key)
		}
		if len(key) != 32 {
			b.err = fmt.Errorf("events: connection secret key must be 32 bytes, got %d", len(key))
			return
		}
		blk, err := aes.NewCipher(key)
		if err != nil {
			b.err = fmt.Errorf("events: connection secret key: %w", err)
			return
		}
		b.aead, b.err = cipher.NewGCM(blk)
	})
	return b.aead, b.err
}

func loadOrCreateKey(path string) ([]byte, error) {
	k, err := os.ReadFile(path)
	if err == nil {
		if len(k) != 32 {
			return nil, fmt.Errorf("events: %s holds %d bytes, want 32", path, len(k))
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("events: read connection key: %w", err)
	}
	k = make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("events: generate connection key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadOrCreateKey(path) // another process won the race
	}
	if err != nil {
		return nil, fmt.Errorf("events: create connection key: %w", err)
	}
	if _, err := f.Write(k); err != nil {
		f.Close()
		return nil, fmt.Errorf("events: write connection key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("events: sync connection key: %w", err)
	}
	return k, f.Close()
}

// seal encrypts p, binding it to the connection ARN.
func (s *Service) seal(c *Connection, p *AuthParams) error {
	if p == nil {
		c.Sealed = nil
		return nil
	}
	aead, err := s.box()
	if err != nil {
		return err
	}
	plain, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("events: encode connection secret: %w", err)
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("events: nonce: %w", err)
	}
	c.Sealed = aead.Seal(nonce, nonce, plain, []byte(c.Account+"/"+c.Region+"/"+c.Name+"/"+c.ID))
	return nil
}

// open decrypts a connection's parameters.
func (s *Service) open(c *Connection) (*AuthParams, error) {
	if len(c.Sealed) == 0 {
		return nil, errors.New("events: connection has no authorization parameters")
	}
	aead, err := s.box()
	if err != nil {
		return nil, err
	}
	n := aead.NonceSize()
	if len(c.Sealed) < n {
		return nil, errors.New("events: connection secret is truncated")
	}
	plain, err := aead.Open(nil, c.Sealed[:n], c.Sealed[n:], []byte(c.Account+"/"+c.Region+"/"+c.Name+"/"+c.ID))
	if err != nil {
		return nil, fmt.Errorf("events: decrypt connection secret: %w", err)
	}
	var p AuthParams
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("events: decode connection secret: %w", err)
	}
	return &p, nil
}

func (s *Service) getConnection(ctx context.Context, account, region, name string) (*Connection, int64, error) {
	return getRecord[Connection](ctx, s, nsConnections, regionKey(account, region, name), func() error {
		return errNotFound("Failed to describe the connection(s). Connection '%s' does not exist.", name)
	})
}

func (s *Service) putConnection(ctx context.Context, c *Connection, expect int64) error {
	return s.putRecord(ctx, nsConnections, regionKey(c.Account, c.Region, c.Name), c, expect, func() error {
		return errExists("Connection %s already exists.", c.Name)
	})
}

// connectionByARN loads the connection an ARN names.
func (s *Service) connectionByARN(ctx context.Context, connARN string) (*Connection, int64, error) {
	a, ok := parseARN(connARN)
	if !ok || !strings.HasPrefix(a.Resource, "connection/") {
		return nil, 0, errValidation("Parameter ConnectionArn is not valid.")
	}
	parts := strings.Split(strings.TrimPrefix(a.Resource, "connection/"), "/")
	c, ver, err := s.getConnection(ctx, a.Account, a.Region, parts[0])
	if err != nil {
		return nil, 0, err
	}
	if len(parts) != 2 || parts[1] != c.ID {
		return nil, 0, errNotFound("Failed to describe the connection(s). Connection '%s' does not exist.", parts[0])
	}
	return c, ver, nil
}

type connectionInput struct {
	Name              string
	Description       *string
	AuthorizationType string
	AuthParameters    *AuthParams
}

func validateAuth(authType string, p *AuthParams, creating bool) error {
	if p == nil {
		if creating {
			return errValidation("1 validation error detected: Value null at 'authParameters' failed to satisfy constraint: Member must not be null")
		}
		return nil
	}
	switch authType {
	case authBasic:
		if creating && (p.BasicAuthParameters == nil || p.BasicAuthParameters.Username == "" || p.BasicAuthParameters.Password == "") {
			return errValidation("BasicAuthParameters must be specified for BASIC authorization.")
		}
	case authAPIKey:
		if creating && (p.ApiKeyAuthParameters == nil || p.ApiKeyAuthParameters.ApiKeyName == "" || p.ApiKeyAuthParameters.ApiKeyValue == "") {
			return errValidation("ApiKeyAuthParameters must be specified for API_KEY authorization.")
		}
	case authOAuth:
		o := p.OAuthParameters
		if creating && (o == nil || o.ClientParameters == nil || o.AuthorizationEndpoint == "" || o.HttpMethod == "") {
			return errValidation("OAuthParameters must be specified for OAUTH_CLIENT_CREDENTIALS authorization.")
		}
		if o != nil && o.HttpMethod != "" && o.HttpMethod != "GET" && o.HttpMethod != "POST" && o.HttpMethod != "PUT" {
			return errValidation("1 validation error detected: Value '%s' at 'authParameters.oAuthParameters.httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [GET, POST, PUT]", o.HttpMethod)
		}
	}
	return nil
}

func (s *Service) createConnection(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in connectionInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v validationErrors
	v.pattern(in.Name, "name", nameRE, nameOK(in.Name))
	v.maxLen(in.Name, "name", 64)
	v.enum(in.AuthorizationType, "authorizationType", authBasic, authOAuth, authAPIKey)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := validateAuth(in.AuthorizationType, in.AuthParameters, true); err != nil {
		return nil, err
	}
	now := s.now()
	c := &Connection{Name: in.Name, Account: call.Account, Region: call.Region, ID: s.deps.IDs.UUID(),
		SecretID: s.deps.IDs.UUID() + "-" + s.deps.IDs.Hex(3), AuthType: in.AuthorizationType,
		State: connAuthorized, Created: now, Modified: now, Authorized: now, Public: in.AuthParameters.public()}
	if in.Description != nil {
		c.Description = *in.Description
	}
	if c.AuthType == authOAuth {
		c.State = connAuthorizing
	}
	if err := s.seal(c, in.AuthParameters); err != nil {
		return nil, err
	}
	if err := s.putConnection(ctx, c, storage.MustNotExist); err != nil {
		return nil, err
	}
	call.Resources = append(call.Resources, service.Resource{Type: "AWS::Events::Connection", Name: c.ARN()})
	if c.AuthType == authOAuth {
		s.authorizeLater(c.Account, c.Region, c.Name)
	}
	return connectionSummary(c, false), nil
}

// connSummary is the answer of Create/Update/Delete/DeauthorizeConnection.
type connSummary struct {
	ConnectionArn      string                 `json:"ConnectionArn"`
	ConnectionState    string                 `json:"ConnectionState"`
	CreationTime       *protocol.EpochSeconds `json:"CreationTime,omitempty"`
	LastModifiedTime   *protocol.EpochSeconds `json:"LastModifiedTime,omitempty"`
	LastAuthorizedTime *protocol.EpochSeconds `json:"LastAuthorizedTime,omitempty"`
}

func connectionSummary(c *Connection, withAuthorized bool) connSummary {
	out := connSummary{ConnectionArn: c.ARN(), ConnectionState: c.State, CreationTime: epoch(c.Created), LastModifiedTime: epoch(c.Modified)}
	if withAuthorized {
		out.LastAuthorizedTime = epoch(c.Authorized)
	}
	return out
}

type connNameInput struct{ Name string }

func (s *Service) describeConnection(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in connNameInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, _, err := s.getConnection(ctx, call.Account, call.Region, in.Name)
	if err != nil {
		return nil, err
	}
	return struct {
		ConnectionArn      string                 `json:"ConnectionArn"`
		Name               string                 `json:"Name"`
		Description        string                 `json:"Description,omitempty"`
		ConnectionState    string                 `json:"ConnectionState"`
		StateReason        string                 `json:"StateReason,omitempty"`
		AuthorizationType  string                 `json:"AuthorizationType"`
		SecretArn          string                 `json:"SecretArn,omitempty"`
		AuthParameters     *AuthParams            `json:"AuthParameters,omitempty"`
		CreationTime       *protocol.EpochSeconds `json:"CreationTime,omitempty"`
		LastModifiedTime   *protocol.EpochSeconds `json:"LastModifiedTime,omitempty"`
		LastAuthorizedTime *protocol.EpochSeconds `json:"LastAuthorizedTime,omitempty"`
	}{c.ARN(), c.Name, c.Description, c.State, c.StateReason, c.AuthType, c.SecretARN(), c.Public,
		epoch(c.Created), epoch(c.Modified), epoch(c.Authorized)}, nil
}

type listConnectionsInput struct {
	NamePrefix      string
	ConnectionState string
	NextToken       string
	Limit           *int
}

func (s *Service) listConnections(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in listConnectionsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, after, err := pageParams(in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	prefix := regionKey(call.Account, call.Region, "")
	recs, err := s.deps.Meta.List(ctx, nsConnections, prefix+in.NamePrefix, "", 0)
	if err != nil {
		return nil, fmt.Errorf("events: list connections: %w", err)
	}
	type item struct {
		ConnectionArn      string                 `json:"ConnectionArn"`
		Name               string                 `json:"Name"`
		ConnectionState    string                 `json:"ConnectionState"`
		StateReason        string                 `json:"StateReason,omitempty"`
		AuthorizationType  string                 `json:"AuthorizationType"`
		CreationTime       *protocol.EpochSeconds `json:"CreationTime,omitempty"`
		LastModifiedTime   *protocol.EpochSeconds `json:"LastModifiedTime,omitempty"`
		LastAuthorizedTime *protocol.EpochSeconds `json:"LastAuthorizedTime,omitempty"`
	}
	out := struct {
		Connections []item `json:"Connections"`
		NextToken   string `json:"NextToken,omitempty"`
	}{Connections: []item{}}
	for _, rec := range recs {
		var c Connection
		if err := json.Unmarshal(rec.Value, &c); err != nil {
			return nil, fmt.Errorf("events: decode connection: %w", err)
		}
		if (after != "" && c.Name <= after) || (in.ConnectionState != "" && c.State != in.ConnectionState) {
			continue
		}
		if limit > 0 && len(out.Connections) == limit {
			out.NextToken = encodeToken(out.Connections[limit-1].Name)
			break
		}
		out.Connections = append(out.Connections, item{c.ARN(), c.Name, c.State, c.StateReason, c.AuthType, epoch(c.Created), epoch(c.Modified), epoch(c.Authorized)})
	}
	return out, nil
}

// mergeAuth applies an UpdateConnection's parameters to the current ones.
func mergeAuth(cur, upd *AuthParams) *AuthParams {
	if cur == nil {
		return upd
	}
	if upd == nil {
		return cur
	}
	out := *cur
	if b := upd.BasicAuthParameters; b != nil {
		nb := BasicAuth{}
		if cur.BasicAuthParameters != nil {
			nb = *cur.BasicAuthParameters
		}
		if b.Username != "" {
			nb.Username = b.Username
		}
		if b.Password != "" {
			nb.Password = b.Password
		}
		out.BasicAuthParameters = &nb
	}
	if k := upd.ApiKeyAuthParameters; k != nil {
		nk := APIKeyAuth{}
		if cur.ApiKeyAuthParameters != nil {
			nk = *cur.ApiKeyAuthParameters
		}
		if k.ApiKeyName != "" {
			nk.ApiKeyName = k.ApiKeyName
		}
		if k.ApiKeyValue != "" {
			nk.ApiKeyValue = k.ApiKeyValue
		}
		out.ApiKeyAuthParameters = &nk
	}
	if o := upd.OAuthParameters; o != nil {
		no := OAuthAuth{}
		if cur.OAuthParameters != nil {
			no = *cur.OAuthParameters
		}
		if o.ClientParameters != nil {
			cp := OAuthClient{}
			if no.ClientParameters != nil {
				cp = *no.ClientParameters
			}
			if o.ClientParameters.ClientID != "" {
				cp.ClientID = o.ClientParameters.ClientID
			}
			if o.ClientParameters.ClientSecret != "" {
				cp.ClientSecret = o.ClientParameters.ClientSecret
			}
			no.ClientParameters = &cp
		}
		if o.AuthorizationEndpoint != "" {
			no.AuthorizationEndpoint = o.AuthorizationEndpoint
		}
		if o.HttpMethod != "" {
			no.HttpMethod = o.HttpMethod
		}
		if o.OAuthHttpParameters != nil {
			no.OAuthHttpParameters = o.OAuthHttpParameters
		}
		out.OAuthParameters = &no
	}
	if upd.InvocationHttpParameters != nil {
		out.InvocationHttpParameters = upd.InvocationHttpParameters
	}
	return &out
}

func (s *Service) updateConnection(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in connectionInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.AuthorizationType != "" {
		var v validationErrors
		v.enum(in.AuthorizationType, "authorizationType", authBasic, authOAuth, authAPIKey)
		if err := v.err(); err != nil {
			return nil, err
		}
	}
	c, ver, err := s.getConnection(ctx, call.Account, call.Region, in.Name)
	if err != nil {
		return nil, err
	}
	var cur *AuthParams
	if len(c.Sealed) > 0 {
		if cur, err = s.open(c); err != nil {
			return nil, err
		}
	}
	if in.AuthorizationType != "" && in.AuthorizationType != c.AuthType {
		c.AuthType = in.AuthorizationType
		cur = nil
	}
	if err := validateAuth(c.AuthType, in.AuthParameters, false); err != nil {
		return nil, err
	}
	merged := mergeAuth(cur, in.AuthParameters)
	if in.Description != nil {
		c.Description = *in.Description
	}
	now := s.now()
	c.Modified = now
	c.Public = merged.public()
	c.StateReason = ""
	if err := s.seal(c, merged); err != nil {
		return nil, err
	}
	if merged != nil {
		if c.AuthType == authOAuth {
			c.State = connAuthorizing
		} else {
			c.State, c.Authorized = connAuthorized, now
		}
	}
	if err := s.putConnection(ctx, c, ver); err != nil {
		return nil, err
	}
	s.tokens.drop(c.ARN())
	if c.State == connAuthorizing {
		s.authorizeLater(c.Account, c.Region, c.Name)
	}
	return connectionSummary(c, true), nil
}

func (s *Service) deleteConnection(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in connNameInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, ver, err := s.getConnection(ctx, call.Account, call.Region, in.Name)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Meta.Delete(ctx, nsConnections, regionKey(c.Account, c.Region, c.Name), ver); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, errConcurrentModification()
		}
		return nil, fmt.Errorf("events: delete connection: %w", err)
	}
	s.tokens.drop(c.ARN())
	c.State = connDeleting
	return connectionSummary(c, true), nil
}

func (s *Service) deauthorizeConnection(ctx context.Context, call *service.Call, body []byte) (any, error) {
	var in connNameInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, ver, err := s.getConnection(ctx, call.Account, call.Region, in.Name)
	if err != nil {
		return nil, err
	}
	out := connectionSummary(c, true)
	out.ConnectionState = connDeauthorizing
	if err := s.setConnectionState(ctx, c, ver, connDeauthorized, "", true); err != nil {
		return nil, err
	}
	out.LastModifiedTime = epoch(c.Modified)
	return out, nil
}

// setConnectionState moves a connection to a new state (optionally
// dropping its authorization parameters), stores it and puts the state
// change on the account's default bus.
func (s *Service) setConnectionState(ctx context.Context, c *Connection, ver int64, state, reason string, dropSecrets bool) error {
	c.State, c.StateReason, c.Modified = state, reason, s.now()
	if state == connAuthorized {
		c.Authorized = c.Modified
	}
	if dropSecrets {
		c.Sealed, c.Public = nil, nil
	}
	if err := s.putConnection(ctx, c, ver); err != nil {
		return err
	}
	if state != connAuthorized {
		s.tokens.drop(c.ARN())
	}
	s.emitConnectionEvent(ctx, c)
	return nil
}

// connectionEventTypes are the detail-types of the state-change events
// EventBridge puts on the default bus.
var connectionEventTypes = map[string]string{
	connAuthorized:   "Connection Authorized",
	connDeauthorized: "Connection Deauthorized",
}

func (s *Service) emitConnectionEvent(ctx context.Context, c *Connection) {
	dt, ok := connectionEventTypes[c.State]
	if !ok {
		return
	}
	detail, _ := json.Marshal(map[string]string{"ConnectionArn": c.ARN(), "State": c.State, "StateReason": c.StateReason})
	env := envelope{Version: "0", ID: s.deps.IDs.UUID(), DetailType: dt, Source: "aws.events", Account: c.Account,
		Time: eventTime(s.now()), Region: c.Region, Resources: []string{c.ARN()}, Detail: detail}
	ev := inEvent{raw: env.marshal(), id: env.ID, ingested: s.now()}
	if err := s.ingest(ctx, busRef{c.Account, c.Region, defaultBus}, []inEvent{ev}); err != nil {
		s.log.Warn("events: connection state event", "connection", c.ARN(), "err", err)
	}
}

// OAuth tokens.

type oauthToken struct {
	value   string
	expires time.Time // zero: until the endpoint refuses it
}

// tokenCache holds fetched OAuth access tokens by connection ARN.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]oauthToken
}

func (t *tokenCache) get(arn string, now time.Time) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tok, ok := t.m[arn]
	if !ok || (!tok.expires.IsZero() && !now.Before(tok.expires)) {
		return "", false
	}
	return tok.value, true
}

func (t *tokenCache) put(arn string, tok oauthToken) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]oauthToken{}
	}
	t.m[arn] = tok
}

func (t *tokenCache) drop(arn string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, arn)
}

// authorizeLater fetches an OAuth connection's first token in the
// background, moving it from AUTHORIZING to AUTHORIZED or DEAUTHORIZED.
func (s *Service) authorizeLater(account, region, name string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx := s.ctx
		c, ver, err := s.getConnection(ctx, account, region, name)
		if err != nil || c.State != connAuthorizing {
			return
		}
		if _, err := s.fetchToken(ctx, c); err != nil {
			if ctx.Err() == nil {
				s.setConnectionState(ctx, c, ver, connDeauthorized, err.Error(), false)
			}
			return
		}
		s.setConnectionState(ctx, c, ver, connAuthorized, "", false)
	}()
}

// fetchToken runs the OAuth client-credentials request and caches the
// token: client id and secret as HTTP Basic credentials, the connection's
// OAuthHttpParameters as headers, query string and form body.
func (s *Service) fetchToken(ctx context.Context, c *Connection) (string, error) {
	p, err := s.open(c)
	if err != nil {
		return "", err
	}
	o := p.OAuthParameters
	if o == nil || o.ClientParameters == nil {
		return "", errors.New("OAuth parameters are missing")
	}
	u, err := url.Parse(o.AuthorizationEndpoint)
	if err != nil {
		return "", fmt.Errorf("invalid authorization endpoint: %w", err)
	}
	form := url.Values{}
	var headers []ConnParam
	if h := o.OAuthHttpParameters; h != nil {
		q := u.Query()
		for _, kv := range h.QueryStringParameters {
			q.Add(kv.Key, kv.Value)
		}
		u.RawQuery = q.Encode()
		for _, kv := range h.BodyParameters {
			form.Add(kv.Key, kv.Value)
		}
		headers = h.HeaderParameters
	}
	var body io.Reader
	if o.HttpMethod != http.MethodGet && len(form) > 0 {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, o.HttpMethod, u.String(), body)
	if err != nil {
		return "", fmt.Errorf("invalid authorization request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, kv := range headers {
		req.Header.Set(kv.Key, kv.Value)
	}
	req.SetBasicAuth(o.ClientParameters.ClientID, o.ClientParameters.ClientSecret)
	resp, err := s.httpc.Do(req)
	if err != nil {
		return "", fmt.Errorf("authorization endpoint unreachable: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("authorization endpoint answered %d", resp.StatusCode)
	}
	var tok struct {
		AccessToken string      `json:"access_token"`
		ExpiresIn   json.Number `json:"expires_in"`
	}
	if err := json.Unmarshal(raw, &tok); err != nil || tok.AccessToken == "" {
		return "", errors.New("authorization endpoint answered without an access_token")
	}
	t := oauthToken{value: tok.AccessToken}
	if n, err := tok.ExpiresIn.Int64(); err == nil && n > 0 {
		t.expires = s.now().Add(time.Duration(n) * time.Second)
	}
	s.tokens.put(c.ARN(), t)
	return t.value, nil
}
