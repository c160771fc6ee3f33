// Package sts serves AWS Security Token Service: GetCallerIdentity,
// AssumeRole, GetSessionToken, GetAccessKeyInfo and GetFederationToken, over
// awsQuery (what the SDKs send) and awsJson 1.0. Temporary credentials are
// issued through internal/identity; roles are not yet IAM resources, so any
// role ARN in an existing account may be assumed (trust policies come with
// IAM).
package sts
