package server

import (
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/actorchat/chat/actors/store"
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
// all inboxes, the messages the actors hold of them, and supervision
// events by directive.
func (s *Server) ObserveActors(reg prometheus.Registerer) {
	restarts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chat_supervision_events_total",
		Help: "Failed actors handled by their supervisor, by directive (restart, stop)."}, []string{"directive"})
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chat_inbox_messages", Help: "Private messages waiting in all inboxes, queued or unconfirmed."},
		func() float64 { return float64(s.chat.InboxDepth()) })
	held := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chat_inbox_held_messages", Help: "Private messages user actors hold in memory: the delivery windows of live sessions."},
		func() float64 { return float64(s.chat.HeldMessages()) })
	reg.MustRegister(restarts, depth, held)
	s.system().EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(*actor.SupervisorEvent); ok {
			restarts.WithLabelValues(strings.ToLower(strings.TrimSuffix(e.Directive.String(), "Directive"))).Inc()
		}
	})
}

// StoreUsage is what ObserveStore reads: store.Store's Usage.
type StoreUsage interface {
	Usage() (store.Usage, error)
}

// ObserveStore registers the store's size and what its caps count, read
// from st once per scrape; maxQueued is the cap on queued bytes (0: none),
// reported beside them for alerts. A scrape while the store cannot answer
// (a database that is down) leaves them out rather than failing.
func ObserveStore(reg prometheus.Registerer, st StoreUsage, maxQueued int64) {
	reg.MustRegister(&storeCollector{st: st, max: maxQueued})
}

// storeCollector is the prometheus.Collector of ObserveStore.
type storeCollector struct {
	st  StoreUsage
	max int64
}

var (
	storeBytesDesc = prometheus.NewDesc("chat_store_bytes",
		"Size of the store: the bbolt file, the PostgreSQL tables with their indexes, or the records a memory store holds.", nil, nil)
	storeFreeDesc = prometheus.NewDesc("chat_store_free_bytes",
		"Bytes of the bbolt file that hold nothing: bbolt reuses them, and chatd compact gives them back (0 for other stores).", nil, nil)
	queuedBytesDesc = prometheus.NewDesc("chat_store_queued_bytes",
		"Stored bytes of the private messages waiting in all inboxes: what -store-max-bytes caps.", nil, nil)
	queuedMessagesDesc = prometheus.NewDesc("chat_store_queued_messages",
		"Private messages waiting in all inboxes, in the store: those of users whose actors are not running too.", nil, nil)
	queuedMaxDesc = prometheus.NewDesc("chat_store_queued_max_bytes",
		"The cap on chat_store_queued_bytes (-store-max-bytes); 0 is none.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{storeBytesDesc, storeFreeDesc, queuedBytesDesc, queuedMessagesDesc, queuedMaxDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(queuedMaxDesc, prometheus.GaugeValue, float64(c.max))
	u, err := c.st.Usage()
	if err != nil {
		return
	}
	for _, m := range []struct {
		d *prometheus.Desc
		v int64
	}{
		{storeBytesDesc, u.StoreBytes}, {storeFreeDesc, u.FreeBytes},
		{queuedBytesDesc, u.QueuedBytes}, {queuedMessagesDesc, u.QueuedMessages},
	} {
		ch <- prometheus.MustNewConstMetric(m.d, prometheus.GaugeValue, float64(m.v))
	}
}
