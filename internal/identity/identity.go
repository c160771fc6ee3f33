// Package identity owns accounts, access keys and temporary credentials:
// who may call Fogbank and as which account. It answers the SigV4
// verifier's key look-ups and turns a verified key into the caller's
// service.Identity. Records live in storage.Meta; look-ups are cached
// briefly in memory because every request needs one.
package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/fogbank/fogbank/internal/clock"
	"github.com/fogbank/fogbank/internal/ids"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// Storage namespaces.
const (
	nsAccounts = "iam.accounts"
	nsKeys     = "iam.keys"
)

// DefaultAccount is the account that exists from the first start, with the
// access key DefaultAccessKey / DefaultSecret (the convention LocalStack
// users already have).
const (
	DefaultAccount   = "000000000000"
	DefaultAccessKey = "test"
	DefaultSecret    = "test"
)

// Errors.
var (
	ErrUnknownKey     = errors.New("identity: unknown access key")
	ErrExpired        = errors.New("identity: credentials expired")
	ErrNoAccount      = errors.New("identity: no such account")
	ErrAccountExists  = errors.New("identity: account exists")
	ErrInvalidAccount = errors.New("identity: account id must be 12 digits")
)

var accountRE = regexp.MustCompile(`^[0-9]{12}$`)

// ValidAccountID reports whether id is a 12-digit account id.
func ValidAccountID(id string) bool { return accountRE.MatchString(id) }

// Account is one AWS account.
type Account struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

// Key is an access key and what it acts as.
type Key struct {
	AccessKeyID string `json:"accessKeyId"`
	Secret      string `json:"secret"`
	Account     string `json:"account"`
	// SessionToken and Expiration are set for temporary credentials.
	SessionToken string    `json:"sessionToken,omitempty"`
	Expiration   time.Time `json:"expiration,omitzero"`
	// RoleARN and SessionName are set for assumed-role credentials.
	RoleARN     string `json:"roleArn,omitempty"`
	RoleID      string `json:"roleId,omitempty"`
	SessionName string `json:"sessionName,omitempty"`
	// UserName is set for IAM-user keys (empty: the account root).
	UserName string    `json:"userName,omitempty"`
	Created  time.Time `json:"created"`
}

// Identity returns the caller identity the key acts as.
func (k Key) Identity() service.Identity {
	id := service.Identity{AccountID: k.Account, AccessKeyID: k.AccessKeyID, SessionToken: k.SessionToken}
	switch {
	case k.RoleARN != "":
		id.Type = "AssumedRole"
		id.PrincipalID = k.RoleID + ":" + k.SessionName
		id.ARN = AssumedRoleARN(k.RoleARN, k.SessionName)
		id.SessionIssuerARN = k.RoleARN
	case k.UserName != "":
		id.Type = "IAMUser"
		id.PrincipalID = "AIDA" + k.AccessKeyID[min(4, len(k.AccessKeyID)):]
		id.ARN = "arn:aws:iam::" + k.Account + ":user/" + k.UserName
	default:
		id.Type = "Root"
		id.PrincipalID = k.Account
		id.ARN = "arn:aws:iam::" + k.Account + ":root"
	}
	return id
}

// AssumedRoleARN converts arn:aws:iam::A:role/path/Name into the STS
// assumed-role ARN arn:aws:sts::A:assumed-role/Name/session.
func AssumedRoleARN(roleARN, session string) string {
	acct, name := SplitRoleARN(roleARN)
	return "arn:aws:sts::" + acct + ":assumed-role/" + name + "/" + session
}

var roleARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::([0-9]{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]+)$`)

// SplitRoleARN returns the account and the role name of a role ARN, or
// empty strings when it is not one.
func SplitRoleARN(arn string) (account, name string) {
	m := roleARNRE.FindStringSubmatch(arn)
	if m == nil {
		return "", ""
	}
	return m[1], m[2]
}

// Store manages accounts and keys. It is safe for concurrent use.
type Store struct {
	meta  storage.Meta
	clock clock.Clock
	ids   *ids.Generator
	// AnyCredentials accepts every access key (LocalStack-style); see Lookup.
	anyCreds bool

	mu    sync.Mutex
	cache map[string]cachedKey
}

type cachedKey struct {
	key Key
	at  time.Time
}

const cacheTTL = 5 * time.Second

// NewStore returns a store over meta. With anyCredentials, Lookup accepts
// any access key id: a 12-digit key acts as that account, any other as the
// default account (signatures are then not verifiable and not checked).
func NewStore(meta storage.Meta, clk clock.Clock, gen *ids.Generator, anyCredentials bool) *Store {
	return &Store{meta: meta, clock: clk, ids: gen, anyCreds: anyCredentials, cache: map[string]cachedKey{}}
}

// AnyCredentials reports whether the store accepts any key.
func (s *Store) AnyCredentials() bool { return s.anyCreds }

// Bootstrap creates the default account and key when they are missing.
func (s *Store) Bootstrap(ctx context.Context) error {
	if _, err := s.CreateAccount(ctx, DefaultAccount); err != nil && !errors.Is(err, ErrAccountExists) {
		return err
	}
	if _, err := s.meta.Get(ctx, nsKeys, DefaultAccessKey); errors.Is(err, storage.ErrNotFound) {
		k := Key{AccessKeyID: DefaultAccessKey, Secret: DefaultSecret, Account: DefaultAccount, Created: s.clock.Now().UTC()}
		return s.putKey(ctx, k, storage.MustNotExist)
	} else if err != nil {
		return fmt.Errorf("identity: bootstrap: %w", err)
	}
	return nil
}

// CreateAccount creates an account.
func (s *Store) CreateAccount(ctx context.Context, id string) (Account, error) {
	if !ValidAccountID(id) {
		return Account{}, ErrInvalidAccount
	}
	a := Account{ID: id, Created: s.clock.Now().UTC()}
	b, _ := json.Marshal(a)
	if _, err := s.meta.Put(ctx, nsAccounts, id, b, storage.MustNotExist); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return Account{}, ErrAccountExists
		}
		return Account{}, fmt.Errorf("identity: create account: %w", err)
	}
	return a, nil
}

// Accounts lists the accounts.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	recs, err := s.meta.List(ctx, nsAccounts, "", "", 0)
	if err != nil {
		return nil, fmt.Errorf("identity: list accounts: %w", err)
	}
	out := make([]Account, 0, len(recs))
	for _, r := range recs {
		var a Account
		if json.Unmarshal(r.Value, &a) == nil {
			out = append(out, a)
		}
	}
	return out, nil
}

// AccountExists reports whether the account exists.
func (s *Store) AccountExists(ctx context.Context, id string) (bool, error) {
	_, err := s.meta.Get(ctx, nsAccounts, id)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// CreateKey creates a long-term access key for the account's root (or for
// an IAM user name when userName is set).
func (s *Store) CreateKey(ctx context.Context, account, userName string) (Key, error) {
	ok, err := s.AccountExists(ctx, account)
	if err != nil {
		return Key{}, err
	}
	if !ok {
		return Key{}, ErrNoAccount
	}
	k := Key{AccessKeyID: s.ids.AccessKeyID("AKIA"), Secret: s.ids.Secret(), Account: account, UserName: userName, Created: s.clock.Now().UTC()}
	return k, s.putKey(ctx, k, storage.MustNotExist)
}

// CreateTemporary stores temporary credentials (STS) acting as base's
// principal, or as roleARN when set, valid for d.
func (s *Store) CreateTemporary(ctx context.Context, account, roleARN, roleID, sessionName, userName string, d time.Duration) (Key, error) {
	now := s.clock.Now().UTC()
	k := Key{
		AccessKeyID:  s.ids.AccessKeyID("ASIA"),
		Secret:       s.ids.Secret(),
		Account:      account,
		SessionToken: "FwoGZXIvYXdzE" + s.ids.Hex(64),
		Expiration:   now.Add(d).Truncate(time.Second),
		RoleARN:      roleARN,
		RoleID:       roleID,
		SessionName:  sessionName,
		UserName:     userName,
		Created:      now,
	}
	return k, s.putKey(ctx, k, storage.MustNotExist)
}

func (s *Store) putKey(ctx context.Context, k Key, expect int64) error {
	b, _ := json.Marshal(k)
	if _, err := s.meta.Put(ctx, nsKeys, k.AccessKeyID, b, expect); err != nil {
		return fmt.Errorf("identity: store key: %w", err)
	}
	return nil
}

// Lookup returns the key for an access key id: ErrUnknownKey when there is
// none; ErrExpired, together with the key, for expired temporary
// credentials. In any-credentials
// mode every id resolves (see NewStore) with an empty secret.
func (s *Store) Lookup(ctx context.Context, akid string) (Key, error) {
	now := s.clock.Now()
	s.mu.Lock()
	c, ok := s.cache[akid]
	s.mu.Unlock()
	if !ok || time.Since(c.at) > cacheTTL {
		rec, err := s.meta.Get(ctx, nsKeys, akid)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			if s.anyCreds {
				acct := DefaultAccount
				if ValidAccountID(akid) {
					acct = akid
				}
				return Key{AccessKeyID: akid, Account: acct}, nil
			}
			return Key{}, ErrUnknownKey
		case err != nil:
			return Key{}, fmt.Errorf("identity: lookup key: %w", err)
		}
		if err := json.Unmarshal(rec.Value, &c.key); err != nil {
			return Key{}, fmt.Errorf("identity: decode key: %w", err)
		}
		c.at = time.Now()
		s.mu.Lock()
		if len(s.cache) > 10000 {
			clear(s.cache)
		}
		s.cache[akid] = c
		s.mu.Unlock()
	}
	if !c.key.Expiration.IsZero() && !now.Before(c.key.Expiration) {
		return c.key, ErrExpired
	}
	return c.key, nil
}

// Invalidate drops cached keys (after a reset).
func (s *Store) Invalidate() {
	s.mu.Lock()
	clear(s.cache)
	s.mu.Unlock()
}

// Purge removes expired temporary credentials.
func (s *Store) Purge(ctx context.Context) error {
	recs, err := s.meta.List(ctx, nsKeys, "ASIA", "", 0)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	for _, r := range recs {
		var k Key
		if json.Unmarshal(r.Value, &k) == nil && !k.Expiration.IsZero() && now.After(k.Expiration) {
			s.meta.Delete(ctx, nsKeys, r.Key, r.Version)
		}
	}
	s.mu.Lock()
	clear(s.cache)
	s.mu.Unlock()
	return nil
}
