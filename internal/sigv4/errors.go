package sigv4

import (
	"errors"
	"net/http"
)

// ErrUnknownKey is what a LookupFunc returns for an access key id it does not
// know. Verify turns it into InvalidClientTokenId; any other lookup error is
// returned wrapped, as a server fault.
var ErrUnknownKey = errors.New("sigv4: unknown access key")

// Kind classifies why Verify rejected a request, independent of the wire code,
// so that callers can choose the code their service uses (JSON services say
// InvalidSignatureException and UnrecognizedClientException where query
// services say SignatureDoesNotMatch and InvalidClientTokenId; S3 has its own
// codes, see Error.ForS3).
type Kind int

// Kinds of verification failure.
const (
	// KindMissingAuth: neither an Authorization header nor X-Amz-Credential
	// / X-Amz-Algorithm query parameters.
	KindMissingAuth Kind = iota + 1
	// KindBothAuth: both an Authorization header and query authentication.
	KindBothAuth
	// KindIncomplete: malformed Authorization header or missing presign
	// parameters, or a malformed credential.
	KindIncomplete
	// KindUnsupportedAlgorithm: an algorithm other than AWS4-HMAC-SHA256.
	KindUnsupportedAlgorithm
	// KindBadDate: X-Amz-Date (or Date) is not a valid timestamp.
	KindBadDate
	// KindSkew: header-signed request dated too far from the server clock.
	KindSkew
	// KindBadExpires: X-Amz-Expires not a number, negative or over a week.
	KindBadExpires
	// KindExpired: presigned URL past X-Amz-Date + X-Amz-Expires.
	KindExpired
	// KindNotYetValid: presigned URL dated in the future beyond MaxSkew.
	KindNotYetValid
	// KindHostNotSigned: "host" missing from SignedHeaders.
	KindHostNotSigned
	// KindScope: the credential scope's region, terminator or date is wrong.
	KindScope
	// KindUnknownKey: the access key id is not known.
	KindUnknownKey
	// KindInvalidToken: X-Amz-Security-Token missing, unexpected or wrong.
	KindInvalidToken
	// KindSignatureMismatch: the signature does not match.
	KindSignatureMismatch
	// KindInvalidContentSHA256: X-Amz-Content-Sha256 is neither a hex
	// SHA-256 nor a known sentinel.
	KindInvalidContentSHA256
	// KindMissingContentSHA256: an S3 header-signed request without
	// X-Amz-Content-Sha256.
	KindMissingContentSHA256
	// KindContentSHA256Mismatch: the body read does not hash to the
	// X-Amz-Content-Sha256 value (reported by the body reader at EOF).
	KindContentSHA256Mismatch
	// KindBodyTooLarge: the body to hash exceeds Verifier.MaxBody.
	KindBodyTooLarge
	// KindChunkSignature: an aws-chunked chunk or trailer signature is wrong
	// or the chunk framing is malformed (ChunkedReader).
	KindChunkSignature
	// KindChecksumMismatch: an aws-chunked trailing checksum does not match
	// the decoded body (ChunkedReader).
	KindChecksumMismatch
)

var kindNames = map[Kind]string{
	KindMissingAuth: "MissingAuth", KindBothAuth: "BothAuth", KindIncomplete: "Incomplete",
	KindUnsupportedAlgorithm: "UnsupportedAlgorithm", KindBadDate: "BadDate", KindSkew: "Skew",
	KindBadExpires: "BadExpires", KindExpired: "Expired", KindNotYetValid: "NotYetValid",
	KindHostNotSigned: "HostNotSigned", KindScope: "Scope", KindUnknownKey: "UnknownKey",
	KindInvalidToken: "InvalidToken", KindSignatureMismatch: "SignatureMismatch",
	KindInvalidContentSHA256: "InvalidContentSHA256", KindMissingContentSHA256: "MissingContentSHA256",
	KindContentSHA256Mismatch: "ContentSHA256Mismatch", KindBodyTooLarge: "BodyTooLarge",
	KindChunkSignature: "ChunkSignature", KindChecksumMismatch: "ChecksumMismatch",
}

