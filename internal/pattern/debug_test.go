package pattern

import (
	"fmt"
	"testing"
	"time"
)

func TestDebugAblation(t *testing.T) {
	lines := citylots(t)
	run := func(name string, sn *snapshot, full bool) {
		st := &scratch{}
		var dst []string
		best := time.Duration(1 << 62)
		for r := 0; r < 5; r++ {
			c0, _ := processCPU()
			for i := 0; i < 50000; i++ {
				ev := lines[(r*50000+i)%len(lines)]
				if full {
					dst, _ = sn.match(st, dst[:0], ev)
				} else {
					st.reset(sn)
					w := walker{data: ev, sn: sn, st: st}
					w.run(sn.root)
				}
			}
			c1, _ := processCPU()
			if c1-c0 < best {
				best = c1 - c0
			}
		}
		fmt.Printf("%-30s %6.0f ns/event\n", name, float64(best.Nanoseconds())/50000)
	}
	one := matcherOf(t, cityRulesN(1)).current()
	big := matcherOf(t, cityRulesN(10000)).current()
	run("1 rule full", one, true)
	run("10000 walk+eval", big, false)
	run("10000 full", big, true)
	// only numeric rules
	num := map[string]string{}
	for id, r := range cityRulesN(10000) {
		if len(r) > 30 && r[2:10] == "geometry" {
			num[id] = r
		}
	}
	run(fmt.Sprintf("%d numeric rules full", len(num)), matcherOf(t, num).current(), true)
	str := map[string]string{}
	for id, r := range cityRulesN(10000) {
		if r[2:10] != "geometry" {
			str[id] = r
		}
	}
	run(fmt.Sprintf("%d property rules full", len(str)), matcherOf(t, str).current(), true)
	run(fmt.Sprintf("%d property rules walk", len(str)), matcherOf(t, str).current(), false)
}

func BenchmarkDebugQuery(b *testing.B) {
	num := map[string]string{}
	for id, r := range cityRulesN(10000) {
		if len(r) > 30 && r[2:10] == "geometry" {
			num[id] = r
		}
	}
	sn := matcherOf(b, num).current()
	fi := sn.fields[0]
	vals := [][]byte{[]byte("37.77198531866411"), []byte("-122.362578586931235"), []byte("0.0"), []byte("37.70198531866411")}
	var out []int32
	b.Run("lat", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			out = fi.ranges.queryText(vals[0], out[:0])
		}
	})
	b.Run("lon", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			out = fi.ranges.queryText(vals[1], out[:0])
		}
	})
	b.Run("zero", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			out = fi.ranges.queryText(vals[2], out[:0])
		}
	})
	ev := []byte(`{"geometry": { "type": "Polygon", "coordinates": [ [ [ -122.362578586931235, 37.77198531866411, 0.0 ], [ -122.362582311147165, 37.77238400592396, 0.0 ], [ -122.362575410882030, 37.77207208788968, 0.0 ], [ -122.363150632036977, 37.77223462623861, 0.0 ], [ -122.362584877905263, 37.77216323008007, 0.0 ], [ -122.362828892635406, 37.77177293297444, 0.0 ], [ -122.362622125241430, 37.77161746561800, 0.0 ] ] ] } }`)
	one := matcherOf(b, cityRulesN(1)).current()
	st := &scratch{}
	b.Run("event-numeric", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			sn.match(st, nil, ev)
		}
	})
	b.Run("event-1rule", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			one.match(st, nil, ev)
		}
	})
}
