package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Credentials are the secrets the verifier looks up by access key id.
// SessionToken is non-empty for temporary credentials, which requests must
// present in X-Amz-Security-Token.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// LookupFunc returns the credentials for an access key id, or an error
// wrapping ErrUnknownKey when there are none. It must be safe for concurrent use.
type LookupFunc func(ctx context.Context, accessKeyID string) (Credentials, error)

// Defaults for the zero values of Verifier's fields.
const (
	DefaultMaxSkew = 15 * time.Minute
	DefaultMaxBody = 64 << 20
	// MaxPresignExpires is the longest X-Amz-Expires AWS accepts (7 days).
	MaxPresignExpires = 604800
)

// Verifier checks SigV4 signatures. Lookup is required; the other fields
// have usable zero values. A Verifier is safe for concurrent use once its
// fields are set, and must not be copied after first use (it holds a cache
// of derived signing keys).
type Verifier struct {
	// Lookup finds the credentials for an access key id.
	Lookup LookupFunc
	// Now is the wall clock. If nil, time.Now is used.
	Now func() time.Time
	// MaxSkew is how far a header-signed request's date may be from Now,
	// and how far in the future a presigned URL's date may be. If zero,
	// 15 minutes is used.
	MaxSkew time.Duration
	// MaxBody caps the bodies Verify buffers to hash (requests without
	// X-Amz-Content-Sha256). If zero, 64 MiB is used.
	MaxBody int64
	// ValidRegion, if non-nil, rejects credential scopes naming a region for
	// which it returns false. If nil, any region is accepted.
	ValidRegion func(region string) bool

	keys    keyCache
	scratch sync.Pool // *scratch
}

// scratch holds the buffers one verification builds its canonical
// requests and strings to sign in.
type scratch struct {
	headers, cr, sts []byte
}

// Scope is what the Authorization header or X-Amz-Credential says, parsed
// without verifying.
type Scope struct {
	AccessKeyID, Date, Region, Service string
	// Presigned is true for query-string (presigned URL) authentication.
	Presigned bool
}

// Result describes a successfully verified request.
type Result struct {
	Scope
	// Credentials are the looked-up credentials of the signer.
	Credentials Credentials
	// SignedHeaders is the client's SignedHeaders list.
	SignedHeaders []string
	// Time is the request's signing time (X-Amz-Date, or Date).
	Time time.Time
	// Expires is X-Amz-Expires for presigned requests (zero when absent).
	Expires time.Duration
	// PayloadHash is the payload value that was signed: a hex SHA-256 or one
	// of the UNSIGNED-PAYLOAD / STREAMING-* sentinels.
	PayloadHash string
	// Signature is the verified request signature, the seed of aws-chunked
	// chunk signatures.
	Signature string

	signingKey []byte
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return DefaultMaxSkew
}

func (v *Verifier) maxBody() int64 {
	if v.MaxBody > 0 {
		return v.MaxBody
	}
	return DefaultMaxBody
}

// sigParams is the signature material of either authentication style.
type sigParams struct {
	presigned     bool
	algorithm     string
	credential    string
	signedHeaders string
	signature     string
	amzDate       string // as it appears in the string to sign
	time          time.Time
	expires       time.Duration
	hasExpires    bool
}

// Verify checks the request's signature. On success it may have replaced
// r.Body with an equivalent reader: when X-Amz-Content-Sha256 is absent
// (outside S3) the body is buffered, up to MaxBody, to hash it; when it holds
// a hex hash the body is verified as it is read and the reader fails at EOF
// with an *Error of KindContentSHA256Mismatch. UNSIGNED-PAYLOAD and the
// STREAMING-* sentinels are accepted as the signed payload value (see
// ChunkedReader for decoding aws-chunked bodies).
//
// Verify returns an *Error for requests AWS would reject and another error
// (wrapped) when the body cannot be read or Lookup fails other than with
// ErrUnknownKey. The checks run in the order AWS applies them.
func (v *Verifier) Verify(r *http.Request) (*Result, error) {
	if v.Lookup == nil {
		return nil, errors.New("sigv4: verifier has no Lookup")
	}
	now := v.now().UTC()
	wirePath, rawQuery := requestTarget(r)
	params := parseQuery(rawQuery)
	authz := r.Header.Get("Authorization")
	_, hasAlg := lookupQuery(params, qAlgorithm)
	_, hasCred := lookupQuery(params, qCredential)
	presigned := hasAlg || hasCred

	switch {
	case authz != "" && presigned:
		return nil, newError(KindBothAuth, http.StatusBadRequest, "SignatureDoesNotMatch",
			"Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.")
	case authz == "" && !presigned:
		return nil, newError(KindMissingAuth, http.StatusForbidden, "MissingAuthenticationToken", msgMissingAuth)
	}

	var (
		sp  sigParams
		err *Error
	)
	if presigned {
		sp, err = v.presignParams(params, now)
	} else {
		sp, err = v.headerParams(r, authz, now)
	}
	if err != nil {
		err.Presigned = presigned
		return nil, err
	}
	res, err2 := v.verifyCommon(r, sp, wirePath, params, now)
	if err2 != nil {
		var e *Error
		if errors.As(err2, &e) {
			e.Presigned = presigned
		}
		return nil, err2
	}
	return res, nil
}

