package natsstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fogbank/fogbank/internal/storage"
)

// hdrVersion carries a Meta record's version (1, 2, 3, ...). The stream
// sequence of the record's current message is the compare-and-set token
// used with Nats-Expected-Last-Subject-Sequence.
const hdrVersion = "Fog-Ver"

// metaStore implements storage.Meta on the <prefix>_META stream: one
// subject per record, <prefix>.k.<ns>.<seg>..., where the key is split at
// "/" and every part is encoded with enc; the stream keeps one message per
// subject.
type metaStore struct{ s *Store }

// metaSubject maps (ns, key) to the record's subject.
func (m metaStore) metaSubject(ns, key string) string {
	var b strings.Builder
	b.WriteString(m.s.prefix)
	b.WriteString(".k.")
	b.WriteString(enc(ns))
	for _, seg := range strings.Split(key, "/") {
		b.WriteByte('.')
		b.WriteString(enc(seg))
	}
	return b.String()
}

// metaFilter returns the narrowest subject filter that matches every key
// of ns beginning with prefix: the complete "/"-separated segments of the
// prefix become literal tokens.
func (m metaStore) metaFilter(ns, prefix string) string {
	var b strings.Builder
	b.WriteString(m.s.prefix)
	b.WriteString(".k.")
	b.WriteString(enc(ns))
	segs := strings.Split(prefix, "/")
	for _, seg := range segs[:len(segs)-1] {
		b.WriteByte('.')
		b.WriteString(enc(seg))
	}
	b.WriteString(".>")
	return b.String()
}

// keyOf decodes a record subject into namespace and key.
func (m metaStore) keyOf(subj string) (ns, key string, err error) {
	toks := strings.Split(strings.TrimPrefix(subj, m.s.prefix+".k."), ".")
	if len(toks) < 2 {
		return "", "", fmt.Errorf("natsstore: bad meta subject %q", subj)
	}
	if ns, err = dec(toks[0]); err != nil {
		return "", "", err
	}
	segs := make([]string, len(toks)-1)
	for i, t := range toks[1:] {
		if segs[i], err = dec(t); err != nil {
			return "", "", err
		}
	}
	return ns, strings.Join(segs, "/"), nil
}

func versionOf(h nats.Header) int64 {
	v, err := strconv.ParseInt(h.Get(hdrVersion), 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// Get returns the record or storage.ErrNotFound.
func (m metaStore) Get(ctx context.Context, ns, key string) (storage.Record, error) {
	msg, err := lastMsg(ctx, m.s.metaStream, m.metaSubject(ns, key))
	if err != nil {
		return storage.Record{}, fmt.Errorf("natsstore: meta get: %w", err)
	}
	if msg == nil {
		return storage.Record{}, storage.ErrNotFound
	}
	return storage.Record{Key: key, Value: msg.Data, Version: versionOf(msg.Header)}, nil
}

// Put writes value when the stored version equals expect and returns the
// new version. It reads the current message, then publishes the next
// version conditionally on that message still being the subject's last.
func (m metaStore) Put(ctx context.Context, ns, key string, value []byte, expect int64) (int64, error) {
	subj := m.metaSubject(ns, key)
	for {
		cur, err := lastMsg(ctx, m.s.metaStream, subj)
		if err != nil {
			return 0, fmt.Errorf("natsstore: meta put: %w", err)
		}
		var lastSeq uint64
		var ver int64
		if cur != nil {
			lastSeq, ver = cur.Sequence, versionOf(cur.Header)
		}
		switch {
		case expect == storage.AnyVersion:
		case expect == storage.MustNotExist && cur != nil:
			return 0, storage.ErrConflict
		case expect > 0 && (cur == nil || ver != expect):
			return 0, storage.ErrConflict
		}
		msg := nats.NewMsg(subj)
		msg.Header.Set(hdrVersion, strconv.FormatInt(ver+1, 10))
		msg.Data = value
		_, err = m.s.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(lastSeq))
		if err == nil {
			return ver + 1, nil
		}
		if !isWrongSeq(err) {
			return 0, fmt.Errorf("natsstore: meta put: %w", err)
		}
		if expect != storage.AnyVersion {
			return 0, storage.ErrConflict
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
}

// Delete removes the record when its version equals expect, by deleting
// exactly the stream message that carries that version.
func (m metaStore) Delete(ctx context.Context, ns, key string, expect int64) error {
	subj := m.metaSubject(ns, key)
	for {
		cur, err := lastMsg(ctx, m.s.metaStream, subj)
		if err != nil {
			return fmt.Errorf("natsstore: meta delete: %w", err)
		}
		if cur == nil {
			return storage.ErrNotFound
		}
		if expect != storage.AnyVersion && versionOf(cur.Header) != expect {
			return storage.ErrConflict
		}
		ok, err := m.s.purgeVersion(ctx, m.s.metaStream, subj, cur.Sequence)
		if err != nil {
			return fmt.Errorf("natsstore: meta delete: %w", err)
		}
		if ok {
			return nil
		}
		// Replaced or deleted concurrently: look again.
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// List returns up to limit records of ns whose key starts with prefix and
// sorts after `after`, in key order. It reads every record under the
// prefix's complete path segments and sorts them in memory.
func (m metaStore) List(ctx context.Context, ns, prefix, after string, limit int) ([]storage.Record, error) {
	byKey := map[string]storage.Record{}
	err := scan(ctx, m.s.metaStream, m.metaFilter(ns, prefix), 0, false, func(msg jetstream.Msg) (bool, error) {
		_, key, err := m.keyOf(msg.Subject())
		if err != nil {
			return false, err
		}
		if !strings.HasPrefix(key, prefix) || key <= after {
			return true, nil
		}
		// A scan racing with an update can see two versions of one key;
		// the later one in stream order is the newer.
		byKey[key] = storage.Record{Key: key, Value: msg.Data(), Version: versionOf(msg.Headers())}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("natsstore: meta list: %w", err)
	}
	recs := make([]storage.Record, 0, len(byKey))
	for _, r := range byKey {
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b storage.Record) int { return strings.Compare(a.Key, b.Key) })
	if limit > 0 && len(recs) > limit {
		recs = recs[:limit]
	}
	return recs, nil
}

// resetMeta purges every namespace for which match is true.
func (s *Store) resetMeta(ctx context.Context, match func(string) bool, all bool) error {
	if all {
		return s.metaStream.Purge(ctx)
	}
	subjs, err := subjects(ctx, s.metaStream, s.prefix+".k.>")
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, subj := range subjs {
		tok, _, _ := strings.Cut(strings.TrimPrefix(subj, s.prefix+".k."), ".")
		if done[tok] {
			continue
		}
		done[tok] = true
		ns, err := dec(tok)
		if err != nil || !match(ns) {
			continue
		}
		if err := s.metaStream.Purge(ctx, jetstream.WithPurgeSubject(s.prefix+".k."+tok+".>")); err != nil {
			return err
		}
	}
	return nil
}
