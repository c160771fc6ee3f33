package pattern

import (
	"sort"
	"sync"
	"sync/atomic"
)

// Matcher matches events against a set of named EventBridge patterns, all
// compiled into one automaton: matching walks the event once and costs about
// the same for one rule as for thousands (see the package documentation).
//
// The zero value is not usable; call NewMatcher. A Matcher is safe for
// concurrent use: Match may run while Add and Remove change the rule set.
// Changes are copy-on-write: the first Match after a change rebuilds the
// index (rules added in a burst cost one rebuild).
type Matcher struct {
	mu    sync.Mutex
	rules map[string]*compiled // guarded by mu
	dirty atomic.Bool
	snap  atomic.Pointer[snapshot]
	pool  sync.Pool // *scratch
	d     dialect
}

// NewMatcher returns an empty Matcher for EventBridge patterns.
func NewMatcher() *Matcher {
	m := &Matcher{rules: map[string]*compiled{}}
	m.snap.Store(buildSnapshot(nil))
	return m
}

// Add compiles pat and adds it under id, replacing any pattern with the same
// id. It returns an *InvalidPatternError when pat is not a valid pattern, in
// which case the rule set is unchanged.
func (m *Matcher) Add(id string, pat []byte) error {
	c, err := compilePattern(pat, m.d)
	if err != nil {
		return toEventBridgeError(err, pat)
	}
	m.addCompiled(id, c)
	return nil
}

func (m *Matcher) addCompiled(id string, c *compiled) {
	m.mu.Lock()
	m.rules[id] = c
	m.dirty.Store(true)
	m.mu.Unlock()
}

// Remove deletes the pattern with the given id, if any.
func (m *Matcher) Remove(id string) {
	m.mu.Lock()
	if _, ok := m.rules[id]; ok {
		delete(m.rules, id)
		m.dirty.Store(true)
	}
	m.mu.Unlock()
}

// Len returns the number of patterns.
func (m *Matcher) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rules)
}

func (m *Matcher) current() *snapshot {
	if m.dirty.Load() {
		m.mu.Lock()
		if m.dirty.Load() {
			ids := make([]string, 0, len(m.rules))
			for id := range m.rules {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			rules := make([]ruleEntry, len(ids))
			for i, id := range ids {
				rules[i] = ruleEntry{id, m.rules[id]}
			}
			m.snap.Store(buildSnapshot(rules))
			m.dirty.Store(false)
		}
		m.mu.Unlock()
	}
	return m.snap.Load()
}

// Match returns the ids of the patterns that match event, in id order. The
// error is non-nil only when event is not a valid JSON object.
func (m *Matcher) Match(event []byte) ([]string, error) {
	return m.MatchInto(nil, event)
}

// MatchInto is Match appending to dst; with a dst of enough capacity it does
// not allocate.
func (m *Matcher) MatchInto(dst []string, event []byte) ([]string, error) {
	sn := m.current()
	st, _ := m.pool.Get().(*scratch)
	if st == nil {
		st = &scratch{}
	}
	dst, err := sn.match(st, dst, event)
	m.pool.Put(st)
	return dst, err
}

// MatchValid is Match for an event the caller has already validated as a
// JSON object (EventBridge PutEvents, SNS and Lambda filters check the event
// once when it arrives). It returns the same ids as Match on every valid
// event, but reads only the parts of the event that the rules look at:
// subtrees and values no rule names are skipped without being checked. On
// input that is not a valid JSON object the result is unspecified (it may
// match or not), but MatchValid never panics and never reads outside event.
// Use Match for untrusted input.
func (m *Matcher) MatchValid(event []byte) []string {
	return m.MatchValidInto(nil, event)
}

// MatchValidInto is MatchValid appending to dst; with a dst of enough
// capacity it does not allocate.
func (m *Matcher) MatchValidInto(dst []string, event []byte) []string {
	sn := m.current()
	st, _ := m.pool.Get().(*scratch)
	if st == nil {
		st = &scratch{}
	}
	dst = sn.matchValid(st, dst, event)
	m.pool.Put(st)
	return dst
}

// Validate checks an EventBridge event pattern. It returns nil or an
// *InvalidPatternError with the text EventBridge would return.
func Validate(pat []byte) error {
	if _, err := compilePattern(pat, dialectEventBridge); err != nil {
		return toEventBridgeError(err, pat)
	}
	return nil
}

// Test reports whether event matches pat, as EventBridge's TestEventPattern.
// The error is an *InvalidPatternError for a bad pattern, or an error
// matching ErrInvalidEvent when event is not a JSON object.
func Test(pat, event []byte) (bool, error) {
	c, cerr := compilePattern(pat, dialectEventBridge)
	if cerr != nil {
		return false, toEventBridgeError(cerr, pat)
	}
	sn := buildSnapshot([]ruleEntry{{"p", c}})
	out, err := sn.match(&scratch{}, nil, event)
	if err != nil {
		return false, err
	}
	return len(out) == 1, nil
}

func toEventBridgeError(err *compileError, pat []byte) *InvalidPatternError {
	return &InvalidPatternError{
		Reason:  err.reason,
		Message: eventBridgePrefix + err.reason,
		Line:    err.line,
		Column:  err.column,
		Repeat:  err.repeat,
		source:  string(pat),
	}
}
