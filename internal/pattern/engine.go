package pattern

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// This file holds the compiled rule set (snapshot) and the matching that
// follows the walk of an event. See the package documentation for the
// design: each branch is indexed under one anchor condition, its other
// conditions are verified only when the anchor hits.

type ruleEntry struct {
	id string
	c  *compiled
}

// ucond is a distinct condition: one field with its alternatives. Branches
// that test a field the same way share one ucond, so its result is computed
// at most once per event.
type ucond struct {
	field    int32
	preds    []pred
	absentOK bool  // one alternative is exists:false: absence satisfies it
	indexed  bool  // some branch anchors on it: its hits come from the field index
	root     int32 // trie node of the branches anchored on it, or -1
	refs     int32
	cost     float64
}

// trieNode is a state of the verification trie. Each branch is a path from
// the root of its anchor's trie: its conditions in increasing cost. A node
// is entered when its condition holds; the branches ending there match.
// Branches that share their cheapest conditions share nodes, so a failed
// condition rejects all of them at once and a held one is checked once.
type trieNode struct {
	cond     int32   // ucond checked on entering
	children []int32 // nodes
	solo     []int32 // rules of one branch ending here (reached once per event)
	rules    []int32 // rules of several branches ending here
	branches []int32 // the branches ending here
	multi    bool    // some branch ending here has several conditions (array check)
}

// branchInfo is one conjunction of one rule.
type branchInfo struct {
	rule  int32
	all   []int32 // its conditions, cheapest first
	multi bool    // several conditions: values from arrays must agree on elements
}

// snapshot is an immutable compiled rule set.
type snapshot struct {
	root     *pathNode
	fields   []*fieldIndex
	uconds   []ucond
	nodes    []trieNode
	branches []branchInfo
	always   []int32 // branches with no required condition: verified on every event
	rules    []string
	// keyNames are the distinct member names of the path automaton, when
	// there are few (MatchValid stops walking once none can follow).
	keyNames []string

	// Compact copies of what matching reads, so that a match touches few
	// cache lines: dense[n] is node n, its children live in ids and its
	// rules in ruleKeys and ruleNames; ucInfo[u] is the part of uconds[u]
	// that the checks read first.
	dense  []denseNode
	ids    []int32
	ucInfo []ucondInfo
	kidIdx []kidIndex
	// ruleKeys[k] is rule<<32 | k for the rule listed at k, ruleNames[k]
	// its id: a node's matches are copied from consecutive entries.
	ruleKeys  []uint64
	ruleNames []string
	// ucCheck[u] is a fast check of condition u (0: none): a kind
	// (checkStrIn, checkStrNotIn, checkFoldIn) and the offset in checkData
	// of the strings it compares with, packed (count, then length and
	// bytes of each), so that verifying reads one place instead of
	// following the condition's alternatives.
	ucCheck   []uint32
	checkData []byte
}

// Kinds of fast checks (snapshot.ucCheck).
const (
	checkStrIn    = 1 << 30 // a value of the field is one of the strings
	checkStrNotIn = 2 << 30 // a value of the field is not one of the strings
	checkFoldIn   = 3 << 30 // a value of the field, case-folded, is one of the strings
	checkKinds    = 3 << 30
	maxCheckData  = 1 << 30
)

// noName marks a match key whose rule is not listed in ruleNames: its id
// is read from snapshot.rules. A key whose low half has ucondName set
// holds a condition whose ucondInfo names the rule.
const (
	noName    = 1<<32 - 1
	ucondName = 1 << 31
)

// matchKey is the match key of a rule found without its node's lists.
func matchKey(rule int32) uint64 { return uint64(rule)<<32 | noName }

// denseNode is a trie node as matching reads it: ruleKeys[solo:rules] are
// the rules of one branch ending here, ruleKeys[rules:rulesEnd] the rules
// of several branches, ids[kids:end] pairs of (child node, its condition).
type denseNode struct {
	solo, rules, rulesEnd, kids, end int32
	// kidIdx[idx:idxEnd] index more of the node's children by value.
	idx, idxEnd int32
	multi       bool
}

// kidIndex finds the children of a trie node whose conditions are exact
// strings, prefixes or suffixes on one field from the field's values, with
// one lookup (exact) or one search (prefixes, suffixes) per value instead
// of one check per child: a node can have a child per distinct value of
// its branches' next condition.
type kidIndex struct {
	field              int32
	byValue            *strTable  // value → child nodes
	byPrefix, bySuffix *prefixSet // prefix (suffix) → child nodes
}

