// Package logs serves a CloudWatch Logs subset (awsJson1_1, X-Amz-Target
// prefix Logs_20140328, signing name "logs"): log groups and streams,
// PutLogEvents, GetLogEvents, FilterLogEvents with filter patterns,
// DescribeLogGroups/Streams, retention, and WriteEvents, the internal API
// Lambda writes function output through.
//
// Groups and streams are metadata records (namespaces logs.groups and
// logs.streams); events live in storage.Logs streams named
// "logs/<account>/<region>/<group>/<stream>" (group and stream
// path-escaped), each record holding the ingestion time and the message.
package logs