// String returns the kind's name.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "Unknown"
}

// Error is what Verify (and the body readers it installs) return for a request
// AWS would reject. Code, Message and Status are what the non-S3 query
// services (STS, SQS query, SNS) answer; Kind lets a caller pick its own code.
type Error struct {
	Code    string
	Message string
	Status  int
	Kind    Kind
	// Presigned is true when the request used query-string authentication.
	Presigned bool
	// AccessKeyID is the key id the request named, when it got that far.
	AccessKeyID string
	// CanonicalRequest and StringToSign are what the server computed, set
	// for KindSignatureMismatch (AWS echoes them to help debug clients).
	CanonicalRequest string
	StringToSign     string
	// SignatureProvided is the client's signature, for KindSignatureMismatch.
	SignatureProvided string
	// RequestTime, ServerTime and ExpiresAt are set for time-window failures
	// (KindSkew, KindExpired, KindNotYetValid); ExpiresAt only when presigned.
	RequestTime, ServerTime, ExpiresAt string

	missingQueryParams bool // presign parameters absent (S3 words this differently)
}

// Error implements error.
func (e *Error) Error() string { return "sigv4: " + e.Code + ": " + e.Message }

func newError(kind Kind, status int, code, msg string) *Error {
	return &Error{Kind: kind, Status: status, Code: code, Message: msg}
}

// AWS messages used in more than one place.
const (
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgInvalidToken    = "The security token included in the request is invalid."
	msgMissingAuth     = "Request is missing Authentication Token"
	msgContentMismatch = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgInvalidContent  = "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, " +
		"STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, " +
		"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value."
)

// ForS3 returns the error as Amazon S3 reports it (S3 has its own codes for
// most authentication failures). The receiver is not modified.
func (e *Error) ForS3() *Error {
	c := *e
	set := func(status int, code, msg string) { c.Status, c.Code, c.Message = status, code, msg }
	switch e.Kind {
	case KindMissingAuth:
		set(http.StatusForbidden, "AccessDenied", "Access Denied")
	case KindBothAuth:
		set(http.StatusBadRequest, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query "+
			"parameter, Signature query string parameter or the Authorization header should be specified")
	case KindIncomplete, KindScope:
		if e.Presigned {
			msg := e.Message
			if e.missingQueryParams {
				msg = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, " +
					"X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
			}
			set(http.StatusBadRequest, "AuthorizationQueryParametersError", msg)
		} else {
			set(http.StatusBadRequest, "AuthorizationHeaderMalformed", "The authorization header is malformed; "+e.Message)
		}
	case KindUnsupportedAlgorithm:
		if e.Presigned {
			set(http.StatusBadRequest, "AuthorizationQueryParametersError", `X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`)
		} else {
			set(http.StatusBadRequest, "InvalidArgument", "Unsupported Authorization Type")
		}
	case KindBadDate:
		set(http.StatusForbidden, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
	case KindSkew:
		set(http.StatusForbidden, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
	case KindExpired:
		set(http.StatusForbidden, "AccessDenied", "Request has expired")
	case KindNotYetValid:
		set(http.StatusForbidden, "AccessDenied", "Request is not yet valid")
	case KindHostNotSigned:
		if e.Presigned {
			set(http.StatusBadRequest, "AuthorizationQueryParametersError", "Host must be signed")
		} else {
			set(http.StatusBadRequest, "AuthorizationHeaderMalformed", "The authorization header is malformed; Host must be signed")
		}
	case KindUnknownKey:
		set(http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	case KindInvalidToken:
		set(http.StatusBadRequest, "InvalidToken", "The provided token is malformed or otherwise invalid.")
	case KindSignatureMismatch:
		set(http.StatusForbidden, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	case KindMissingContentSHA256:
		set(http.StatusBadRequest, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
	}
	return &c
}
