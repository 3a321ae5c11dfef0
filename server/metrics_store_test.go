package server_test

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/actorchat/chat/actors/store"
	"github.com/actorchat/chat/proto/chatpb"
	"github.com/actorchat/chat/server"
)

// gauges gathers reg and returns its gauges by name.
func gauges(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			out[f.GetName()] = m.GetGauge().GetValue()
		}
	}
	return out
}

// The store's metrics are what its Usage says at the scrape, beside the
// cap they are measured against.
func TestStoreMetrics(t *testing.T) {
	t.Parallel()
	mem := store.NewMemory(store.Config{})
	t.Cleanup(func() { _ = mem.Close() })
	for _, id := range []string{"1", "2"} {
		mem.Enqueue(&chatpb.Message{Id: id, Kind: chatpb.Kind_KIND_DM, From: "alice", To: "bob", Text: "hi"}, nil)
	}
	u, err := mem.Usage()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	server.ObserveStore(reg, mem, 12345)
	got := gauges(t, reg)
	want := map[string]float64{
		"chat_store_queued_messages": 2, "chat_store_queued_bytes": float64(u.QueuedBytes),
		"chat_store_bytes": float64(u.StoreBytes), "chat_store_free_bytes": 0, "chat_store_queued_max_bytes": 12345,
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
	if u.QueuedBytes == 0 {
		t.Fatal("two queued messages of no bytes")
	}
}

// failingUsage is a store that cannot answer (a database that is down).
type failingUsage struct{}

func (failingUsage) Usage() (store.Usage, error) { return store.Usage{}, errors.New("down") }

// A store that cannot answer leaves its metrics out of the scrape, which
// still succeeds.
func TestStoreMetricsWhenTheStoreIsDown(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	server.ObserveStore(reg, failingUsage{}, 7)
	got := gauges(t, reg)
	if len(got) != 1 || got["chat_store_queued_max_bytes"] != 7 {
		t.Fatalf("scraped %v, want the cap alone", got)
	}
}
