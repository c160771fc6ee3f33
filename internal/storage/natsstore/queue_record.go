package natsstore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Headers of a queue message record. Times are Unix nanoseconds.
const (
	hdrID      = "Fog-Id"    // message ID; absent on a record's first version (derived from its sequence)
	hdrSeq     = "Fog-Seq"   // storage Seq; absent on the first version (its own stream sequence)
	hdrSent    = "Fog-Sent"  // SentAt
	hdrVisible = "Fog-Vis"   // VisibleAt
	hdrCount   = "Fog-Cnt"   // ReceiveCount
	hdrFirst   = "Fog-First" // FirstReceivedAt; absent until first received
	hdrReceipt = "Fog-Rcpt"  // current receipt nonce; absent until first received
	hdrGroup   = "Fog-Grp"   // GroupID, encoded with enc; absent when empty
	hdrExpires = "Fog-Exp"   // dedup record: end of the dedup window
)

// qrec is the decoded state of one version of a queue message record.
type qrec struct {
	subj   string
	token  string // last subject token: the message's storage-internal key
	seq    uint64 // stream sequence of this version (the CAS token)
	orig   uint64 // storage Seq
	id     string
	sent   int64
	vis    int64
	first  int64
	count  int
	nonce  string
	group  string
	hasGrp bool
}

// decodeRec reads a record's state from its headers. idOf derives the ID
// of a first version from its sequence.
func decodeRec(subj string, seq uint64, h nats.Header, idOf func(uint64) string) (qrec, error) {
	r := qrec{subj: subj, seq: seq, orig: seq, nonce: h.Get(hdrReceipt)}
	if i := strings.LastIndexByte(subj, '.'); i >= 0 {
		r.token = subj[i+1:]
	}
	var err error
	num := func(name string) int64 {
		v := h.Get(name)
		if v == "" || err != nil {
			return 0
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil {
			err = fmt.Errorf("natsstore: record %s: bad %s %q", subj, name, v)
		}
		return n
	}
	if v := num(hdrSeq); v > 0 {
		r.orig = uint64(v)
	}
	r.sent, r.vis, r.first, r.count = num(hdrSent), num(hdrVisible), num(hdrFirst), int(num(hdrCount))
	if err != nil {
		return qrec{}, err
	}
	if g := h.Values(hdrGroup); len(g) > 0 {
		if r.group, err = dec(g[0]); err != nil {
			return qrec{}, err
		}
		r.hasGrp = true
	}
	if r.id = h.Get(hdrID); r.id == "" {
		r.id = idOf(r.orig)
	}
	return r, nil
}

// header renders r as record headers. The ID and Seq are always written, so
// that later versions keep them.
func (r qrec) header() nats.Header {
	h := nats.Header{}
	h.Set(hdrID, r.id)
	h.Set(hdrSeq, strconv.FormatUint(r.orig, 10))
	r.stateInto(h)
	return h
}

// stateInto writes the mutable state (and the immutable SentAt and group).
func (r qrec) stateInto(h nats.Header) {
	h.Set(hdrSent, strconv.FormatInt(r.sent, 10))
	h.Set(hdrVisible, strconv.FormatInt(r.vis, 10))
	h.Set(hdrCount, strconv.Itoa(r.count))
	if r.first != 0 {
		h.Set(hdrFirst, strconv.FormatInt(r.first, 10))
	}
	if r.nonce != "" {
		h.Set(hdrReceipt, r.nonce)
	}
	if r.hasGrp {
		h.Set(hdrGroup, enc(r.group))
	}
}

// inFlight: received and its visibility timeout not yet over.
func (r qrec) inFlight(now int64) bool { return r.count > 0 && r.vis > now }

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// encodePayload stores attributes and body in one payload:
// uvarint(len(attrs)) attrs body.
func encodePayload(attrs, body []byte) []byte {
	out := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(attrs)+len(body)), uint64(len(attrs)))
	out = append(out, attrs...)
	return append(out, body...)
}

var errBadPayload = errors.New("natsstore: malformed queue record payload")

// decodePayload reverses encodePayload.
func decodePayload(p []byte) (attrs, body []byte, err error) {
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) {
		return nil, nil, errBadPayload
	}
	p = p[k:]
	if n > 0 {
		attrs = p[:n:n]
	}
	return attrs, p[n:], nil
}

// receipt is a parsed receipt handle: "<queue hash>.<token>.<nonce>".
// The queue hash binds it to its queue; token names the record; nonce
// changes on every receive.
type receipt struct{ qhash, token, nonce string }

func queueHash(queue string) string {
	h := sha256.Sum256([]byte(queue))
	return hex.EncodeToString(h[:6])
}

func (r receipt) String() string { return r.qhash + "." + r.token + "." + r.nonce }

// parseReceipt validates a receipt handle. The token ends up in a subject,
// so only letters and digits are accepted.
func parseReceipt(s string) (receipt, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return receipt{}, false
	}
	for _, p := range parts {
		if p == "" || len(p) > 64 {
			return receipt{}, false
		}
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				return receipt{}, false
			}
		}
	}
	return receipt{qhash: parts[0], token: parts[1], nonce: parts[2]}, true
}