// headerParams parses and checks Authorization-header authentication up to
// (and including) the time window, in AWS's order.
func (v *Verifier) headerParams(r *http.Request, authz string, now time.Time) (sigParams, *Error) {
	a, perr := parseAuthorization(authz)
	if perr != nil {
		return sigParams{}, perr
	}
	amzDate := r.Header.Get("X-Amz-Date")
	date := amzDate
	if date == "" {
		date = r.Header.Get("Date")
	}
	var msg strings.Builder
	if !a.hasCredential || a.credential == "" {
		msg.WriteString("Authorization header requires 'Credential' parameter. ")
	}
	if !a.hasSignature || a.signature == "" {
		msg.WriteString("Authorization header requires 'Signature' parameter. ")
	}
	if !a.hasSignedHeaders {
		msg.WriteString("Authorization header requires 'SignedHeaders' parameter. ")
	}
	if date == "" {
		msg.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
	}
	if msg.Len() > 0 {
		return sigParams{}, newError(KindIncomplete, http.StatusBadRequest, "IncompleteSignature",
			msg.String()+"Authorization="+authz)
	}
	sp := sigParams{algorithm: a.algorithm, credential: a.credential, signedHeaders: a.signedHeaders, signature: a.signature}
	var t time.Time
	var perr2 error
	if amzDate != "" {
		t, perr2 = parseAmzDate(amzDate)
		sp.amzDate = amzDate
	} else {
		t, perr2 = http.ParseTime(date)
		sp.amzDate = t.UTC().Format(amzDateFormat)
	}
	if perr2 != nil {
		return sigParams{}, badDate(date)
	}
	sp.time = t.UTC()
	if e := v.checkSkew(sp.time, now); e != nil {
		return sigParams{}, e
	}
	return sp, nil
}

// presignParams parses and checks query-string authentication up to (and
// including) the time window, in AWS's order.
func (v *Verifier) presignParams(params []queryParam, now time.Time) (sigParams, *Error) {
	get := func(k string) string { s, _ := lookupQuery(params, k); return s }
	sp := sigParams{
		presigned:     true,
		algorithm:     get(qAlgorithm),
		credential:    get(qCredential),
		signedHeaders: get(qSignedHeaders),
		signature:     get(qSignature),
		amzDate:       get(qDate),
	}
	var msg strings.Builder
	for _, k := range []string{qAlgorithm, qCredential, qSignature, qSignedHeaders, qDate} {
		if get(k) == "" {
			msg.WriteString("AWS query-string parameters must include '" + k + "'. ")
		}
	}
	expStr, hasExp := lookupQuery(params, qExpires)
	if c, ok := parseCredential(sp.credential); ok && c.service == "s3" && !hasExp {
		// S3 requires X-Amz-Expires; other services fall back to MaxSkew.
		msg.WriteString("AWS query-string parameters must include '" + qExpires + "'. ")
	}
	if msg.Len() > 0 {
		e := newError(KindIncomplete, http.StatusBadRequest, "IncompleteSignature",
			msg.String()+"Re-examine the query-string parameters.")
		e.missingQueryParams = true
		return sigParams{}, e
	}
	if sp.algorithm != algorithm {
		return sigParams{}, unsupportedAlgorithm(sp.algorithm)
	}
	t, err := parseAmzDate(sp.amzDate)
	if err != nil {
		return sigParams{}, badDate(sp.amzDate)
	}
	sp.time = t.UTC()
	if hasExp {
		n, err := strconv.ParseInt(expStr, 10, 64)
		switch {
		case err != nil:
			return sigParams{}, badExpires("X-Amz-Expires should be a number")
		case n < 0:
			return sigParams{}, badExpires("X-Amz-Expires must be non-negative")
		case n > MaxPresignExpires:
			return sigParams{}, badExpires("X-Amz-Expires must be less than a week (in seconds); that is, " +
				"the given X-Amz-Expires must be less than 604800 seconds")
		}
		sp.expires, sp.hasExpires = time.Duration(n)*time.Second, true
	}
	skew := v.maxSkew()
	if sp.time.After(now.Add(skew)) {
		return sigParams{}, notYetCurrent(sp.time, now, skew, KindNotYetValid)
	}
	if sp.hasExpires {
		if sp.time.Add(sp.expires).Before(now) {
			e := expired(sp.time, now, sp.expires, KindExpired)
			e.ExpiresAt = sp.time.Add(sp.expires).Format(time.RFC3339)
			return sigParams{}, e
		}
	} else if e := v.checkSkew(sp.time, now); e != nil {
		return sigParams{}, e
	}
	return sp, nil
}

