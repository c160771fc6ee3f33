// Package natsstore is the storage.Backend on NATS JetStream, so that
// several Fogbank nodes can share one NATS cluster (Open), or one process
// can run JetStream embedded (OpenEmbedded).
package natsstore
