// Package sigv4 verifies AWS Signature Version 4 on incoming requests, the
// server side of what the AWS SDKs sign: Authorization-header signing and
// presigned (query-string) URLs, for every service the front door serves.
//
// It owns parsing the signature parameters (ParseScope, for routing by the
// credential-scope service), rebuilding the canonical request from the
// client's own SignedHeaders list, the AWS time-window, scope and session
// token checks, payload hashing (buffered for small bodies, verified while
// streaming when X-Amz-Content-Sha256 carries a hash), a per-Verifier cache of
// derived signing keys, and the AWS error codes and messages for each way a
// request can fail. It does not decide what a verified principal may do.
//
// aws-chunked bodies (STREAMING-* payloads) are accepted by Verify as the
// signed payload value; NewChunkedReader decodes them for S3, checking chunk
// and trailer signatures and x-amz-checksum-* trailers.
package sigv4
