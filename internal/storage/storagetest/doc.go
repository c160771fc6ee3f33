// Package storagetest holds the contract test suite every storage back end
// must pass. A back end's own tests call Run with a function that opens a
// fresh, empty, isolated Backend; the suite then checks every method and
// documented behaviour of Meta, Queues, Logs, Blobs and Reset.
//
// The suite passes synthetic times to every time-taking call, so it never
// sleeps to wait for a visibility timeout or a delay. Where the interfaces
// leave a choice open, the suite pins down the behaviour callers rely on;
// each such choice is stated in the comment of the check that tests it.
package storagetest
