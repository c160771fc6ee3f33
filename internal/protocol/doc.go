// Package protocol encodes responses and errors in the AWS wire protocols
// Fogbank serves — awsJson 1.0/1.1, restJson1, awsQuery and restXml — and
// decodes the request bodies those protocols use. Services build their
// answers as Go values and let this package render them byte-compatibly
// with what the AWS SDKs parse, including each protocol's error shape and
// status codes. It also records the error on the request's service.Call so
// that the activity trail and metrics see it.
package protocol
