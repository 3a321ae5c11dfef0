package server

import (
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/server/transport"
)

// Metrics are the edge's Prometheus metrics. All are safe for concurrent
// use; label values come from the two error vocabularies, so their number
// is bounded.
type Metrics struct {
	connsOpen     prometheus.Gauge
	refused       *prometheus.CounterVec // by reason: the labels of credentials.go's refusals and admission.go's
	closes        *prometheus.CounterVec // by close reason
	framesIn      prometheus.Counter
	framesOut     prometheus.Counter
	publicOut     prometheus.Counter     // chat_deliveries_total{kind="public"}, resolved once: it is per delivery
	dmOut         prometheus.Counter     // chat_deliveries_total{kind="dm"}
	errors        *prometheus.CounterVec // by protocol error code
	rateLimited   prometheus.Counter
	slowConsumers prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg; a nil reg
// keeps them unregistered (tests, or metrics turned off).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chat_connections_open", Help: "WebSocket connections open now."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chat_connections_refused_total", Help: "Connections refused before the upgrade, by reason."}, []string{"reason"}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chat_connections_closed_total", Help: "Connections closed, by close reason."}, []string{"reason"}),
		framesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chat_frames_in_total", Help: "Frames read from clients."}),
		framesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chat_frames_out_total", Help: "Frames written to clients, control frames included."}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chat_errors_total", Help: "Error frames sent, by protocol error code."}, []string{"code"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chat_rate_limited_total", Help: "Messages refused by the per-user rate limit."}),
		slowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chat_slow_consumer_disconnects_total", Help: "Connections closed with 4001 because their outbox overflowed."}),
	}
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chat_deliveries_total", Help: "Messages handed to connections, by kind (public, dm)."}, []string{"kind"})
	m.publicOut, m.dmOut = deliveries.WithLabelValues("public"), deliveries.WithLabelValues("dm")
	if reg != nil {
		reg.MustRegister(m.connsOpen, m.refused, m.closes, m.framesIn, m.framesOut,
			deliveries, m.errors, m.rateLimited, m.slowConsumers)
	}
	return m
}

func (m *Metrics) countError(code chatpb.ErrorCode) {
	m.errors.WithLabelValues(string(wireCode(code))).Inc()
	if code == chatpb.ErrorCode_ERROR_CODE_RATE_LIMITED {
		m.rateLimited.Inc()
	}
}

// countBatch counts a written batch (transport.Config.OnWrite): once per
// batch rather than once per frame, because the counters are shared by
// every connection's writer. Deliveries are the frames tagged with their
// kind (outbound.go).
func (m *Metrics) countBatch(t transport.Tally) {
	m.framesOut.Add(float64(t.Frames))
	if n := t.Tags[tagPublic]; n > 0 {
		m.publicOut.Add(float64(n))
	}
	if n := t.Tags[tagDM]; n > 0 {
		m.dmOut.Add(float64(n))
	}
}

// ObserveActors registers metrics read from the actor system: the depth of
// all inboxes, and supervision events by directive.
func (s *Server) ObserveActors(reg prometheus.Registerer) {
	restarts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chat_supervision_events_total",
		Help: "Failed actors handled by their supervisor, by directive (restart, stop)."}, []string{"directive"})
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chat_inbox_messages", Help: "Private messages waiting in all inboxes, queued or unconfirmed."},
		func() float64 { return float64(s.chat.InboxDepth()) })
	reg.MustRegister(restarts, depth)
	s.system().EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(*actor.SupervisorEvent); ok {
			restarts.WithLabelValues(strings.ToLower(strings.TrimSuffix(e.Directive.String(), "Directive"))).Inc()
		}
	})
}
