// Package storagetest holds the contract test suite every storage back end
// must pass. A back end's own tests call Run with a function that opens a
// fresh, empty, isolated Backend; the suite then checks every method and
// documented behaviour of Meta, Queues, Logs, Blobs and Reset.
//
// The suite passes synthetic times (whole seconds and milliseconds in
// 2030) to every time-taking call, so it never sleeps to wait for a
// visibility timeout or a delay; back ends must round-trip times to the
// millisecond at least.
//
// Where the interfaces leave a choice open, the suite pins down the
// behaviour callers rely on:
//   - Meta: a failed Put never creates the key; Put with an expected
//     version on an absent key is ErrConflict; Delete of an absent key is
//     ErrNotFound whatever the expectation; List order is byte order.
//   - Queues: Seq grows across sends (also across a batch, in request
//     order); a message is visible when VisibleAt <= now; Delete with the
//     receipt of a deleted (or moved) message is ErrInvalidReceipt, while
//     a superseded receipt of a present message is accepted;
//     ChangeVisibility(0) makes a message receivable at the same now;
//     FIFO receives block a group while any of its messages is in flight
//     and never pass a group's delayed head; dedup ids survive Delete but
//     not Drop or Reset, and the window counts from the first
//     send; redrive keeps ID, body, attributes, group and SentAt; Move and
//     Expire return counts; Stats.Delayed counts never-received messages
//     whose VisibleAt is in the future; Notify wakes only its own queue.
//   - Logs: reading an unknown stream returns no records and no error;
//     records come back in Seq order; Seq keeps growing after Trim; a
//     stream is listed by Streams until Reset, even once trimmed empty.
//   - Blobs: Delete of an absent key is ErrNotFound; a Put whose reader
//     fails leaves the previous blob; List is in key order.
//   - Reset with prefixes matches Meta namespaces (not keys), queue names,
//     log stream names and blob keys.
package storagetest
