package natsstore

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/fogbank/fogbank/internal/storage"
)

// secondNode opens another Store on the embedded server of s, with its own
// connection and the same prefix, as a second Fogbank node would.
func secondNode(t *testing.T, s *Store) *Store {
	t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(s.srv))
	if err != nil {
		t.Fatalf("connect second node: %v", err)
	}
	opts := Options{Prefix: s.prefix}
	if err := opts.check(); err != nil {
		t.Fatal(err)
	}
	s2, err := newStore(t.Context(), nc, nil, opts, "nats-embedded")
	if err != nil {
		nc.Close()
		t.Fatalf("second node: %v", err)
	}
	t.Cleanup(func() { s2.Close() })
	return s2
}

func TestTwoNodesEmbedded(t *testing.T) {
	a := openEmbedded(t)
	testTwoNodes(t, a, secondNode(t, a))
}

func TestTwoNodesExternal(t *testing.T) {
	url := natsURL(t)
	prefix := testPrefix(t)
	a := openExternalPrefix(t, url, prefix, true)
	b := openExternalPrefix(t, url, prefix, false)
	testTwoNodes(t, a, b)
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func testTwoNodes(t *testing.T, a, b *Store) {
	nodes := []*Store{a, b}
	t.Run("Notify", func(t *testing.T) {
		ch := b.Queues().Notify("n/q")
		if _, err := a.Queues().Send(t.Context(), "n/q", t0, []storage.SendRequest{{Body: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("send on node a did not wake a waiter on node b")
		}
	})
	t.Run("Receivers", func(t *testing.T) {
		const q, total = "n/std", 100
		for i := 0; i < total; i += 10 {
			reqs := make([]storage.SendRequest, 10)
			for j := range reqs {
				reqs[j] = storage.SendRequest{Body: []byte(fmt.Sprint(i + j))}
			}
			if _, err := nodes[i/10%2].Queues().Send(t.Context(), q, t0, reqs); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				n := nodes[w%2]
				for empty := 0; empty < 3; {
					msgs, err := n.Queues().Receive(t.Context(), q, t0, storage.ReceiveOptions{Max: 4, Visibility: time.Hour})
					if err != nil {
						t.Error(err)
						return
					}
					if len(msgs) == 0 {
						empty++
					}
					mu.Lock()
					for _, m := range msgs {
						seen[m.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != total {
			t.Fatalf("received %d distinct messages, want %d", len(seen), total)
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("message %s received %d times inside its visibility timeout", id, n)
			}
		}
	})
	t.Run("FIFO", func(t *testing.T) {
		const q, total, groups = "n/fifo", 40, 4
		for i := range total {
			if _, err := nodes[i%2].Queues().Send(t.Context(), q, t0, []storage.SendRequest{{Body: []byte(fmt.Sprint(i)), GroupID: fmt.Sprint(i % groups)}}); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		released, got := map[int]bool{}, map[int]bool{}
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				n := nodes[w%2].Queues()
				for empty := 0; empty < 10; {
					msgs, err := n.Receive(t.Context(), q, t0, storage.ReceiveOptions{Max: 2, Visibility: time.Hour, FIFO: true})
					if err != nil {
						t.Error(err)
						return
					}
					if len(msgs) == 0 {
						empty++
						continue
					}
					mu.Lock()
					batch := map[int]bool{}
					for _, m := range msgs {
						var i int
						fmt.Sscan(string(m.Body), &i)
						if got[i] {
							t.Errorf("message %d handed out twice", i)
						}
						if i >= groups && !released[i-groups] && !batch[i-groups] {
							t.Errorf("message %d handed out while %d was in flight", i, i-groups)
						}
						got[i], batch[i] = true, true
					}
					for i := range batch {
						released[i] = true
					}
					mu.Unlock()
					for _, m := range msgs {
						if err := n.Delete(t.Context(), q, m.Receipt); err != nil {
							t.Error(err)
						}
					}
				}
			})
		}
		wg.Wait()
		if len(got) != total {
			t.Fatalf("delivered %d of %d", len(got), total)
		}
	})
	t.Run("DedupRace", func(t *testing.T) {
		// Many concurrent senders of one DedupID on both nodes store one
		// message and all learn its ID.
		const q = "n/dedup"
		var mu sync.Mutex
		ids := map[string]int{}
		var wg sync.WaitGroup
		for w := range 10 {
			wg.Go(func() {
				res, err := nodes[w%2].Queues().Send(t.Context(), q, t0, []storage.SendRequest{{Body: []byte("x"), DedupID: "same", DedupWindow: time.Hour}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids[res[0].ID]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(ids) != 1 {
			t.Fatalf("concurrent dedup sends got IDs %v, want one", ids)
		}
		st, err := a.Queues().Stats(t.Context(), q, t0)
		if err != nil {
			t.Fatal(err)
		}
		if st.Visible != 1 {
			t.Fatalf("queue holds %d messages, want 1", st.Visible)
		}
	})
	t.Run("MetaCAS", func(t *testing.T) {
		ctx := t.Context()
		if _, err := a.Meta().Put(ctx, "n.meta", "ctr", []byte("0"), storage.MustNotExist); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				m := nodes[w%2].Meta()
				for i := 0; i < 5; {
					r, err := m.Get(ctx, "n.meta", "ctr")
					if err != nil {
						t.Error(err)
						return
					}
					var n int
					fmt.Sscan(string(r.Value), &n)
					if _, err := m.Put(ctx, "n.meta", "ctr", []byte(fmt.Sprint(n+1)), r.Version); err == nil {
						i++
					} else if err != storage.ErrConflict {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		r, err := b.Meta().Get(ctx, "n.meta", "ctr")
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Value) != "20" || r.Version != 21 {
			t.Fatalf("counter %q version %d, want 20 version 21", r.Value, r.Version)
		}
	})
}
