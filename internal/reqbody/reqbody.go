// Package reqbody holds request bodies read into memory. The SigV4
// verifier reads a body once to hash it; the protocol decoders then take
// the same bytes instead of copying them again.
package reqbody

import (
	"bytes"
	"errors"
	"io"
)

// ReadAtMost appends to buf what rd yields until EOF or until buf holds
// limit bytes (io.ReadAll of an io.LimitReader, without its allocations).
func ReadAtMost(rd io.Reader, buf []byte, limit int64) ([]byte, error) {
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		end := min(int64(cap(buf)), limit)
		n, err := rd.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// Buffer is a request body held in memory (an io.ReadCloser).
type Buffer struct {
	bytes.Reader
	all []byte
}

// NewBuffer returns a body reading b.
func NewBuffer(b []byte) *Buffer {
	buf := &Buffer{all: b}
	buf.Reset(b)
	return buf
}

// Close implements io.Closer.
func (*Buffer) Close() error { return nil }

// Rest returns the bytes not read yet, without copying, and marks them
// read. Callers must not modify them.
func (b *Buffer) Rest() []byte {
	rest := b.all[len(b.all)-b.Len():]
	_, _ = b.Seek(0, io.SeekEnd)
	return rest
}
