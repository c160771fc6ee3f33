package sqlstore

import (
	"strings"
	"testing"
)

// TestSQLiteFIFOQueryPlans checks that the FIFO receive queries walk
// indexes in Seq order rather than sorting a queue or a group: the head
// look-up walks q_msg_order (checking groups on q_msg_group), a group's
// run reads q_msg_group_seq.
func TestSQLiteFIFOQueryPlans(t *testing.T) {
	s, err := OpenSQLite(t.Context(), t.TempDir(), Options{})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	plan := func(query string, args ...any) string {
		t.Helper()
		rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
		if err != nil {
			t.Fatalf("explain: %v", err)
		}
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatalf("explain: %v", err)
			}
			b.WriteString(detail + "\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("explain: %v", err)
		}
		return b.String()
	}
	for _, n := range []int{0, 2} {
		args := []any{"q", 0, 1, 1}
		for range n {
			args = append(args, "g")
		}
		p := plan(fifoHeadQuery(n), args...)
		if !strings.Contains(p, "INDEX q_msg_order") || !strings.Contains(p, "INDEX q_msg_group ") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("head query (%d excluded) plan:\n%s", n, p)
		}
	}
	p := plan(s.d.groupRunQuery("g"), "q", "g", 1, 10)
	if !strings.Contains(p, "INDEX q_msg_group_seq") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("group run plan:\n%s", p)
	}
}
