// Package pattern owns Fogbank's event-pattern language: EventBridge event
// patterns (rules, Pipes filters, Lambda event-source filters,
// TestEventPattern) and SNS subscription filter policies.
//
// # Language and validation
//
// Patterns are validated by a pull parser (lex.go) that reproduces the
// token stream, error texts and error locations of the JSON parser AWS's
// engine uses, and by a compiler (compile.go) that follows AWS's rule
// grammar: fields AND, the values of a field OR, $or forks the rule into
// branches (disjunctive form), and each value is an exact value or an
// operator (prefix, suffix, equals-ignore-case, wildcard, anything-but in
// all its forms, numeric, cidr, exists). Errors are *InvalidPatternError
// (EventBridge) or *FilterPolicyError (SNS) carrying AWS's exact text.
//
// $or follows AWS's engine (event-ruler's JSON rule compiler): each object
// of the array forks the rule into a branch; the fields beside the $or,
// before or after it and at any level, join every branch, and several $or
// multiply out; a field named again inside a branch, or after the $or,
// replaces the earlier definition in the branches it reaches. Inside $or,
// the operators, the numeric comparison signs and the names AWS keeps for
// future operators cannot be field names. The explicit exact match is
// spelled "exactly", as in AWS's engine.
//
// # The automaton
//
// A Matcher compiles all of its rules into one snapshot:
//
//   - A path automaton: a trie over the dot-separated field paths that any
//     rule names. Walking an event, each member name moves the automaton
//     (names containing dots move it several steps, so {"a.b":1} and
//     {"a":{"b":1}} are the same path, as in AWS); a name with no transition
//     makes the walker skip that value without decoding it. A state with
//     three children or more finds a name's only possible child from its
//     length and first and last bytes (a collision-free table).
//   - Conditions: one field of a branch with its alternatives (rules OR the
//     values of a field, AND the fields, and $or forks a rule into branches).
//     Identical conditions of different branches are one condition, so each
//     is evaluated at most once per event however many rules share it.
//   - Anchors: each branch is indexed under one condition only, its most
//     selective: the lowest estimated "values accepted × branches sharing
//     it" (an exact value shared by few rules beats a prefix, which beats a
//     numeric range, which beats exists and anything-but; readOnly:false
//     shared by thousands of rules is never chosen when anything else is
//     there). Per path, one field index holds the anchors' alternatives:
//     hash tables for exact values (typed, so "1" never equals 1; numbers
//     by exact decimal value) and equals-ignore-case; prefix and suffix
//     tables probed once per distinct key length; a table of the elementary
//     slots between numeric range endpoints; CIDR tables probed once per
//     distinct mask; wildcards keyed by their literal prefix; anything-but
//     as "all anything-but anchors minus those a value excludes". The
//     string tables are open-addressing tables of 16-byte slots with the
//     keys packed in one array, behind a Bloom filter when they are large,
//     so that a miss reads one slot or one word of a bitmap that stays in
//     cache. The numeric slots are found through equal-width buckets over
//     the endpoints: a bucket that holds no endpoint lies inside one slot
//     and names it, so a lookup reads one entry, and a bitmap of the
//     buckets whose slot holds no range (kept with the path) rejects most
//     numbers with one bit.
//   - A verification trie per anchor: the branches anchored on a condition
//     are paths through their remaining conditions, cheapest first, sharing
//     common prefixes. When the anchor is hit, the trie is entered; a node's
//     condition is checked (once per event, cached) against the values the
//     walk recorded for its field, and a failed check drops every branch
//     below it. A node with many children whose conditions are exact strings
//     on one field finds them by value (one lookup per recorded value)
//     instead of checking each. Branches ending at a node match; when their
//     values came from arrays, the candidates also check that the chosen
//     values agree on the element of every array they share (AWS never
//     combines fields of different elements). A node's children whose
//     conditions are exact strings, prefixes or suffixes of one field are
//     found from the field's values: exact values by one lookup, prefixes
//     by one search of a sorted table of the prefixes (the greatest one not
//     above the value, then up the chain of prefixes it starts with) and
//     suffixes the same way reversed. What matching reads of the trie is
//     kept in compact tables (few cache lines per node): an anchor's record
//     holds its root node and, when the root is a leaf with one rule, that
//     rule's id, and conditions that compare strings (exact, anything-but
//     of strings, equals-ignore-case) are checked against their strings
//     packed in one array.
//
// The event is walked once, in place, with no maps or values built. Match
// validates the whole event (skipped parts included) and returns an error
// for anything that is not a JSON object. MatchValid is for events the
// caller has already validated (PutEvents, SNS and Lambda check events
// when they arrive): it skips every subtree and value no rule names
// without checking it, finding the closing bracket or quote eight bytes at
// a time (quotes, brackets and backslashes are found with word-wide bit
// operations, and a prefix XOR of the quote bits tells which brackets lie
// inside strings), compares member names raw, and stops reading once no
// member name of the path automaton can follow (a search of the rest of
// the event, tried only while it pays off). On invalid input its result is
// unspecified but it never panics and never reads outside the event.
//
// Both walkers record values only at paths some multi-condition branch
// verifies, and probe the field indexes only at paths holding anchors and
// only with values some condition there can use (a path with only numeric
// ranges ignores strings, and numbers outside its least and greatest range
// ends: a number whose integer part already lies outside is not even
// converted). Numbers at such paths are converted while they are scanned
// (exactly, eight digits at a time, when their digits fit 2^53); others
// are bounded cheaply and parsed fully only when the bound does not settle
// the lookup. A path whose numbers matter only to ranges, or whose strings
// matter only to exact values, is probed directly from the walker.
//
// Cost: walking is linear in the event. Per value, a field index costs one
// probe per table kind (exact, fold, per distinct prefix/suffix length, per
// distinct CIDR mask, one slot lookup) independent of the number of rules,
// plus the anchors it hits. Verification costs one cached check per trie
// node entered (children on one field with exact, prefix or suffix
// conditions: one lookup or search per value instead) plus one step per
// matching rule. So for exact, prefix, suffix, equals-ignore-case,
// numeric, cidr and anything-but conditions the cost follows the anchors
// hit and the matches, not the rule count.
// Costs that do grow with rules: wildcards that start with '*' are all run
// on every value of their path when they are anchors (wildcards with a
// literal prefix only when that prefix matches); anything-but anchors are
// emitted one per distinct anything-but condition on the path (they match
// almost every value); branches made only of exists:false conditions are
// checked on every event; and rules that match cost their output.
//
// Matchers are copy-on-write: Add and Remove change the rule set under a
// lock and mark it dirty; the next Match rebuilds the snapshot once and
// publishes it atomically, so matches never block on each other and a burst
// of changes costs one rebuild. Working memory comes from a pool: MatchInto
// and MatchValidInto do not allocate in the steady state.
//
// # Deliberate differences from AWS
//
//   - Wildcard complexity: AWS rejects wildcard values whose automaton could
//     be in too many states at once; we approximate its limit by the number
//     of '*' in one value (more than five is "too complex"), which agrees
//     with every recorded answer.
//   - Numbers: exact values compare by exact decimal value (AWS is exact to
//     six decimals); numeric ranges compare as float64 within ±5e9, AWS's
//     documented range, for EventBridge and SNS alike.
//   - $or expansion is capped at 4096 branches.
//   - Pattern size: EventBridge's quota of 2048 characters per event
//     pattern (adjustable; its API refuses more than 4096) is not enforced
//     here, as the error AWS returns for it is not recorded.
package pattern
