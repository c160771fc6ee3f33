package pattern

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fogbank/fogbank/internal/conformance"
)

// The city-lots corpus is generated on demand into the temp directory (never
// into the repository) by ../shared/bench/citylots/gen_citylots.go, or read
// from $FOGBANK_CITYLOTS.

var (
	cityOnce   sync.Once
	cityLines  [][]byte
	cityErr    error
	cityReason string
)

func citylots(tb testing.TB) [][]byte {
	tb.Helper()
	cityOnce.Do(func() {
		path := os.Getenv("FOGBANK_CITYLOTS")
		if path == "" {
			path = filepath.Join(os.TempDir(), "fogbank-citylots.jlines.gz")
			if _, err := os.Stat(path); err != nil {
				gen := filepath.Join(conformance.Base(), "..", "bench", "citylots", "gen_citylots.go")
				if _, err := os.Stat(gen); err != nil {
					cityReason = "city-lots generator not found (set FOGBANK_CITYLOTS): " + err.Error()
					return
				}
				tmp := path + ".tmp"
				cmd := exec.Command("go", "run", gen, "-n", "213068", "-o", tmp)
				cmd.Stderr = os.Stderr
				if err := cmd.Run(); err != nil {
					cityErr = fmt.Errorf("generate city lots: %w", err)
					return
				}
				if err := os.Rename(tmp, path); err != nil {
					cityErr = err
					return
				}
			}
		}
		f, err := os.Open(path)
		if err != nil {
			cityErr = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			cityErr = err
			return
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			cityLines = append(cityLines, append([]byte(nil), sc.Bytes()...))
		}
		cityErr = sc.Err()
	})
	if cityReason != "" {
		tb.Skip(cityReason)
	}
	if cityErr != nil {
		tb.Fatal(cityErr)
	}
	return cityLines
}

var cityRules4 = map[string]string{
	"CRANLEIGH": `{ "properties": { "STREET": [ "CRANLEIGH" ] } }`,
	"17TH Even": `{ "properties": { "STREET": [ "17TH" ], "ODD_EVEN": [ "E"] } }`,
	"Geometry":  `{ "geometry": { "coordinates": [ 37.807807921694092 ] } }`,
	"0011008":   `{ "properties": { "MAPBLKLOT": ["0011008"], "BLKLOT": ["0011008"]},  "geometry": { "coordinates": [ 37.807807921694092 ] } }`,
}

func matcherOf(tb testing.TB, rules map[string]string) *Matcher {
	m := NewMatcher()
	for id, r := range rules {
		if err := m.Add(id, []byte(r)); err != nil {
			tb.Fatalf("%s: %v", id, err)
		}
	}
	return m
}

var benchStreets = []string{"CRANLEIGH", "17TH", "BEACH", "GREENWICH", "MARKET", "MISSION", "VALENCIA", "FOLSOM",
	"HOWARD", "BRYANT", "GEARY", "POST", "SUTTER", "BUSH", "PINE", "CLAY"}

// cityRulesN makes n rules of mixed kinds over the city-lots fields; rule 0
// is CRANLEIGH.
func cityRulesN(n int) map[string]string {
	r := rand.New(rand.NewSource(int64(n)))
	rules := map[string]string{"r0": cityRules4["CRANLEIGH"]}
	for i := 1; i < n; i++ {
		var p string
		switch i % 6 {
		case 0:
			p = fmt.Sprintf(`{"properties":{"MAPBLKLOT":["%04d%03d"]}}`, r.Intn(8000), r.Intn(400))
		case 1:
			p = fmt.Sprintf(`{"properties":{"STREET":["%s"],"ODD_EVEN":["%s"]}}`, benchStreets[r.Intn(len(benchStreets))], []string{"E", "O"}[r.Intn(2)])
		case 2:
			p = fmt.Sprintf(`{"properties":{"BLKLOT":[{"prefix":"%04d"}]}}`, r.Intn(8000))
		case 3:
			lo := 37.70 + r.Float64()*0.11
			p = fmt.Sprintf(`{"geometry":{"coordinates":[{"numeric":[">",%.6f,"<",%.6f]}]}}`, lo, lo+0.00001)
		case 4:
			p = fmt.Sprintf(`{"properties":{"LOT_NUM":[{"equals-ignore-case":"%03d"}],"BLOCK_NUM":["%04d"]}}`, r.Intn(400), r.Intn(8000))
		case 5:
			p = fmt.Sprintf(`{"properties":{"STREET":[{"anything-but":["%s","%s"]}],"TO_ST":["%d"]}}`, benchStreets[r.Intn(len(benchStreets))], benchStreets[r.Intn(len(benchStreets))], r.Intn(3000))
		}
		rules[fmt.Sprint("r", i)] = p
	}
	return rules
}