// verifyCommon runs the checks shared by both styles, from SignedHeaders on.
func (v *Verifier) verifyCommon(r *http.Request, sp sigParams, wirePath string, params []queryParam, now time.Time) (*Result, error) {
	signed := splitSignedHeaders(sp.signedHeaders)
	hostSigned := false
	for _, h := range signed {
		if strings.EqualFold(h, "host") {
			hostSigned = true
			break
		}
	}
	if !hostSigned {
		return nil, newError(KindHostNotSigned, http.StatusForbidden, "SignatureDoesNotMatch",
			"'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if sp.algorithm != algorithm {
		return nil, unsupportedAlgorithm(sp.algorithm)
	}
	cred, ok := parseCredential(sp.credential)
	if !ok {
		return nil, newError(KindIncomplete, http.StatusBadRequest, "IncompleteSignature",
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '"+sp.credential+"'")
	}
	var msg strings.Builder
	if cred.region == "" || v.ValidRegion != nil && !v.ValidRegion(cred.region) {
		msg.WriteString("Credential should be scoped to a valid region, not '" + cred.region + "'. ")
	}
	if cred.service == "" {
		msg.WriteString("Credential should be scoped to correct service. ")
	}
	if cred.term != scopeTerm {
		msg.WriteString("Credential should be scoped with a valid terminator: 'aws4_request', not '" + cred.term + "'. ")
	}
	if day := sp.amzDate[:min(8, len(sp.amzDate))]; cred.date != day {
		msg.WriteString("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			cred.date + "' != '" + day + "', from '" + sp.amzDate + "'.")
	}
	if msg.Len() > 0 {
		e := newError(KindScope, http.StatusForbidden, "SignatureDoesNotMatch", strings.TrimSpace(msg.String()))
		e.AccessKeyID = cred.accessKeyID
		return nil, e
	}

	creds, lerr := v.Lookup(r.Context(), cred.accessKeyID)
	if lerr != nil {
		if errors.Is(lerr, ErrUnknownKey) {
			e := newError(KindUnknownKey, http.StatusForbidden, "InvalidClientTokenId", msgInvalidToken)
			e.AccessKeyID = cred.accessKeyID
			return nil, e
		}
		return nil, fmt.Errorf("sigv4: look up access key %q: %w", cred.accessKeyID, lerr)
	}

	payload, streamHash, err := v.payloadHash(r, cred.service, sp.presigned, params)
	if err != nil {
		return nil, err
	}

	key := v.keys.get(keyCacheKey{cred.accessKeyID, cred.date, cred.region, cred.service}, creds.SecretAccessKey)
	host := r.Host
	if host == "" && r.URL != nil {
		host = r.URL.Host
	}
	// Candidate canonical forms (host with and without a default port, the
	// service's path rule and its fallback, the presign token variant),
	// tried in order until one matches.
	var hostBuf, pathBuf, queryBuf [2]string
	hosts := append(hostBuf[:0], host)
	if h := stripDefaultPort(host); h != host {
		hosts = append(hosts, h)
	}
	paths := canonicalPaths(pathBuf[:0], cred.service, wirePath)
	queries := append(queryBuf[:0], canonicalQuery(params, presignSkip(sp.presigned)...))
	if _, tok := lookupQuery(params, qSecurityToken); tok && sp.presigned {
		// Some signers add the token after signing (the test suite's
		// post-sts-header-after case); accept that form too.
		queries = append(queries, canonicalQuery(params, qSignature, qSecurityToken))
	}
	sc, _ := v.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	defer v.scratch.Put(sc)
	build := func(h, p, q string, rebuildHeaders bool) {
		if rebuildHeaders {
			sc.headers = appendCanonicalHeaders(sc.headers[:0], r, h, signed)
		}
		sc.cr = appendCanonicalRequest(sc.cr[:0], r.Method, p, q, sc.headers, sp.signedHeaders, payload)
		sc.sts = appendStringToSign(sc.sts[:0], sp.amzDate, cred, sc.cr)
	}
	matched := false
	var mac [sha256.Size]byte
	var macHex [2 * sha256.Size]byte
search:
	for _, h := range hosts {
		fresh := true
		for _, p := range paths {
			for _, q := range queries {
				build(h, p, q, fresh)
				fresh = false
				hex.Encode(macHex[:], key.mac(mac[:0], sc.sts))
				if equalConstantTime(macHex[:], sp.signature) {
					matched = true
					break search
				}
			}
		}
	}
	if !matched {
		// Report the first candidate, the service's own canonical form.
		build(hosts[0], paths[0], queries[0], true)
		e := newError(KindSignatureMismatch, http.StatusForbidden, "SignatureDoesNotMatch", msgSignatureMismatch)
		e.AccessKeyID, e.CanonicalRequest, e.StringToSign, e.SignatureProvided = cred.accessKeyID, string(sc.cr), string(sc.sts), sp.signature
		return nil, e
	}

	token := r.Header.Get(qSecurityToken)
	if token == "" {
		token, _ = lookupQuery(params, qSecurityToken)
	}
	if !equalConstantTime(token, creds.SessionToken) {
		e := newError(KindInvalidToken, http.StatusForbidden, "InvalidClientTokenId", msgInvalidToken)
		e.AccessKeyID = cred.accessKeyID
		return nil, e
	}

	if streamHash != "" {
		r.Body = newHashingBody(r.Body, streamHash, sp.presigned)
	}
	return &Result{
		Scope: Scope{AccessKeyID: cred.accessKeyID, Date: cred.date, Region: cred.region, Service: cred.service,
			Presigned: sp.presigned},
		Credentials:   creds,
		SignedHeaders: signed,
		Time:          sp.time,
		Expires:       sp.expires,
		PayloadHash:   payload,
		Signature:     sp.signature,
		signingKey:    key.key,
	}, nil
}

func presignSkip(presigned bool) []string {
	if presigned {
		return []string{qSignature}
	}
	return nil
}

// payloadHash decides the payload value of the canonical request. When it is
// a client-declared hash, streamHash is that hash, to verify as the body is read.
func (v *Verifier) payloadHash(r *http.Request, service string, presigned bool, params []queryParam) (payload, streamHash string, err error) {
	declared := r.Header.Get(qContentSHA256)
	if presigned {
		if q, ok := lookupQuery(params, qContentSHA256); ok {
			declared = q
		}
	}
	switch {
	case declared != "" && isSentinel(declared):
		return declared, "", nil
	case declared != "" && isHexSHA256(declared):
		return declared, declared, nil
	case declared != "":
		return "", "", newError(KindInvalidContentSHA256, http.StatusBadRequest, "InvalidArgument", msgInvalidContent)
	case service == "s3" && presigned:
		return UnsignedPayload, "", nil
	case service == "s3":
		return "", "", newError(KindMissingContentSHA256, http.StatusBadRequest, "InvalidRequest",
			"Missing required header for this request: x-amz-content-sha256")
	}
	h, berr := bufferBody(r, v.maxBody())
	if berr != nil {
		return "", "", berr
	}
	return h, "", nil
}

// checkSkew enforces |t - now| <= MaxSkew.
func (v *Verifier) checkSkew(t, now time.Time) *Error {
	skew := v.maxSkew()
	if t.Before(now.Add(-skew)) {
		return expired(t, now, skew, KindSkew)
	}
	if t.After(now.Add(skew)) {
		return notYetCurrent(t, now, skew, KindSkew)
	}
	return nil
}

func fmtWindow(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min."
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + " sec."
}

func expired(t, now time.Time, window time.Duration, kind Kind) *Error {
	e := newError(kind, http.StatusForbidden, "SignatureDoesNotMatch", fmt.Sprintf(
		"Signature expired: %s is now earlier than %s (%s - %s)",
		t.Format(amzDateFormat), now.Add(-window).Format(amzDateFormat), now.Format(amzDateFormat), fmtWindow(window)))
	e.RequestTime, e.ServerTime = t.Format(time.RFC3339), now.Format(time.RFC3339)
	return e
}

func notYetCurrent(t, now time.Time, window time.Duration, kind Kind) *Error {
	e := newError(kind, http.StatusForbidden, "SignatureDoesNotMatch", fmt.Sprintf(
		"Signature not yet current: %s is still later than %s (%s + %s)",
		t.Format(amzDateFormat), now.Add(window).Format(amzDateFormat), now.Format(amzDateFormat), fmtWindow(window)))
	e.RequestTime, e.ServerTime = t.Format(time.RFC3339), now.Format(time.RFC3339)
	return e
}

func badDate(got string) *Error {
	return newError(KindBadDate, http.StatusBadRequest, "IncompleteSignature",
		"Date must be in ISO-8601 'basic format'. Got '"+got+"'. See http://en.wikipedia.org/wiki/ISO_8601")
}

func badExpires(msg string) *Error {
	return newError(KindBadExpires, http.StatusBadRequest, "AuthorizationQueryParametersError", msg)
}

func unsupportedAlgorithm(alg string) *Error {
	return newError(KindUnsupportedAlgorithm, http.StatusBadRequest, "IncompleteSignature",
		"Unsupported AWS 'algorithm': '"+alg+"' (only AWS4-HMAC-SHA256 for now).")
}
