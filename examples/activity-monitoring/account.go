package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// admin talks to Fogbank's admin API (loopback clients only):
// POST /_fogbank/accounts {"id"} and POST /_fogbank/keys {"account", "userName"}.
type admin struct {
	endpoint string
	http     *http.Client
}

func newAdmin(endpoint string) *admin {
	return &admin{endpoint: strings.TrimSuffix(endpoint, "/"), http: &http.Client{Timeout: 15 * time.Second}}
}

// post sends a JSON body and decodes the answer; status codes in ok count
// as success.
func (a *admin) post(ctx context.Context, path string, in, out any, ok ...int) (int, error) {
	b, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.endpoint+path, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("admin %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, c := range ok {
		if resp.StatusCode == c {
			if out != nil && len(raw) > 0 {
				if err := json.Unmarshal(raw, out); err != nil {
					return resp.StatusCode, fmt.Errorf("admin %s: decode %q: %w", path, raw, err)
				}
			}
			return resp.StatusCode, nil
		}
	}
	return resp.StatusCode, fmt.Errorf("admin %s: HTTP %d: %s", path, resp.StatusCode, bytes.TrimSpace(raw))
}

// account creates the account if needed (an existing one is reused) and a
// new access key for its root, or for user when user is not empty.
func (a *admin) account(ctx context.Context, id, user string, o options) (*account, error) {
	if _, err := a.post(ctx, "/_fogbank/accounts", map[string]string{"id": id}, nil, http.StatusCreated, http.StatusConflict); err != nil {
		return nil, err
	}
	var key struct {
		AccessKeyID     string `json:"accessKeyId"`
		SecretAccessKey string `json:"secretAccessKey"`
	}
	in := map[string]string{"account": id}
	if user != "" {
		in["userName"] = user
	}
	if _, err := a.post(ctx, "/_fogbank/keys", in, &key, http.StatusCreated); err != nil {
		return nil, err
	}
	cfg := aws.Config{
		Region:       o.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, ""),
		BaseEndpoint: aws.String(a.endpoint),
	}
	return &account{id: id, keyID: key.AccessKeyID, region: o.Region,
		sts: sts.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg), eb: eventbridge.NewFromConfig(cfg),
		lambda: lambda.NewFromConfig(cfg), trail: cloudtrail.NewFromConfig(cfg)}, nil
}

// account is one account's SDK clients, signed with one access key.
type account struct {
	id, keyID, region string

	sts    *sts.Client
	sqs    *sqs.Client
	eb     *eventbridge.Client
	lambda *lambda.Client
	trail  *cloudtrail.Client
}

func (a *account) whoami(ctx context.Context) (string, error) {
	out, err := a.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("account %s: GetCallerIdentity: %w", a.id, err)
	}
	if aws.ToString(out.Account) != a.id {
		return "", fmt.Errorf("account %s: GetCallerIdentity answered account %s", a.id, aws.ToString(out.Account))
	}
	return aws.ToString(out.Arn), nil
}

func (a *account) arn(service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, a.region, a.id, resource)
}

func newRunID() string {
	var b [3]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