// find appends the children whose conditions the string v satisfies (a
// child can appear more than once); rev is scratch space.
func (ki *kidIndex) find(v []byte, out []int32, rev *[]byte) []int32 {
	if ki.byValue != nil {
		out = ki.byValue.appendIDs(out, v)
	}
	if ki.byPrefix != nil {
		out = ki.byPrefix.appendIDs(v, out, rev)
	}
	if ki.bySuffix != nil {
		out = ki.bySuffix.appendIDs(v, out, rev)
	}
	return out
}

// minIndexedKids is the fewest children on one field worth indexing.
const minIndexedKids = 4

// ucondInfo is the start of a ucond: its field, trie root and flags.
// When the root is a leaf with the one rule of one single-condition
// branch (a common anchor), rule is that rule (else -1) and name its id: a
// hit matches it without reading the trie.
type ucondInfo struct {
	field, root, rule int32
	absentOK, indexed bool
	name              string
	node              denseNode // dense[root], read with the rest on a hit
}

// maxKeyNames bounds keyNames: searching the rest of an event for each
// name must stay cheaper than walking it.
const maxKeyNames = 8

// predWeight estimates how many distinct event values one alternative
// accepts, relative to an exact value: the anchor of a branch is its
// condition with the lowest weight times the number of branches sharing it.
func predWeight(p *pred) float64 {
	switch p.kind {
	case pkExact, pkFold:
		return 1
	case pkPrefix, pkSuffix, pkPrefixFold, pkSuffixFold:
		switch n := len(p.text); {
		case n == 0:
			return 64
		case n < 3:
			return 8
		}
		return 2
	case pkNumeric:
		switch {
		case p.rng.lo == p.rng.hi:
			return 1
		case math.IsInf(p.rng.lo, 0) || math.IsInf(p.rng.hi, 0):
			return 32
		}
		return 4
	case pkCIDR:
		if p.ip.lo == p.ip.hi {
			return 1
		}
		return 4
	case pkWildcard:
		if len(p.glob.literalPrefix()) >= 3 {
			return 8
		}
		return 64
	}
	return 64 // exists, anything-but
}

// predSig is a canonical text of an alternative, to find shared conditions.
func predSig(b *strings.Builder, p *pred) {
	fmt.Fprintf(b, "%d:%q", p.kind, p.text)
	switch p.kind {
	case pkWildcard:
		fmt.Fprintf(b, ":%q", p.glob.source)
	case pkNumeric:
		fmt.Fprintf(b, ":%v:%v:%v:%v", math.Float64bits(p.rng.lo), p.rng.loOpen, math.Float64bits(p.rng.hi), p.rng.hiOpen)
	case pkCIDR:
		fmt.Fprintf(b, ":%s:%s:%d", p.ip.lo, p.ip.hi, p.ip.bits)
	case pkAnythingBut:
		fmt.Fprintf(b, ":%d:%q", p.ab.kind, p.ab.values)
	}
	b.WriteByte(';')
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
	ucondIDs := map[string]int32{}
	var sig strings.Builder
	var conds [][]int32 // per branch
	for ri, r := range rules {
		sn.rules = append(sn.rules, r.id)
		for _, b := range r.c.branches {
			var cs []int32
			for fi := range b.fields {
				f := &b.fields[fi]
				field := fieldOf(f.path)
				sig.Reset()
				fmt.Fprintf(&sig, "%d|%v|", field, f.absent)
				for pi := range f.preds {
					predSig(&sig, &f.preds[pi])
				}
				u, ok := ucondIDs[sig.String()]
				if !ok {
					u = int32(len(sn.uconds))
					ucondIDs[sig.String()] = u
					sn.uconds = append(sn.uconds, ucond{field: field, preds: f.preds, absentOK: f.absent})
				}
				sn.uconds[u].refs++
				cs = append(cs, u)
			}
			conds = append(conds, cs)
			sn.branches = append(sn.branches, branchInfo{rule: int32(ri)})
		}
	}
	for i := range sn.uconds {
		u := &sn.uconds[i]
		w := 0.0
		for pi := range u.preds {
			w += predWeight(&u.preds[pi])
		}
		u.cost = w * float64(u.refs)
	}
	childOf := map[[2]int32]int32{} // (parent node, ucond) → node
	for i := range sn.uconds {
		sn.uconds[i].root = -1
	}
	for bi, cs := range conds {
		// Order the conditions: required ones first, then by cost.
		slices.SortStableFunc(cs, func(a, b int32) int {
			ua, ub := &sn.uconds[a], &sn.uconds[b]
			if ua.absentOK != ub.absentOK {
				if ua.absentOK {
					return 1
				}
				return -1
			}
			switch {
			case ua.cost < ub.cost:
				return -1
			case ua.cost > ub.cost:
				return 1
			}
			return int(a - b)
		})
		br := &sn.branches[bi]
		br.all = cs
		br.multi = len(cs) > 1
		if br.multi {
			for _, u := range cs {
				sn.fields[sn.uconds[u].field].record = true
			}
		}
		if len(cs) == 0 || sn.uconds[cs[0]].absentOK {
			sn.always = append(sn.always, int32(bi))
			for _, u := range cs {
				sn.fields[sn.uconds[u].field].record = true
			}
			continue
		}
		ua := &sn.uconds[cs[0]]
		if ua.root < 0 {
			ua.indexed = true
			ua.root = int32(len(sn.nodes))
			sn.nodes = append(sn.nodes, trieNode{cond: cs[0]})
		}
		n := ua.root
		for _, u := range cs[1:] {
			c, ok := childOf[[2]int32{n, u}]
			if !ok {
				c = int32(len(sn.nodes))
				childOf[[2]int32{n, u}] = c
				sn.nodes = append(sn.nodes, trieNode{cond: u})
				sn.nodes[n].children = append(sn.nodes[n].children, c)
			}
			n = c
		}
		node := &sn.nodes[n]
		if len(rules[br.rule].c.branches) == 1 {
			node.solo = append(node.solo, br.rule)
		} else {
			node.rules = append(node.rules, br.rule)
		}
		node.branches = append(node.branches, int32(bi))
		node.multi = node.multi || br.multi
	}
	for ui := range sn.uconds {
		u := &sn.uconds[ui]
		if !u.indexed {
			continue
		}
		fi := sn.fields[u.field]
		fi.anchored = true
		for pi := range u.preds {
			fi.addPred(&u.preds[pi], int32(ui))
		}
	}
	for _, f := range sn.fields {
		f.finish()
	}
	sn.root.markFrames(sn.fields)
	sn.root.seal(sn.fields)
	sn.densify()
	names := map[string]bool{}
	sn.root.collectNames(names)
	if len(names) <= maxKeyNames {
		for name := range names {
			sn.keyNames = append(sn.keyNames, name)
		}
		sort.Strings(sn.keyNames)
	}
	return sn
}

