// Package sqs serves the Amazon SQS API over Fogbank's durable queue
// engine (storage.Queues) and metadata store (storage.Meta): standard and
// FIFO queues, both wire protocols (awsJson 1.0 with the awsQuery
// compatibility header, and awsQuery/XML), message attributes with AWS's
// MD5 digests, dead-letter redrive, message move tasks, retention,
// permissions, tags and per-queue Prometheus metrics named after SQS's
// CloudWatch metrics. It also exports an in-process API (SendInternal,
// ReceiveInternal, ...) for other services that use queues as targets or
// event sources.
//
// Queues are stored under storage names "sqs/<account>/<region>/<name>";
// queue records live in the Meta namespace "sqs.queues" and move tasks in
// "sqs.movetasks", so that a reset of the "sqs" service removes them all.
package sqs
