package lambda

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/fogbank/fogbank/internal/funcrt"
	"github.com/fogbank/fogbank/internal/logs"
)

// logFlushInterval batches function output into CloudWatch Logs writes
// (one append per stream per interval, off the request path, however many
// invocations ran). It is I/O batching, not an AWS-visible delay, so it
// runs on real time (a stopped test clock must not hold logs back).
const logFlushInterval = 100 * time.Millisecond

// logSink buffers function log lines per stream and writes them to the
// LogWriter in batches. WriteLog never blocks on I/O.
type logSink struct {
	w   LogWriter
	log *slog.Logger

	mu   sync.Mutex
	bufs map[streamKey][]logs.Event
	// flushMu serialises flushes so a stream's batches stay in order.
	flushMu sync.Mutex
}

type streamKey struct{ account, region, group, stream string }

func newLogSink(w LogWriter, log *slog.Logger) *logSink {
	return &logSink{w: w, log: log, bufs: map[streamKey][]logs.Event{}}
}

func (k *logSink) start(wg *sync.WaitGroup, ctx context.Context) {
	if k.w == nil {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(logFlushInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			k.flushAll(ctx)
		}
	}()
}

func (k *logSink) add(key streamKey, e logs.Event) {
	if k.w == nil {
		return
	}
	k.mu.Lock()
	k.bufs[key] = append(k.bufs[key], e)
	k.mu.Unlock()
}

func (k *logSink) flushAll(ctx context.Context) {
	if k.w == nil {
		return
	}
	k.flushMu.Lock()
	defer k.flushMu.Unlock()
	k.mu.Lock()
	bufs := k.bufs
	k.bufs = map[streamKey][]logs.Event{}
	k.mu.Unlock()
	for key, evs := range bufs {
		if err := k.w.WriteEvents(ctx, key.account, key.region, key.group, key.stream, evs); err != nil {
			k.log.Warn("lambda: write function logs", "group", key.group, "stream", key.stream, "err", err)
		}
	}
}

// forAccount returns the funcrt sink of one function version: it adds the
// account and region funcrt does not know, and applies LoggingConfig.
func (k *logSink) forAccount(account, region string, lc logging) funcrt.LogSink {
	return &accountSink{k: k, account: account, region: region, lc: lc}
}

type accountSink struct {
	k               *logSink
	account, region string
	lc              logging
}

var levelRank = map[string]int{"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "ERROR": 4, "FATAL": 5}

// platformPrefixes are the lines the platform writes.
var platformPrefixes = []string{"START RequestId:", "END RequestId:", "REPORT RequestId:", "INIT_START ", "INIT_REPORT "}

func isPlatformLine(m string) bool {
	for _, p := range platformPrefixes {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}

// WriteLog implements funcrt.LogSink.
func (a *accountSink) WriteLog(e funcrt.LogEvent) {
	msg := e.Message
	if a.lc.LogFormat == "JSON" {
		var ok bool
		if msg, ok = a.jsonLine(e); !ok {
			return
		}
	}
	a.k.add(streamKey{a.account, a.region, e.LogGroup, e.LogStream}, logs.Event{Time: e.Time, Message: msg})
}

// jsonLine renders a line in Lambda's JSON log format and applies the log
// level filters; ok is false when the line is filtered out.
func (a *accountSink) jsonLine(e funcrt.LogEvent) (string, bool) {
	text := strings.TrimSuffix(e.Message, "\n")
	ts := e.Time.UTC().Format("2006-01-02T15:04:05.000Z")
	if isPlatformLine(text) {
		if levelRank[a.lc.SystemLogLevel] > levelRank["INFO"] {
			return "", false
		}
		typ := "platform." + strings.ToLower(strings.TrimSuffix(strings.Fields(text)[0], ":"))
		if strings.HasPrefix(typ, "platform.init_") {
			typ = "platform." + strings.ReplaceAll(strings.TrimPrefix(typ, "platform."), "_", "")
			typ = strings.Replace(typ, "initstart", "initStart", 1)
			typ = strings.Replace(typ, "initreport", "initReport", 1)
		}
		b, _ := json.Marshal(map[string]any{"time": ts, "type": typ, "record": text})
		return string(b) + "\n", true
	}
	var obj map[string]any
	level := "INFO"
	if json.Unmarshal([]byte(text), &obj) == nil {
		if l, ok := obj["level"].(string); ok {
			level = strings.ToUpper(l)
		}
		if a.lc.ApplicationLogLevel != "" && levelRank[level] < levelRank[a.lc.ApplicationLogLevel] {
			return "", false
		}
		return text + "\n", true
	}
	if a.lc.ApplicationLogLevel != "" && levelRank[level] < levelRank[a.lc.ApplicationLogLevel] {
		return "", false
	}
	b, _ := json.Marshal(map[string]any{"timestamp": ts, "level": level, "message": text})
	return string(b) + "\n", true
}
