package funcrt

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/fogbank/fogbank/internal/clock"
)

// Report holds the fields of Lambda's REPORT line.
type Report struct {
	RequestID        string
	Duration         time.Duration
	BilledDurationMs int64
	MemorySizeMB     int
	MaxMemoryUsedMB  int
	// InitDuration is set on a successful cold start only.
	InitDuration time.Duration
	// Status is StatusSuccess, StatusError or StatusTimeout; the line shows
	// it (and the error type) only when it is not a success.
	Status    string
	ErrorType string
}

// Line renders the report in Lambda's text format, fields separated and
// terminated by tabs, with the trailing newline Lambda stores.
func (r Report) Line() string {
	b := make([]byte, 0, 192)
	b = append(b, "REPORT RequestId: "...)
	b = append(b, r.RequestID...)
	b = append(b, "\tDuration: "...)
	b = appendMs(b, r.Duration)
	b = append(b, " ms\tBilled Duration: "...)
	b = strconv.AppendInt(b, r.BilledDurationMs, 10)
	b = append(b, " ms\tMemory Size: "...)
	b = strconv.AppendInt(b, int64(r.MemorySizeMB), 10)
	b = append(b, " MB\tMax Memory Used: "...)
	b = strconv.AppendInt(b, int64(r.MaxMemoryUsedMB), 10)
	b = append(b, " MB\t"...)
	if r.InitDuration > 0 {
		b = append(b, "Init Duration: "...)
		b = appendMs(b, r.InitDuration)
		b = append(b, " ms\t"...)
	}
	switch r.Status {
	case StatusTimeout:
		b = append(b, "Status: timeout\t"...)
	case StatusError:
		if r.ErrorType != "" {
			b = append(b, "Status: error\tError Type: "...)
			b = append(b, r.ErrorType...)
			b = append(b, '\t')
		}
	}
	b = append(b, '\n')
	return string(b)
}

func formatMs(d time.Duration) string { return string(appendMs(nil, d)) }

// appendMs appends d in milliseconds with two decimals (as %.2f does).
func appendMs(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d)/float64(time.Millisecond), 'f', 2, 64)
}

// billedMs rounds a duration up to whole milliseconds (at least 1).
func billedMs(d time.Duration) int64 {
	ms := int64(math.Ceil(float64(d) / float64(time.Millisecond)))
	if ms < 1 {
		ms = 1
	}
	return ms
}

func startLine(reqID, version string) string {
	return "START RequestId: " + reqID + " Version: " + version + "\n"
}

func endLine(reqID string) string { return "END RequestId: " + reqID + "\n" }

func initStartLine(runtimeVersion, region string) string {
	return fmt.Sprintf("INIT_START Runtime Version: %s\tRuntime Version ARN: arn:aws:lambda:%s::runtime:%s\n",
		runtimeVersion, region, hexDigest(runtimeVersion))
}

func initReportLine(d time.Duration, status, errType string) string {
	s := fmt.Sprintf("INIT_REPORT Init Duration: %s ms\tPhase: init\tStatus: %s\t", formatMs(d), status)
	if errType != "" {
		s += "Error Type: " + errType + "\t"
	}
	return s + "\n"
}

// timeoutLine is the line Lambda writes when it kills a timed-out invocation.
func timeoutLine(t time.Time, reqID string, timeout time.Duration) string {
	return fmt.Sprintf("%s %s Task timed out after %.2f seconds\n",
		t.UTC().Format("2006-01-02T15:04:05.000Z"), reqID, timeout.Seconds())
}

// logCapture reads an environment's merged stdout/stderr pipe, splits it
// into lines and hands them, with the platform lines, to the sink and to the
// running invocation's tail. Every read of the pipe happens under mu, so
// flush can drain exactly what the function wrote before it answered.
type logCapture struct {
	sink   LogSink
	clk    clock.Clock
	fn     string
	group  string
	stream string
	r      *os.File
	done   chan struct{}

	mu      sync.Mutex
	partial []byte
	tail    *tailBuf
	buf     []byte
}

func newLogCapture(r *os.File, sink LogSink, clk clock.Clock, fn, group, stream string) *logCapture {
	return &logCapture{sink: sink, clk: clk, fn: fn, group: group, stream: stream, r: r,
		done: make(chan struct{}), buf: make([]byte, 64*1024)}
}

// run reads until the pipe's last writer closes it or r is closed.
func (c *logCapture) run() {
	defer close(c.done)
	rc, err := c.r.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Read(func(fd uintptr) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.drainLocked(fd)
	})
	c.mu.Lock()
	c.flushPartialLocked()
	c.mu.Unlock()
}

// drainLocked reads everything available now; it reports true at EOF or on
// an error other than EAGAIN.
func (c *logCapture) drainLocked(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), c.buf)
		if n > 0 {
			c.consumeLocked(c.buf[:n])
			continue
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if errors.Is(err, syscall.EAGAIN) {
			return false
		}
		return true // n == 0: EOF, or a real error
	}
}

// flush consumes whatever is in the pipe now, and emits a trailing partial line.
func (c *logCapture) flush() {
	rc, err := c.r.SyscallConn()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		_ = rc.Control(func(fd uintptr) { c.drainLocked(fd) })
	}
	c.flushPartialLocked()
}

func (c *logCapture) consumeLocked(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.partial = append(c.partial, p...)
			for len(c.partial) >= maxLogLine {
				c.emitLocked(string(c.partial[:maxLogLine]) + "\n")
				c.partial = append(c.partial[:0], c.partial[maxLogLine:]...)
			}
			return
		}
		line := p[:i+1]
		p = p[i+1:]
		if len(c.partial) > 0 {
			c.partial = append(c.partial, line...)
			line = c.partial
		}
		for len(line) > maxLogLine+1 {
			c.emitLocked(string(line[:maxLogLine]) + "\n")
			line = line[maxLogLine:]
		}
		c.emitLocked(string(line))
		c.partial = c.partial[:0]
	}
}

func (c *logCapture) flushPartialLocked() {
	if len(c.partial) > 0 {
		c.emitLocked(string(c.partial) + "\n")
		c.partial = c.partial[:0]
	}
}

func (c *logCapture) emitLocked(msg string) {
	if c.sink != nil {
		c.sink.WriteLog(LogEvent{FunctionName: c.fn, LogGroup: c.group, LogStream: c.stream, Time: c.clk.Now(), Message: msg})
	}
	if c.tail != nil {
		c.tail.write(msg)
	}
}

// platform emits a line written by the platform itself (START, END, ...).
func (c *logCapture) platform(msg string) {
	c.mu.Lock()
	c.emitLocked(msg)
	c.mu.Unlock()
}

// begin starts collecting a tail for a new invocation.
func (c *logCapture) begin() {
	c.mu.Lock()
	c.tail = &tailBuf{}
	c.mu.Unlock()
}

// end stops collecting and returns the invocation's tail.
func (c *logCapture) end() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tail == nil {
		return nil
	}
	out := c.tail.bytes()
	c.tail = nil
	return out
}

// tailBuf keeps the last LogTailSize bytes written to it.
type tailBuf struct{ b []byte }

func (t *tailBuf) write(s string) {
	t.b = append(t.b, s...)
	if len(t.b) > 2*LogTailSize {
		n := copy(t.b, t.b[len(t.b)-LogTailSize:])
		t.b = t.b[:n]
	}
}

func (t *tailBuf) bytes() []byte {
	b := t.b
	if len(b) > LogTailSize {
		b = b[len(b)-LogTailSize:]
	}
	return append([]byte(nil), b...)
}