// densify builds the compact tables matching reads (dense, ids, ucInfo).
func (sn *snapshot) densify() {
	sn.dense = make([]denseNode, len(sn.nodes))
	sn.ids = sn.ids[:0]
	sn.ruleKeys, sn.ruleNames = sn.ruleKeys[:0], sn.ruleNames[:0]
	for i := range sn.nodes {
		n := &sn.nodes[i]
		d := &sn.dense[i]
		d.multi = n.multi
		d.solo = int32(len(sn.ruleKeys))
		sn.addRules(n.solo)
		d.rules = int32(len(sn.ruleKeys))
		sn.addRules(n.rules)
		d.rulesEnd = int32(len(sn.ruleKeys))
		d.kids = int32(len(sn.ids))
		// Children whose condition is one or more exact strings, prefixes
		// or suffixes, by field.
		byField := map[int32][]int32{}
		for _, c := range n.children {
			if u := &sn.uconds[sn.nodes[c].cond]; stringKeyed(u) {
				byField[u.field] = append(byField[u.field], c)
			}
		}
		indexed := map[int32]bool{}
		d.idx = int32(len(sn.kidIdx))
		for _, f := range sortedKeys(byField) {
			kids := byField[f]
			if len(kids) < minIndexedKids {
				continue
			}
			var by [3]map[string][]int32 // exact, prefix, suffix
			for _, c := range kids {
				indexed[c] = true
				for _, p := range sn.uconds[sn.nodes[c].cond].preds {
					i, key := 0, p.text
					switch p.kind {
					case pkExact:
						key = p.text[1:]
					case pkPrefix:
						i = 1
					case pkSuffix:
						i = 2
					}
					if by[i] == nil {
						by[i] = map[string][]int32{}
					}
					by[i][key] = append(by[i][key], c)
				}
			}
			sn.kidIdx = append(sn.kidIdx, kidIndex{field: f, byValue: newStrTable(by[0]),
				byPrefix: newPrefixSet(by[1], false), bySuffix: newPrefixSet(by[2], true)})
		}
		d.idxEnd = int32(len(sn.kidIdx))
		for _, c := range n.children {
			if !indexed[c] {
				sn.ids = append(sn.ids, c, sn.nodes[c].cond)
			}
		}
		d.end = int32(len(sn.ids))
	}
	sn.ucInfo = make([]ucondInfo, len(sn.uconds))
	sn.ucCheck = make([]uint32, len(sn.uconds))
	sn.checkData = sn.checkData[:0]
	for i := range sn.uconds {
		u := &sn.uconds[i]
		sn.ucInfo[i] = ucondInfo{field: u.field, root: u.root, rule: -1, absentOK: u.absentOK, indexed: u.indexed}
		if u.root >= 0 {
			sn.ucInfo[i].node = sn.dense[u.root]
			if n := &sn.nodes[u.root]; len(n.solo) == 1 && len(n.rules) == 0 && len(n.children) == 0 && !n.multi {
				sn.ucInfo[i].rule, sn.ucInfo[i].name = n.solo[0], sn.rules[n.solo[0]]
			}
		}
		sn.ucCheck[i] = sn.fastCheck(u)
	}
}

