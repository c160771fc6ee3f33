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
// # The automaton
//
// A Matcher compiles all of its rules into one snapshot:
//
//   - A path automaton: a trie over the dot-separated field paths that any
//     rule names. Walking an event, each member name moves the automaton
//     (names containing dots move it several steps, so {"a.b":1} and
//     {"a":{"b":1}} are the same path, as in AWS); a name with no transition
//     makes the walker skip that value without decoding it.
//   - Per path, one field index holding every alternative of every rule for
//     that path: hash tables for exact values (typed, so "1" never equals 1;
//     numbers by exact decimal value) and equals-ignore-case; prefix and
//     suffix tables probed once per distinct key length; a segment tree over
//     numeric range endpoints; CIDR tables probed once per distinct mask;
//     wildcards keyed by their literal prefix; anything-but as "all
//     anything-but alternatives minus those a value excludes", the exclusions
//     found through the same kinds of tables.
//   - Conditions (one per field of each branch) and branches. Each value at
//     an indexed path yields the conditions it satisfies; a branch becomes a
//     candidate when its count of satisfied conditions reaches the number it
//     needs (counting, so cost follows satisfied conditions, not rules).
//     Candidates then check their exists:false fields and, when values came
//     from arrays, that all chosen values agree on the element of every
//     array they share (AWS never combines fields of different elements).
//
// The event is walked once, in place, with no maps or values built; the
// walker validates the whole event (skipped parts included). Matching cost
// is flat in the number of rules for exact, prefix, suffix,
// equals-ignore-case, numeric, cidr and exists alternatives. Wildcards that
// start with a literal are only run when that literal prefixes the value;
// wildcards starting with '*' are all run, so their cost grows with their
// number. Anything-but costs one step per anything-but alternative on the
// path (every one of them may match).
//
// Matchers are copy-on-write: Add and Remove change the rule set under a
// lock and mark it dirty; the next Match rebuilds the snapshot once and
// publishes it atomically, so matches never block on each other and a burst
// of changes costs one rebuild. Working memory comes from a pool: MatchInto
// does not allocate in the steady state.
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
package pattern
