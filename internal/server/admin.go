package server

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fogbank/fogbank/internal/identity"
)

// adminMux serves /metrics and the /_fogbank/ endpoints. Endpoints that
// change state answer only loopback clients.
func (s *Server) adminMux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /_fogbank/health", s.handleHealth)
	mux.HandleFunc("GET /_fogbank/clock", s.handleClock)
	mux.HandleFunc("POST /_fogbank/clock/advance", loopbackOnly(s.handleClockAdvance))
	mux.HandleFunc("POST /_fogbank/reset", loopbackOnly(s.handleReset))
	mux.HandleFunc("GET /_fogbank/accounts", loopbackOnly(s.handleListAccounts))
	mux.HandleFunc("POST /_fogbank/accounts", loopbackOnly(s.handleCreateAccount))
	mux.HandleFunc("POST /_fogbank/keys", loopbackOnly(s.handleCreateKey))
	mux.HandleFunc("POST /_fogbank/trail/flush", loopbackOnly(s.handleTrailFlush))
	return mux
}

func loopbackOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "admin endpoints answer loopback clients only"})
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// Health is the body of GET /_fogbank/health.
type Health struct {
	Status   string            `json:"status"`
	Version  string            `json:"version"`
	Storage  string            `json:"storage"`
	Services map[string]string `json:"services"`
	Uptime   string            `json:"uptime"`
	Clock    time.Time         `json:"clock"`
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	h := Health{Status: "running", Version: s.cfg.Version, Storage: s.backend.Mode(), Services: map[string]string{},
		Uptime: time.Since(s.started).Round(time.Millisecond).String(), Clock: s.clock.Now().UTC()}
	for _, name := range knownServices {
		h.Services[name] = "disabled"
	}
	for _, svc := range s.services {
		h.Services[svc.Name()] = "running"
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) handleClock(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"now": s.clock.Now().UTC(), "speed": s.clock.Speed()})
}

// handleClockAdvance moves the clock: body {"seconds": N} or ?by=<duration>.
func (s *Server) handleClockAdvance(w http.ResponseWriter, r *http.Request) {
	var d time.Duration
	if by := r.URL.Query().Get("by"); by != "" {
		v, err := time.ParseDuration(by)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad duration: " + err.Error()})
			return
		}
		d = v
	} else {
		var in struct {
			Seconds float64 `json:"seconds"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": `want {"seconds": N} or ?by=1h`})
			return
		}
		d = time.Duration(in.Seconds * float64(time.Second))
	}
	if d < 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the clock only moves forward"})
		return
	}
	s.clock.Advance(d)
	s.handleClock(w, r)
}

// handleReset wipes state: all, or ?service=name for one service.
func (s *Server) handleReset(w http.ResponseWriter, r *http.Request) {
	svc := r.URL.Query().Get("service")
	var prefixes []string
	if svc != "" {
		if _, ok := s.byName[svc]; !ok && svc != "trail" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unknown service " + svc})
			return
		}
		prefixes = []string{svc + ".", svc + "/"}
	}
	if err := s.trail.Flush(r.Context()); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	if err := s.backend.Reset(r.Context(), prefixes...); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	s.identity.Invalidate()
	for _, sv := range s.services {
		// Services that cache state in memory drop it after a reset.
		if inv, ok := sv.(interface{ Invalidate() }); ok && (svc == "" || sv.Name() == svc) {
			inv.Invalidate()
		}
	}
	if svc == "" {
		if err := s.identity.Bootstrap(r.Context()); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"reset": orAll(svc)})
}

func orAll(s string) string {
	if s == "" {
		return "all"
	}
	return s
}

func (s *Server) handleListAccounts(w http.ResponseWriter, r *http.Request) {
	accts, err := s.identity.Accounts(r.Context())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, accts)
}

func (s *Server) handleCreateAccount(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `want {"id": "123456789012"}`})
		return
	}
	a, err := s.identity.CreateAccount(r.Context(), in.ID)
	switch {
	case errors.Is(err, identity.ErrInvalidAccount):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	case errors.Is(err, identity.ErrAccountExists):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusCreated, a)
	}
}

func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Account  string `json:"account"`
		UserName string `json:"userName"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `want {"account": "123456789012"}`})
		return
	}
	k, err := s.identity.CreateKey(r.Context(), in.Account, in.UserName)
	switch {
	case errors.Is(err, identity.ErrNoAccount):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusCreated, map[string]string{"accessKeyId": k.AccessKeyID, "secretAccessKey": k.Secret, "account": k.Account})
	}
}

func (s *Server) handleTrailFlush(w http.ResponseWriter, r *http.Request) {
	if err := s.trail.Flush(r.Context()); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"flushed": "ok"})
}
