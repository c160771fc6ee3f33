package sqlstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fogbank/fogbank/internal/storage"
)

// openPostgresPair opens two stores ("nodes") on one fresh schema.
func openPostgresPair(t *testing.T) (*Store, *Store) {
	t.Helper()
	url := postgresURL(t)
	a := openPostgres(t, url)
	schema := a.listenerSchema(t)
	b, err := OpenPostgres(t.Context(), url, Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// listenerSchema returns the schema a test store was opened on.
func (s *Store) listenerSchema(t *testing.T) string {
	t.Helper()
	var schema string
	if err := s.r.QueryRow("SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	return schema
}

func TestPostgresCrossNodeNotify(t *testing.T) {
	a, b := openPostgresPair(t)
	ch := b.Queues().Notify("q")
	if _, err := a.Queues().Send(t.Context(), "q", time.Now(), []storage.SendRequest{{Body: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("send on node a did not wake a waiter on node b")
	}
}

// TestPostgresListenerReconnect kills the listener's connection: the
// listener reconnects, wakes waiters (it may have missed notifications)
// and delivers later notifications again.
func TestPostgresListenerReconnect(t *testing.T) {
	a, b := openPostgresPair(t)
	ch := b.Queues().Notify("q")
	var n int
	err := a.w.QueryRow("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1",
		"LISTEN "+pgx.Identifier{b.pgChannel}.Sanitize()).Scan(&n)
	if err != nil || n == 0 {
		t.Fatalf("terminate listeners: %d, %v", n, err)
	}
	select {
	case <-ch:
	case <-time.After(15 * time.Second):
		t.Fatal("waiter not woken after the listener reconnected")
	}
	// Poll until the new listener delivers a notification.
	deadline := time.Now().Add(15 * time.Second)
	for {
		ch := b.Queues().Notify("q")
		if _, err := a.Queues().Send(t.Context(), "q", time.Now(), []storage.SendRequest{{Body: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
			return
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no notification after listener reconnect")
		}
	}
}

// TestPostgresCrossNodeReceivers runs receivers on two nodes at once:
// no message is handed out twice, and FIFO groups stay in order.
func TestPostgresCrossNodeReceivers(t *testing.T) {
	ctx := t.Context()
	a, b := openPostgresPair(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const total, groups = 200, 5
	for _, fifo := range []bool{false, true} {
		queue := fmt.Sprint("q-fifo-", fifo)
		reqs := make([]storage.SendRequest, total)
		for i := range reqs {
			reqs[i] = storage.SendRequest{Body: []byte(fmt.Sprint(i)), GroupID: fmt.Sprint(i % groups)}
		}
		if _, err := a.Queues().Send(ctx, queue, now, reqs); err != nil {
			t.Fatal(err)
		}
		var (
			mu   sync.Mutex
			seen = map[string]bool{}
			last = map[string]int{}
			wg   sync.WaitGroup
			errs = make(chan error, 8)
		)
		for w := range 8 {
			node := []*Store{a, b}[w%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Receive until every message was seen. A FIFO receive is
				// empty while other receivers hold every group, so only a
				// long run of empty receives with nothing left to hold
				// (a lost message) ends the loop early.
				deadline := time.Now().Add(30 * time.Second)
				for {
					mu.Lock()
					done := len(seen) == total
					mu.Unlock()
					if done || time.Now().After(deadline) {
						return
					}
					msgs, err := node.Queues().Receive(ctx, queue, now, storage.ReceiveOptions{Max: 3, Visibility: time.Hour, FIFO: fifo})
					if err != nil {
						errs <- err
						return
					}
					if len(msgs) == 0 {
						time.Sleep(time.Millisecond)
						continue
					}
					mu.Lock()
					for _, m := range msgs {
						if seen[m.ID] {
							mu.Unlock()
							errs <- fmt.Errorf("message %s received twice", m.ID)
							return
						}
						seen[m.ID] = true
						var i int
						fmt.Sscan(string(m.Body), &i)
						if fifo {
							if l, ok := last[m.GroupID]; ok && i < l {
								mu.Unlock()
								errs <- fmt.Errorf("group %s: %d after %d", m.GroupID, i, l)
								return
							}
							last[m.GroupID] = i
						}
					}
					mu.Unlock()
					if fifo {
						for _, m := range msgs {
							if err := node.Queues().Delete(ctx, queue, m.Receipt); err != nil {
								errs <- err
								return
							}
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("fifo=%v: %v", fifo, err)
		}
		if len(seen) != total {
			t.Fatalf("fifo=%v: received %d of %d", fifo, len(seen), total)
		}
	}
}

func TestPostgresReopenSameSchema(t *testing.T) {
	url := postgresURL(t)
	a := openPostgres(t, url)
	schema := a.listenerSchema(t)
	if _, err := a.Meta().Put(t.Context(), "svc.x", "k", []byte("v"), storage.MustNotExist); err != nil {
		t.Fatal(err)
	}
	b, err := OpenPostgres(context.Background(), url, Options{Schema: schema})
	if err != nil {
		t.Fatalf("second open (migrations already applied): %v", err)
	}
	defer b.Close()
	if r, err := b.Meta().Get(t.Context(), "svc.x", "k"); err != nil || string(r.Value) != "v" {
		t.Fatalf("get via second store: %+v %v", r, err)
	}
	if b.Mode() != "postgres" {
		t.Fatalf("mode %q", b.Mode())
	}
}
