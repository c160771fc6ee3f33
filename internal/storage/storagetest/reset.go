package storagetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/storage"
)

var resetTests = []namedTest{
	{"ByPrefix", testResetByPrefix},
	{"All", testResetAll},
}

// populate stores one record, message, log record and blob under each of
// the service prefixes "svc1" and "svc2", with dedup ids on the messages.
func populate(t *testing.T, b storage.Backend) {
	t.Helper()
	ctx := t.Context()
	for _, svc := range []string{"svc1", "svc2"} {
		must(b.Meta().Put(ctx, svc+".things", "111/us-east-1/k", []byte(svc), storage.AnyVersion))(t)
		send(t, b.Queues(), svc+"/111/us-east-1/q", t0, storage.SendRequest{Body: []byte(svc), DedupID: "d", DedupWindow: time.Hour})
		must(b.Logs().Append(ctx, svc+"/111/us-east-1/s", []storage.LogEntry{{Time: t0, Data: []byte(svc)}}))(t)
		must(b.Blobs().Put(ctx, svc+"/111/us-east-1/b", strings.NewReader(svc)))(t)
	}
}

// present reports, per part, whether svc's data is still there.
func present(t *testing.T, b storage.Backend, svc string) map[string]bool {
	t.Helper()
	ctx := t.Context()
	out := map[string]bool{}
	_, err := b.Meta().Get(ctx, svc+".things", "111/us-east-1/k")
	out["meta"] = err == nil
	st := must(b.Queues().Stats(ctx, svc+"/111/us-east-1/q", t0))(t)
	out["queue"] = st.Visible+st.InFlight+st.Delayed > 0
	// A reset queue forgets its dedup ids.
	r := send(t, b.Queues(), svc+"/111/us-east-1/q", at(time.Minute), storage.SendRequest{Body: []byte("probe"), DedupID: "d", DedupWindow: time.Hour})
	out["dedup"] = r[0].Duplicate
	recs := must(b.Logs().Read(ctx, svc+"/111/us-east-1/s", storage.LogQuery{}))(t)
	out["log"] = len(recs) > 0
	streams := must(b.Logs().Streams(ctx, svc+"/"))(t)
	out["stream"] = slices.Contains(streams, svc+"/111/us-east-1/s")
	rc, _, err := b.Blobs().Get(ctx, svc+"/111/us-east-1/b")
	out["blob"] = err == nil
	if err == nil {
		rc.Close()
	}
	return out
}

func checkPresent(t *testing.T, b storage.Backend, svc string, want bool) {
	t.Helper()
	for part, ok := range present(t, b, svc) {
		if ok != want {
			t.Errorf("%s %s present = %v, want %v", svc, part, ok, want)
		}
	}
}

// Reset by prefix wipes the Meta namespaces, queues, log streams and blob
// keys that begin with one of the prefixes.
func testResetByPrefix(t *testing.T, b storage.Backend) {
	populate(t, b)
	noErr(t, b.Reset(t.Context(), "svc1", "nothing-matches"))
	checkPresent(t, b, "svc1", false)
	checkPresent(t, b, "svc2", true)
}

func testResetAll(t *testing.T, b storage.Backend) {
	populate(t, b)
	noErr(t, b.Reset(t.Context()))
	checkPresent(t, b, "svc1", false)
	checkPresent(t, b, "svc2", false)
	// The back end is usable after a reset.
	populate(t, b)
	checkPresent(t, b, "svc1", true)
}
