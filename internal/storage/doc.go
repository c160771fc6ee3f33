// Package storage defines the narrow persistence interfaces every Fogbank
// service stands on: metadata records with compare-and-set, durable queues
// with visibility and acknowledgement, append logs read back by time, and
// blobs. Back ends live in sub-packages; storagetest holds the contract suite
// every back end must pass.
//
// Naming convention: every Meta namespace, queue name, log stream and blob key
// starts with the owning service's name ("sqs.queues", "sqs/…", "trail/…"),
// and keys include the owning account and region (see Key), so accounts and
// regions are isolated namespaces in every back end and Backend.Reset can
// wipe one service.
package storage
