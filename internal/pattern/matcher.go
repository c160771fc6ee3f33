package pattern

import (
	"sort"
	"strings"
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

type ruleEntry struct {
	id string
	c  *compiled
}

// condInfo is one field of one branch.
type condInfo struct {
	branch   int32
	field    int32
	optional bool // also satisfied when the field is absent
}

// branchInfo is one conjunction of one rule.
type branchInfo struct {
	rule     int32
	required int32   // conditions that must be hit by a value
	conds    []int32 // all its conditions
	optional []int32 // conditions also satisfied by absence (exists:false)
}

// snapshot is an immutable compiled rule set.
type snapshot struct {
	root     *pathNode
	fields   []*fieldIndex
	conds    []condInfo
	branches []branchInfo
	always   []int32 // branches with no required condition
	rules    []string
	hasArray bool
}

func buildSnapshot(rules []ruleEntry) *snapshot {
	sn := &snapshot{root: &pathNode{field: -1}}
	fieldIDs := map[string]int32{}
	fieldOf := func(path string) int32 {
		if id, ok := fieldIDs[path]; ok {
			return id
		}
		id := int32(len(sn.fields))
		fieldIDs[path] = id
		sn.fields = append(sn.fields, &fieldIndex{})
		n := sn.root
		for _, seg := range strings.Split(path, ".") {
			if n.children == nil {
				n.children = map[string]*pathNode{}
			}
			c := n.children[seg]
			if c == nil {
				c = &pathNode{field: -1}
				n.children[seg] = c
			}
			n = c
		}
		n.field = id
		return id
	}
	for ri, r := range rules {
		sn.rules = append(sn.rules, r.id)
		for _, b := range r.c.branches {
			bi := int32(len(sn.branches))
			info := branchInfo{rule: int32(ri)}
			for fi := range b.fields {
				f := &b.fields[fi]
				field := fieldOf(f.path)
				cond := int32(len(sn.conds))
				sn.conds = append(sn.conds, condInfo{branch: bi, field: field, optional: f.absent})
				info.conds = append(info.conds, cond)
				if f.absent {
					info.optional = append(info.optional, cond)
				} else {
					info.required++
				}
				idx := sn.fields[field]
				for pi := range f.preds {
					idx.addPred(&f.preds[pi], cond)
				}
			}
			if info.required == 0 {
				sn.always = append(sn.always, bi)
			}
			sn.branches = append(sn.branches, info)
		}
	}
	for _, f := range sn.fields {
		f.finish()
	}
	return sn
}

// scratch is the per-Match working memory, pooled so that matching does not
// allocate. Arrays indexed by condition, branch or field are stamped with an
// epoch instead of being cleared.
type scratch struct {
	epoch      uint32
	size       [3]int // conds, branches, fields the arrays were sized for
	condStamp  []uint32
	condHead   []int32 // first hit of a condition (valid when stamped)
	condLeaf   []uint32
	leafSerial uint32
	brStamp    []uint32
	brCount    []int32
	seen       []uint32 // field has a value (for exists:false)
	ruleStamp  []uint32

	hits       []hitRec
	candidates []int32
	arr        []int32 // (array id, index) pairs of the arrays around the current value
	arrays     int32
	trails     []int32 // flat (array id, index) pairs of recorded leaves
	anyTrail   bool

	out  []int32
	key  []byte
	fold []byte
	str  []byte
	tmp  []int32
	excl []int32

	abMark  []uint32
	abEpoch uint32

	choice []int32
}

// hitRec records that a leaf satisfied a condition; hits of the same
// condition are chained through next.
type hitRec struct {
	next       int32
	trailStart int32
	trailLen   int32
}

func (st *scratch) reset(sn *snapshot) {
	nc, nb, nf := len(sn.conds), len(sn.branches), len(sn.fields)
	if st.size != [3]int{nc, nb, nf} {
		grow := func(s []uint32, n int) []uint32 {
			if cap(s) < n {
				return make([]uint32, n)
			}
			s = s[:n]
			clear(s)
			return s
		}
		st.condStamp = grow(st.condStamp, nc)
		if cap(st.condHead) < nc {
			st.condHead = make([]int32, nc)
		}
		st.condHead = st.condHead[:nc]
		st.condLeaf = grow(st.condLeaf, nc)
		st.brStamp = grow(st.brStamp, nb)
		if cap(st.brCount) < nb {
			st.brCount = make([]int32, nb)
		}
		st.brCount = st.brCount[:nb]
		st.seen = grow(st.seen, nf)
		st.ruleStamp = grow(st.ruleStamp, len(sn.rules))
		st.size = [3]int{nc, nb, nf}
		st.epoch = 0
	}
	st.epoch++
	if st.epoch == 0 { // wrapped: clear everything
		clear(st.condStamp)
		clear(st.brStamp)
		clear(st.seen)
		clear(st.ruleStamp)
		st.epoch = 1
	}
	if len(st.ruleStamp) < len(sn.rules) {
		st.ruleStamp = make([]uint32, len(sn.rules))
	}
	st.hits = st.hits[:0]
	st.candidates = st.candidates[:0]
	st.arr = st.arr[:0]
	st.arrays = 0
	st.trails = st.trails[:0]
	st.anyTrail = false
}

func (st *scratch) nextArray() int32 {
	st.arrays++
	return st.arrays
}

// leaf evaluates one value at a field and records the conditions it hits.
func (st *scratch) leaf(sn *snapshot, field int32, kind int, v []byte) {
	st.seen[field] = st.epoch
	st.leafSerial++
	if st.leafSerial == 0 {
		clear(st.condLeaf)
		st.leafSerial = 1
	}
	out := sn.fields[field].eval(st, kind, v, st.out[:0])
	st.out = out
	if len(out) == 0 {
		return
	}
	trailStart, trailLen := int32(len(st.trails)), int32(len(st.arr))
	if trailLen > 0 {
		st.trails = append(st.trails, st.arr...)
		st.anyTrail = true
	}
	for _, cond := range out {
		h := int32(len(st.hits))
		if st.condStamp[cond] != st.epoch {
			st.condStamp[cond] = st.epoch
			st.condHead[cond] = -1
			ci := sn.conds[cond]
			b := ci.branch
			if st.brStamp[b] != st.epoch {
				st.brStamp[b] = st.epoch
				st.brCount[b] = 0
			}
			if !ci.optional {
				st.brCount[b]++
				if st.brCount[b] == sn.branches[b].required {
					st.candidates = append(st.candidates, b)
				}
			}
		} else if st.condLeaf[cond] == st.leafSerial {
			continue // this value already satisfied another alternative
		}
		st.condLeaf[cond] = st.leafSerial
		st.hits = append(st.hits, hitRec{next: st.condHead[cond], trailStart: trailStart, trailLen: trailLen})
		st.condHead[cond] = h
	}
}

func (sn *snapshot) match(st *scratch, dst []string, event []byte) ([]string, error) {
	st.reset(sn)
	w := walker{data: event, sn: sn, st: st}
	w.run(sn.root)
	if w.err != nil {
		return dst, w.err
	}
	for _, b := range st.candidates {
		dst = sn.finishBranch(st, b, dst)
	}
	for _, b := range sn.always {
		dst = sn.finishBranch(st, b, dst)
	}
	return dst, nil
}

// finishBranch checks the optional conditions and array consistency of a
// branch whose required conditions are all hit, and reports its rule.
func (sn *snapshot) finishBranch(st *scratch, b int32, dst []string) []string {
	br := &sn.branches[b]
	if st.ruleStamp[br.rule] == st.epoch {
		return dst
	}
	for _, c := range br.optional {
		if st.condStamp[c] != st.epoch && st.seen[sn.conds[c].field] == st.epoch {
			return dst // present but no value satisfies it
		}
	}
	if st.anyTrail && !st.consistent(br.conds) {
		return dst
	}
	st.ruleStamp[br.rule] = st.epoch
	return insertSorted(dst, sn.rules[br.rule])
}

// insertSorted keeps the result in id order without allocating beyond dst.
func insertSorted(dst []string, id string) []string {
	dst = append(dst, id)
	for i := len(dst) - 1; i > 0 && dst[i-1] > dst[i]; i-- {
		dst[i-1], dst[i] = dst[i], dst[i-1]
	}
	return dst
}

// consistent reports whether the branch's conditions can be satisfied by
// values that agree on the element of every array they share: AWS matches
// fields inside one array element together, never across elements.
func (st *scratch) consistent(conds []int32) bool {
	st.choice = st.choice[:0]
	return st.search(conds, 0)
}

func (st *scratch) search(conds []int32, i int) bool {
	if i == len(conds) {
		return true
	}
	c := conds[i]
	if st.condStamp[c] != st.epoch {
		return st.search(conds, i+1) // satisfied by absence
	}
	for h := st.condHead[c]; h >= 0; h = st.hits[h].next {
		ok := true
		for _, o := range st.choice {
			if !st.compatible(h, o) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		st.choice = append(st.choice, h)
		if st.search(conds, i+1) {
			return true
		}
		st.choice = st.choice[:len(st.choice)-1]
	}
	return false
}

func (st *scratch) compatible(a, b int32) bool {
	ha, hb := st.hits[a], st.hits[b]
	ta := st.trails[ha.trailStart : ha.trailStart+ha.trailLen]
	tb := st.trails[hb.trailStart : hb.trailStart+hb.trailLen]
	for i := 0; i < len(ta); i += 2 {
		for j := 0; j < len(tb); j += 2 {
			if ta[i] == tb[j] && ta[i+1] != tb[j+1] {
				return false
			}
		}
	}
	return true
}