// fastCheck packs the strings of a condition that holds when the field
// has a string among (or a value outside) a short list, and returns its
// ucCheck entry (0 for other conditions).
func (sn *snapshot) fastCheck(u *ucond) uint32 {
	if u.absentOK || len(u.preds) == 0 || len(sn.checkData) >= maxCheckData-1<<16 {
		return 0
	}
	var kind uint32
	var list []string // typed keys (checkStrIn, checkStrNotIn) or folded texts
	for i := range u.preds {
		p := &u.preds[i]
		k := uint32(0)
		switch {
		case p.kind == pkExact:
			k = checkStrIn
			list = append(list, p.text)
		case p.kind == pkFold:
			k = checkFoldIn
			list = append(list, p.text)
		case len(u.preds) == 1 && p.kind == pkAnythingBut && p.ab.kind == pkExact:
			k = checkStrNotIn
			list = append(list[:0:0], p.ab.values...)
		}
		if k == 0 || (kind != 0 && k != kind) {
			return 0
		}
		kind = k
	}
	if len(list) > 255 {
		return 0
	}
	for i, k := range list {
		if kind != checkFoldIn {
			if k[0] != keyString {
				return 0
			}
			list[i] = k[1:]
		}
		if len(list[i]) > 255 {
			return 0
		}
	}
	off := len(sn.checkData)
	sn.checkData = append(sn.checkData, byte(len(list)))
	for _, k := range list {
		sn.checkData = append(sn.checkData, byte(len(k)))
		sn.checkData = append(sn.checkData, k...)
	}
	return kind | uint32(off)
}

// checkStrings runs a fast check (ucCheck entry c) on the values recorded
// for field: as leafOK would with the condition's alternatives.
func (st *scratch) checkStrings(data []byte, c uint32, field int32) bool {
	data = data[c&^checkKinds:]
	kind := c & checkKinds
	notIn := kind == checkStrNotIn
	for l := st.head[field]; l >= 0; l = st.leaves[l].next {
		lr := &st.leaves[l]
		switch {
		case lr.kind != leafString:
			if notIn {
				return true // no string list excludes a non-string
			}
		case kind == checkFoldIn:
			if inList(data, unsafeBytes(st.folded(l))) {
				return true
			}
		case inList(data, lr.val) != notIn:
			return true
		}
	}
	return false
}

// inList reports whether v is one of the packed strings at data.
func inList(data, v []byte) bool {
	p := 1
	for range int(data[0]) {
		n := int(data[p])
		if n == len(v) && unsafeString(data[p+1:p+1+n]) == unsafeString(v) {
			return true
		}
		p += 1 + n
	}
	return false
}

// addRules lists rules in ruleKeys and ruleNames.
func (sn *snapshot) addRules(rules []int32) {
	for _, r := range rules {
		sn.ruleKeys = append(sn.ruleKeys, uint64(r)<<32|uint64(len(sn.ruleKeys)))
		sn.ruleNames = append(sn.ruleNames, sn.rules[r])
	}
}