// citylotsPath is the generated corpus, or "" (with the reason) when it has
// not been generated: tests never generate it, benchmarks do.
func citylotsPath() (string, string) {
	if p := os.Getenv("FOGBANK_CITYLOTS"); p != "" {
		return p, ""
	}
	p := filepath.Join(os.TempDir(), "fogbank-citylots.jlines.gz")
	if _, err := os.Stat(p); err != nil {
		return "", "city-lots corpus not generated yet (run the benchmarks once, or set FOGBANK_CITYLOTS)"
	}
	return p, ""
}

// citylotsHead reads the first n lines of the corpus.
func citylotsHead(t *testing.T, path string, n int) [][]byte {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var out [][]byte
	for len(out) < n && sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCitylotsCounts checks the README's four rules on the corpus: on its
// first 1 000 events against the reference matcher (cheap, also under the
// race detector), and, in full runs without -short or -race, the documented
// counts over all 213 068 events.
func TestCitylotsCounts(t *testing.T) {
	path, reason := citylotsPath()
	if path == "" {
		t.Skip(reason)
	}
	m := matcherOf(t, cityRules4)
	refs := map[string]*compiled{}
	for id, r := range cityRules4 {
		c, err := compilePattern([]byte(r), dialectEventBridge)
		if err != nil {
			t.Fatal(err)
		}
		refs[id] = c
	}
	var dst []string
	sampled := 0
	for _, l := range citylotsHead(t, path, 1000) {
		leaves, ok := refFlatten(l)
		if !ok {
			t.Fatalf("corpus line is not a JSON object: %.80s", l)
		}
		var want []string
		for _, id := range []string{"0011008", "17TH Even", "CRANLEIGH", "Geometry"} {
			if refMatch(refs[id], leaves) {
				want = append(want, id)
			}
		}
		var err error
		if dst, err = m.MatchInto(dst[:0], l); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(dst) != fmt.Sprint(want) {
			t.Fatalf("event %.120s: matched %v, reference %v", l, dst, want)
		}
		sampled += len(want)
	}
	if sampled == 0 {
		t.Fatal("the sample matched nothing: the check would prove nothing")
	}
	if testing.Short() || raceEnabled {
		return
	}
	counts := map[string]int{}
	for _, l := range citylots(t) {
		var err error
		if dst, err = m.MatchInto(dst[:0], l); err != nil {
			t.Fatal(err)
		}
		for _, id := range dst {
			counts[id]++
		}
	}
	if counts["CRANLEIGH"] != 3847 || counts["17TH Even"] != 1845 {
		t.Errorf("counts = %v, want CRANLEIGH=3847 17TH Even=1845", counts)
	}
}

func benchMatch(b *testing.B, m *Matcher, events [][]byte) {
	dst := make([]string, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		dst, err = m.MatchInto(dst[:0], events[i%len(events)])
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func benchMatchValid(b *testing.B, m *Matcher, events [][]byte) {
	dst := make([]string, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = m.MatchValidInto(dst[:0], events[i%len(events)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func benchDecode(b *testing.B, events [][]byte) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var v map[string]any
		if err := json.Unmarshal(events[i%len(events)], &v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkCitylots(b *testing.B) {
	lines := citylots(b)
	b.Run("decode-map", func(b *testing.B) { benchDecode(b, lines) })
	b.Run("rules-4", func(b *testing.B) { benchMatch(b, matcherOf(b, cityRules4), lines) })
	b.Run("rules-2-string", func(b *testing.B) {
		benchMatch(b, matcherOf(b, map[string]string{"a": cityRules4["CRANLEIGH"], "b": cityRules4["17TH Even"]}), lines)
	})
	b.Run("valid/rules-4", func(b *testing.B) { benchMatchValid(b, matcherOf(b, cityRules4), lines) })
	b.Run("valid/rules-2-string", func(b *testing.B) {
		benchMatchValid(b, matcherOf(b, map[string]string{"a": cityRules4["CRANLEIGH"], "b": cityRules4["17TH Even"]}), lines)
	})
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("rules-%d", n), func(b *testing.B) { benchMatch(b, matcherOf(b, cityRulesN(n)), lines) })
		b.Run(fmt.Sprintf("valid/rules-%d", n), func(b *testing.B) { benchMatchValid(b, matcherOf(b, cityRulesN(n)), lines) })
	}
}

// cloudTrailEvents makes EventBridge envelopes of CloudTrail API calls.
func cloudTrailEvents(n int) [][]byte {
	r := rand.New(rand.NewSource(7))
	services := []string{"ec2", "s3", "iam", "lambda", "sqs", "sns", "dynamodb", "kms", "sts", "events"}
	verbs := []string{"Create", "Delete", "Describe", "Get", "List", "Put", "Update", "Start", "Stop"}
	nouns := []string{"Bucket", "Instance", "Role", "Function", "Queue", "Topic", "Table", "Key", "Rule", "Policy"}
	types := []string{"IAMUser", "AssumedRole", "AWSService", "Root"}
	out := make([][]byte, n)
	for i := range out {
		svc := services[r.Intn(len(services))]
		name := verbs[r.Intn(len(verbs))] + nouns[r.Intn(len(nouns))]
		ev := map[string]any{
			"version": "0", "id": fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), r.Int63()&0xffffffffffff),
			"detail-type": "AWS API Call via CloudTrail", "source": "aws." + svc,
			"account": fmt.Sprintf("%012d", r.Int63n(1e12)), "time": "2024-06-01T12:00:00Z", "region": "us-east-1",
			"resources": []any{},
			"detail": map[string]any{
				"eventVersion": "1.08",
				"userIdentity": map[string]any{
					"type": types[r.Intn(len(types))], "principalId": fmt.Sprintf("AIDA%012d", r.Int63n(1e12)),
					"arn":       fmt.Sprintf("arn:aws:iam::%012d:user/u%d", r.Int63n(1e12), r.Intn(500)),
					"accountId": fmt.Sprintf("%012d", r.Int63n(1e12)),
					"sessionContext": map[string]any{"attributes": map[string]any{
						"creationDate": "2024-06-01T11:00:00Z", "mfaAuthenticated": r.Intn(2) == 0}},
				},
				"eventTime": "2024-06-01T12:00:00Z", "eventSource": svc + ".amazonaws.com", "eventName": name,
				"awsRegion":       "us-east-1",
				"sourceIPAddress": fmt.Sprintf("%d.%d.%d.%d", 10+r.Intn(200), r.Intn(256), r.Intn(256), r.Intn(256)),
				"userAgent":       "aws-cli/2.15.0 Python/3.11.6 Linux/6.5 exe/x86_64",
				"requestParameters": map[string]any{
					"name": fmt.Sprintf("res-%d", r.Intn(10000)), "tags": []any{map[string]any{"key": "env", "value": "prod"}},
					"maxResults": r.Intn(1000),
				},
				"responseElements": nil, "requestID": fmt.Sprintf("%016x", r.Int63()), "eventID": fmt.Sprintf("%016x", r.Int63()),
				"readOnly":  strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List") || strings.HasPrefix(name, "Describe"),
				"eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": "123456789012",
			},
		}
		out[i], _ = json.Marshal(ev)
	}
	return out
}

func cloudTrailRules(n int) map[string]string {
	r := rand.New(rand.NewSource(int64(n) + 1))
	services := []string{"ec2", "s3", "iam", "lambda", "sqs", "sns", "dynamodb", "kms", "sts", "events"}
	verbs := []string{"Create", "Delete", "Describe", "Get", "List", "Put", "Update", "Start", "Stop"}
	nouns := []string{"Bucket", "Instance", "Role", "Function", "Queue", "Topic", "Table", "Key", "Rule", "Policy"}
	rules := map[string]string{}
	for i := 0; i < n; i++ {
		svc := services[r.Intn(len(services))]
		var p string
		switch i % 5 {
		case 0:
			p = fmt.Sprintf(`{"source":["aws.%s"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventName":["%s%s"]}}`,
				svc, verbs[r.Intn(len(verbs))], nouns[r.Intn(len(nouns))])
		case 1:
			p = fmt.Sprintf(`{"detail":{"eventSource":[{"prefix":"%s."}],"eventName":[{"prefix":"%s"}],"readOnly":[false]}}`, svc, verbs[r.Intn(len(verbs))])
		case 2:
			p = fmt.Sprintf(`{"detail":{"sourceIPAddress":[{"cidr":"%d.%d.0.0/16"}],"userIdentity":{"type":[{"anything-but":"AWSService"}]}}}`, 10+r.Intn(200), r.Intn(256))
		case 3:
			p = fmt.Sprintf(`{"account":["%012d"],"detail":{"requestParameters":{"maxResults":[{"numeric":[">=",%d,"<",%d]}]}}}`, r.Int63n(1e12), r.Intn(900), 900+r.Intn(100))
		case 4:
			p = fmt.Sprintf(`{"detail":{"requestParameters":{"name":["res-%d"]},"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":[true]}}}}}`, r.Intn(10000))
		}
		rules[fmt.Sprint("c", i)] = p
	}
	return rules
}

func BenchmarkCloudTrail(b *testing.B) {
	events := cloudTrailEvents(20000)
	b.Run("decode-map", func(b *testing.B) { benchDecode(b, events) })
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("rules-%d", n), func(b *testing.B) { benchMatch(b, matcherOf(b, cloudTrailRules(n)), events) })
		b.Run(fmt.Sprintf("valid/rules-%d", n), func(b *testing.B) { benchMatchValid(b, matcherOf(b, cloudTrailRules(n)), events) })
	}
}

// TestBenchReport prints the benchmark table for docs/benchmarks.md (event pattern engine),
// every figure measured in the same run: each configuration runs for about
// FOGBANK_BENCH_SECONDS (default 1) of CPU time, FOGBANK_BENCH_ROUNDS times
// (default 3) interleaved with the others; the table shows the best round
// and the spread of all rounds. Rates count process CPU time (run with
// GOMAXPROCS=1 for one core), so that other load on a shared machine does
// not count; wall-clock rates are shown too. Each rule set is measured with
// Match (validating) and MatchValid (event known to be valid JSON). Enable
// with FOGBANK_BENCH_REPORT=1; FOGBANK_BENCH_ONLY=citylots or cloudtrail
// measures one corpus.
func TestBenchReport(t *testing.T) {
	if os.Getenv("FOGBANK_BENCH_REPORT") == "" {
		t.Skip("set FOGBANK_BENCH_REPORT=1 to measure")
	}
	seconds := 1.0
	if v, err := strconv.ParseFloat(os.Getenv("FOGBANK_BENCH_SECONDS"), 64); err == nil && v > 0 {
		seconds = v
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("FOGBANK_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	type set = struct {
		name  string
		rules map[string]string
	}
	type result struct {
		name, mode  string
		best, worst float64 // events per CPU second
		wall        float64 // events per wall second, best round
		allocs      float64
	}
	report := func(corpus string, events [][]byte, sets []set) {
		type job struct {
			name, mode string
			fn         func(ev []byte)
		}
		var jobs []job
		var dec map[string]any
		jobs = append(jobs, job{"json.Unmarshal to map", "", func(ev []byte) {
			dec = nil
			if err := json.Unmarshal(ev, &dec); err != nil {
				t.Fatal(err)
			}
		}})
		dst := make([]string, 0, 256)
		for _, s := range sets {
			m := matcherOf(t, s.rules)
			jobs = append(jobs, job{s.name, "Match", func(ev []byte) {
				var err error
				if dst, err = m.MatchInto(dst[:0], ev); err != nil {
					t.Fatal(err)
				}
			}}, job{s.name, "MatchValid", func(ev []byte) {
				dst = m.MatchValidInto(dst[:0], ev)
			}})
		}
		res := make([]result, len(jobs))
		next := 0 // events continue through the corpus across jobs and rounds
		for r := 0; r < rounds; r++ {
			for j, jb := range jobs {
				runtime.GC()
				cpu0, okCPU := processCPU()
				wall0 := time.Now()
				n := 0
				for {
					for k := 0; k < 1000; k++ {
						jb.fn(events[next])
						next++
						if next == len(events) {
							next = 0
						}
					}
					n += 1000
					if time.Since(wall0).Seconds() >= seconds*4 {
						break
					}
					if cpu, _ := processCPU(); !okCPU || (cpu-cpu0).Seconds() >= seconds {
						break
					}
				}
				wall := time.Since(wall0).Seconds()
				cpu := wall
				if c, ok := processCPU(); ok && okCPU {
					cpu = (c - cpu0).Seconds()
				}
				rate := float64(n) / cpu
				p := &res[j]
				p.name, p.mode = jb.name, jb.mode
				if rate > p.best {
					p.best = rate
					p.wall = float64(n) / wall
				}
				if p.worst == 0 || rate < p.worst {
					p.worst = rate
				}
			}
		}
		for j, jb := range jobs {
			ev := events[0]
			res[j].allocs = testing.AllocsPerRun(100, func() { jb.fn(ev) })
		}
		base, one := res[0].best, map[string]float64{}
		for _, p := range res {
			if p.name == "1 rule" {
				one[p.mode] = p.best
			}
		}
		t.Logf("| corpus | rules | mode | events/s (CPU) | spread of %d rounds | events/s (wall) | ratio to decode | cost vs 1 rule | allocs/op |", rounds)
		for _, p := range res {
			vs := ""
			if o := one[p.mode]; o > 0 && p.mode != "" {
				vs = fmt.Sprintf("%.2f×", o/p.best)
			}
			t.Logf("| %s | %s | %s | %.0f | %.0f–%.0f | %.0f | %.2f | %s | %.0f |",
				corpus, p.name, p.mode, p.best, p.worst, p.best, p.wall, p.best/base, vs, p.allocs)
		}
	}
	only := os.Getenv("FOGBANK_BENCH_ONLY") // "citylots" or "cloudtrail": run one corpus
	lines := citylots(t)
	if only != "cloudtrail" {
		report("citylots", lines, []set{
			{"1 rule", cityRulesN(1)},
			{"2 string rules (README)", map[string]string{"a": cityRules4["CRANLEIGH"], "b": cityRules4["17TH Even"]}},
			{"4 rules (README)", cityRules4},
			{"100 mixed", cityRulesN(100)},
			{"10 000 mixed", cityRulesN(10000)},
		})
	}
	if only != "citylots" {
		report("cloudtrail", cloudTrailEvents(20000), []set{
			{"1 rule", cloudTrailRules(1)},
			{"100 mixed", cloudTrailRules(100)},
			{"10 000 mixed", cloudTrailRules(10000)},
		})
	}
}