// stringKeyed reports whether a condition holds exactly when its field has
// a string equal to, or starting or ending with, one of a set of strings.
func stringKeyed(u *ucond) bool {
	if u.absentOK || len(u.preds) == 0 {
		return false
	}
	for i := range u.preds {
		switch p := &u.preds[i]; p.kind {
		case pkPrefix, pkSuffix:
		case pkExact:
			if p.text[0] != keyString {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func sortedKeys(m map[int32][]int32) []int32 {
	keys := make([]int32, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// leafRec is one value recorded at a field that some branch verifies.
// Derived forms (number key, fold, float) are computed on first use.
type leafRec struct {
	val   []byte
	next  int32 // previous value of the same field, -1 at the end
	frame int32 // innermost array element around the value, -1 if none
	kind  uint8
	have  uint8 // which derived forms are computed
}

// leafDerived holds the derived forms of a recorded value (valid per the
// value's have bits); keys and folds live in the arena.
type leafDerived struct {
	num     float64
	keyOff  int32
	keyLen  int32
	foldOff int32
	foldLen int32
}

// arrFrame is one array element around the values being walked: the array,
// the element's index and the enclosing frame (-1: none).
type arrFrame struct {
	array, index, parent int32
}

const (
	haveNum = 1 << iota
	numOK
	haveKey
	haveFold
)

// scratch is the per-Match working memory, pooled so that matching does not
// allocate. Arrays indexed by condition, field or rule are stamped with an
// epoch instead of being cleared.
type scratch struct {
	epoch uint32
	sizes [4]int // uconds, fields, rules, trie nodes the arrays were sized for

	uState    []uint32 // epoch<<1 | result: ucond result known this event
	hits      []int32  // anchored uconds hit, in order
	seen      []uint32 // field has a value (for exists:false)
	head      []int32  // last recorded value of the field (valid when seen)
	trailSeen []uint32 // field has a recorded value inside an array
	ruleStamp []uint32
	nodeStamp []uint32 // trie node entered through a kidIndex
	matched   []uint64 // match keys (ruleKeys, matchKey)
	// ruleKeys[runLo:runHi] are matches too: the longest list of rules
	// found at one node is merged into the output without being copied
	// into matched or sorted.
	runLo, runHi int32

	leaves   []leafRec
	derived  []leafDerived
	arena    []byte
	frames   []arrFrame
	cur      int32 // current frame, -1 outside arrays
	arrays   int32
	anyTrail bool // some recorded value is inside an array

	out  []int32
	kids []int32 // children found by kidIndex
	rev  []byte  // a value reversed, to find suffixes
	key  []byte
	fold []byte
	str  []byte
	tmp  []int32
	excl []int32

	abMark  []uint32
	abEpoch uint32

	optStart []int32
	opts     []int32
	choice   []int32

	// Outcomes of MatchValid's search for member names in the rest of an
	// event, for the snapshot restSn: when it keeps failing (the names
	// the rules test come late in the events), it is tried only now and
	// then.
	restSn           *snapshot
	restOK, restFail uint32
	restTries        uint32
}

// tryRest reports whether MatchValid should search the rest of the event
// for member names.
func (st *scratch) tryRest(sn *snapshot) bool {
	if st.restSn != sn {
		st.restSn, st.restOK, st.restFail, st.restTries = sn, 0, 0, 0
	}
	st.restTries++
	return st.restFail <= 4*st.restOK+16 || st.restTries%64 == 0
}

// restOutcome records the result of a search of the rest of an event.
func (st *scratch) restOutcome(ok bool) {
	if ok {
		st.restOK++
	} else {
		st.restFail++
	}
	if st.restOK+st.restFail >= 1<<16 { // keep the recent past
		st.restOK /= 2
		st.restFail /= 2
	}
}

func (st *scratch) reset(sn *snapshot) {
	nu, nf, nr, nn := len(sn.uconds), len(sn.fields), len(sn.rules), len(sn.nodes)
	if st.sizes != [4]int{nu, nf, nr, nn} {
		grow := func(s []uint32, n int) []uint32 {
			if cap(s) < n {
				return make([]uint32, n)
			}
			s = s[:n]
			clear(s)
			return s
		}
		st.uState = grow(st.uState, nu)
		st.seen = grow(st.seen, nf)
		st.trailSeen = grow(st.trailSeen, nf)
		if cap(st.head) < nf {
			st.head = make([]int32, nf)
		}
		st.head = st.head[:nf]
		st.ruleStamp = grow(st.ruleStamp, nr)
		st.nodeStamp = grow(st.nodeStamp, nn)
		st.sizes = [4]int{nu, nf, nr, nn}
		st.epoch = 0
	}
	st.epoch++
	if st.epoch == 1<<31 { // wrapped (uState keeps epoch<<1): clear everything
		clear(st.uState)
		clear(st.seen)
		clear(st.trailSeen)
		clear(st.ruleStamp)
		clear(st.nodeStamp)
		st.epoch = 1
	}
	st.hits = st.hits[:0]
	st.kids = st.kids[:0]
	st.matched = st.matched[:0]
	st.runLo, st.runHi = 0, 0
	st.leaves = st.leaves[:0]
	st.arena = st.arena[:0]
	st.frames = st.frames[:0]
	st.cur = -1
	st.arrays = 0
	st.anyTrail = false
}

func (st *scratch) nextArray() int32 {
	st.arrays++
	return st.arrays
}

// leaf takes one value at the field of node n: records it when some branch
// verifies the field (only recorded fields track whether they were seen:
// no other field is ever checked for absence), and probes the field's
// anchor index. stable says v outlives the
// walk (a view of the event); otherwise it is copied when recorded. num is
// a number's value when the walker converted it.
func (st *scratch) leaf(sn *snapshot, n *pathNode, kind int, v []byte, stable bool, num numValue) {
	field := n.field
	e := st.epoch
	if n.record {
		if st.seen[field] != e {
			st.seen[field] = e
			st.head[field] = -1
		}
		if !stable && len(v) > 0 {
			off := len(st.arena)
			st.arena = append(st.arena, v...)
			v = st.arena[off:len(st.arena):len(st.arena)]
		}
		l := leafRec{val: v, next: st.head[field], kind: uint8(kind), frame: st.cur}
		if st.cur >= 0 {
			st.trailSeen[field] = e
			st.anyTrail = true
		}
		st.head[field] = int32(len(st.leaves))
		st.leaves = append(st.leaves, l)
	}
	if !n.anchored {
		return
	}
	if n.exactStr != nil && kind == leafString {
		st.out = n.exactStr.appendIDs(st.out[:0], v)
	} else {
		st.out = sn.fields[field].eval(st, kind, v, num, st.out[:0])
	}
	st.hit(st.out)
}

// rangeLeaf takes a number at a field whose conditions use numbers only
// through numeric ranges (pathNode.ranges): it probes the range index alone.
func (st *scratch) rangeLeaf(ri *rangeIndex, v []byte, num numValue) {
	if num.ok {
		st.out = ri.queryValue(num.x, st.out[:0])
	} else {
		st.out = ri.queryText(v, st.out[:0])
	}
	if len(st.out) > 0 {
		st.hit(st.out)
	}
}

// hit records the anchored conditions a value satisfies.
func (st *scratch) hit(conds []int32) {
	e := st.epoch
	for _, u := range conds {
		if st.uState[u]>>1 != e {
			st.uState[u] = e<<1 | 1
			st.hits = append(st.hits, u)
		}
	}
}

func (sn *snapshot) match(st *scratch, dst []string, event []byte) ([]string, error) {
	st.reset(sn)
	w := walker{data: event, sn: sn, st: st}
	w.run(sn.root)
	if w.err != nil {
		return dst, w.err
	}
	return sn.collect(st, dst), nil
}

// matchValid is match for events known to be valid JSON (see MatchValid).
func (sn *snapshot) matchValid(st *scratch, dst []string, event []byte) []string {
	st.reset(sn)
	w := validWalker{d: event, sn: sn, st: st}
	w.run(sn.root)
	return sn.collect(st, dst)
}

// collect verifies the candidate branches after a walk and appends the ids
// of the matching rules to dst, keeping dst in id order.
func (sn *snapshot) collect(st *scratch, dst []string) []string {
	for _, u := range st.hits {
		if ui := &sn.ucInfo[u]; ui.rule >= 0 {
			st.matched = append(st.matched, uint64(ui.rule)<<32|ucondName|uint64(u))
		} else {
			sn.visit(st, ui.root, &ui.node)
		}
	}
	for _, b := range sn.always {
		sn.finishBranch(st, b)
	}
	run := sn.ruleKeys[st.runLo:st.runHi]
	if len(st.matched)+len(run) == 0 {
		return dst
	}
	// Rules are numbered in id order, and match keys start with the rule;
	// a node's rules are listed in order, so the matches are often sorted
	// already. The run is merged in.
	if !slices.IsSorted(st.matched) {
		slices.Sort(st.matched)
	}
	prior := len(dst)
	i := 0
	for _, m := range st.matched {
		for ; i < len(run) && run[i] < m; i++ {
			dst = append(dst, sn.ruleNames[st.runLo+int32(i)])
		}
		switch k := uint32(m); {
		case k == noName:
			dst = append(dst, sn.rules[m>>32])
		case k&ucondName != 0:
			dst = append(dst, sn.ucInfo[k&^ucondName].name)
		default:
			dst = append(dst, sn.ruleNames[k])
		}
	}
	dst = append(dst, sn.ruleNames[st.runLo+int32(i):st.runHi]...)
	if prior > 0 && dst[prior-1] > dst[prior] {
		sort.Strings(dst)
	}
	return dst
}

// visit enters a trie node whose condition holds: its branches match, and
// its children whose conditions hold are entered in turn. dn is dense[n]
// (or its copy in the ucondInfo of a root).
func (sn *snapshot) visit(st *scratch, n int32, dn *denseNode) {
	e := st.epoch
	if dn.multi && st.anyTrail {
		for _, b := range sn.nodes[n].branches {
			br := &sn.branches[b]
			if st.ruleStamp[br.rule] != e && st.consistent(sn, br.all) {
				st.ruleStamp[br.rule] = e
				st.matched = append(st.matched, matchKey(br.rule))
			}
		}
	} else {
		if dn.rules-dn.solo > st.runHi-st.runLo {
			st.matched = append(st.matched, sn.ruleKeys[st.runLo:st.runHi]...)
			st.runLo, st.runHi = dn.solo, dn.rules
		} else {
			st.matched = append(st.matched, sn.ruleKeys[dn.solo:dn.rules]...)
		}
		for _, m := range sn.ruleKeys[dn.rules:dn.rulesEnd] {
			if r := m >> 32; st.ruleStamp[r] != e {
				st.ruleStamp[r] = e
				st.matched = append(st.matched, m)
			}
		}
	}
	kids := sn.ids[dn.kids:dn.end]
	for k := 0; k+1 < len(kids); k += 2 {
		if st.condOK(sn, kids[k+1]) {
			sn.visit(st, kids[k], &sn.dense[kids[k]])
		}
	}
	for _, ki := range sn.kidIdx[dn.idx:dn.idxEnd] {
		if st.seen[ki.field] != e {
			continue
		}
		for l := st.head[ki.field]; l >= 0; l = st.leaves[l].next {
			if st.leaves[l].kind != leafString {
				continue
			}
			// st.kids is a stack: the visits below push their own
			// children after these and pop them.
			start := len(st.kids)
			st.kids = ki.find(st.leaves[l].val, st.kids, &st.rev)
			for j := start; j < len(st.kids); j++ {
				if c := st.kids[j]; st.nodeStamp[c] != e { // two equal values find it twice
					st.nodeStamp[c] = e
					sn.visit(st, c, &sn.dense[c])
				}
			}
			st.kids = st.kids[:start]
		}
	}
}

// finishBranch verifies every condition of a branch that has no anchor
// (only exists:false-like conditions) and records its rule when they hold.
func (sn *snapshot) finishBranch(st *scratch, b int32) {
	br := &sn.branches[b]
	if st.ruleStamp[br.rule] == st.epoch {
		return
	}
	for _, u := range br.all {
		if !st.condOK(sn, u) {
			return
		}
	}
	if br.multi && st.anyTrail && !st.consistent(sn, br.all) {
		return
	}
	st.ruleStamp[br.rule] = st.epoch
	st.matched = append(st.matched, matchKey(br.rule))
}

// condOK reports whether the event satisfies a condition, computing it at
// most once per event.
func (st *scratch) condOK(sn *snapshot, u int32) bool {
	e := st.epoch
	if s := st.uState[u]; s>>1 == e {
		return s&1 != 0
	}
	ui := &sn.ucInfo[u]
	res := false
	switch {
	case st.seen[ui.field] != e:
		res = ui.absentOK
	case ui.indexed:
		// Not hit by the index although the field has values.
	case sn.ucCheck[u] != 0:
		res = st.checkStrings(sn.checkData, sn.ucCheck[u], ui.field)
	default:
		uc := &sn.uconds[u]
		for l := st.head[ui.field]; l >= 0; l = st.leaves[l].next {
			if st.leafOK(uc, l) {
				res = true
				break
			}
		}
	}
	st.uState[u] = e << 1
	if res {
		st.uState[u] |= 1
	}
	return res
}

// leafOK reports whether a recorded value satisfies any alternative of uc.
func (st *scratch) leafOK(uc *ucond, l int32) bool {
	for pi := range uc.preds {
		if st.predOK(&uc.preds[pi], l) {
			return true
		}
	}
	return false
}

// derive returns the derived forms of recorded value l.
func (st *scratch) derive(l int32) *leafDerived {
	for int(l) >= len(st.derived) {
		st.derived = append(st.derived, leafDerived{})
	}
	return &st.derived[l]
}

func (st *scratch) numKey(l int32) string {
	lr, d := &st.leaves[l], st.derive(l)
	if lr.have&haveKey == 0 {
		off := len(st.arena)
		st.arena = canonicalNumber(st.arena, lr.val, true)
		d.keyOff, d.keyLen = int32(off), int32(len(st.arena)-off)
		lr.have |= haveKey
	}
	return unsafeString(st.arena[d.keyOff : d.keyOff+d.keyLen])
}

func (st *scratch) folded(l int32) string {
	lr, d := &st.leaves[l], st.derive(l)
	if lr.have&haveFold == 0 {
		off := len(st.arena)
		st.arena = appendFold(st.arena, lr.val)
		d.foldOff, d.foldLen = int32(off), int32(len(st.arena)-off)
		lr.have |= haveFold
	}
	return unsafeString(st.arena[d.foldOff : d.foldOff+d.foldLen])
}

// float is the value of a number for numeric matching; ok is false outside
// AWS's supported range.
func (st *scratch) float(l int32) (float64, bool) {
	lr, d := &st.leaves[l], st.derive(l)
	if lr.have&haveNum == 0 {
		lr.have |= haveNum
		if x, ok := parseComparable(lr.val); ok {
			d.num = x
			lr.have |= numOK
		}
	}
	return d.num, lr.have&numOK != 0
}

// parseComparable parses a JSON number for numeric matching, which AWS
// supports within ±5e9.
func parseComparable(v []byte) (float64, bool) {
	x, err := strconv.ParseFloat(unsafeString(v), 64)
	if (err == nil || isRangeErr(err)) && x >= -fiveBillion && x <= fiveBillion {
		return x, true
	}
	return 0, false
}

// exactOK compares a recorded value with a typed exact-match key.
func (st *scratch) exactOK(key string, l int32) bool {
	lr := &st.leaves[l]
	switch lr.kind {
	case leafString:
		return len(key) == len(lr.val)+1 && key[0] == keyString && key[1:] == unsafeString(lr.val)
	case leafNumber:
		return key[0] == keyNumber && key == st.numKey(l)
	case leafTrue:
		return key == string(rune(keyTrue))
	case leafFalse:
		return key == string(rune(keyFalse))
	}
	return key == string(rune(keyNull))
}

// predOK evaluates one alternative on a recorded value.
func (st *scratch) predOK(p *pred, l int32) bool {
	lr := &st.leaves[l]
	str := lr.kind == leafString
	switch p.kind {
	case pkExact:
		return st.exactOK(p.text, l)
	case pkPrefix:
		return str && strings.HasPrefix(unsafeString(lr.val), p.text)
	case pkSuffix:
		return str && strings.HasSuffix(unsafeString(lr.val), p.text)
	case pkPrefixFold:
		return str && strings.HasPrefix(st.folded(l), p.text)
	case pkSuffixFold:
		return str && strings.HasSuffix(st.folded(l), p.text)
	case pkFold:
		return str && st.folded(l) == p.text
	case pkWildcard:
		return str && p.glob.match(lr.val)
	case pkNumeric:
		if lr.kind != leafNumber {
			return false
		}
		x, ok := st.float(l)
		return ok && p.rng.contains(x)
	case pkCIDR:
		if !str {
			return false
		}
		a, ok := parseIPLiteral(unsafeString(lr.val))
		return ok && p.ip.contains(a)
	case pkExists:
		return true
	case pkAnythingBut:
		return !st.excluded(p.ab, l)
	}
	return false // pkAbsent: a present value never satisfies it
}

func (st *scratch) excluded(ab *anythingBut, l int32) bool {
	lr := &st.leaves[l]
	str := lr.kind == leafString
	switch ab.kind {
	case pkExact:
		for _, v := range ab.values {
			if st.exactOK(v, l) {
				return true
			}
		}
	case pkFold:
		if str {
			f := st.folded(l)
			for _, v := range ab.values {
				if f == v {
					return true
				}
			}
		}
	case pkPrefix:
		for _, v := range ab.values {
			if str && strings.HasPrefix(unsafeString(lr.val), v) {
				return true
			}
		}
	case pkSuffix:
		for _, v := range ab.values {
			if str && strings.HasSuffix(unsafeString(lr.val), v) {
				return true
			}
		}
	case pkWildcard:
		for _, g := range ab.globs {
			if str && g.match(lr.val) {
				return true
			}
		}
	}
	return false
}

// consistent reports whether the branch's conditions can be satisfied by
// values that agree on the element of every array they share: AWS matches
// fields inside one array element together, never across elements. Only
// conditions whose field has values inside arrays can conflict.
func (st *scratch) consistent(sn *snapshot, conds []int32) bool {
	e := st.epoch
	st.optStart = st.optStart[:0]
	st.opts = st.opts[:0]
	for _, u := range conds {
		uc := &sn.uconds[u]
		if st.trailSeen[uc.field] != e {
			continue
		}
		st.optStart = append(st.optStart, int32(len(st.opts)))
		for l := st.head[uc.field]; l >= 0; l = st.leaves[l].next {
			if st.leafOK(uc, l) {
				st.opts = append(st.opts, l)
			}
		}
		if int(st.optStart[len(st.optStart)-1]) == len(st.opts) {
			return false
		}
	}
	if len(st.optStart) < 2 {
		return true
	}
	st.optStart = append(st.optStart, int32(len(st.opts)))
	st.choice = st.choice[:0]
	return st.search(0)
}

func (st *scratch) search(i int) bool {
	if i == len(st.optStart)-1 {
		return true
	}
	for _, l := range st.opts[st.optStart[i]:st.optStart[i+1]] {
		ok := true
		for _, o := range st.choice {
			if !st.compatible(l, o) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		st.choice = append(st.choice, l)
		if st.search(i + 1) {
			return true
		}
		st.choice = st.choice[:len(st.choice)-1]
	}
	return false
}

func (st *scratch) compatible(a, b int32) bool {
	for fa := st.leaves[a].frame; fa >= 0; fa = st.frames[fa].parent {
		x := &st.frames[fa]
		for fb := st.leaves[b].frame; fb >= 0; fb = st.frames[fb].parent {
			if y := &st.frames[fb]; x.array == y.array && x.index != y.index {
				return false
			}
		}
	}
	return true
}
