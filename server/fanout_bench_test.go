package server

import (
	"strconv"
	"testing"

	"github.com/actorchat/chat/proto/chatpb"
)

// BenchmarkSessionFanout measures the edge's share of a public message's
// fan-out: the room hands one Deliver to every member's session, one after
// the other, and each session turns it into a frame and queues it. The
// write loop's part is the outbox take; the network is left out (the
// load tool measures that). ns/delivery is the cost per recipient,
// allocs/op is per message.
func BenchmarkSessionFanout(b *testing.B) {
	for _, members := range []int{100, 1000} {
		b.Run("members="+strconv.Itoa(members), func(b *testing.B) {
			conns := benchSessions(members)
			msg := &chatpb.Message{Id: "01JD8Z3K4M5N6P7Q8R9S0T1V2W", Kind: chatpb.Kind_KIND_PUBLIC,
				From: "alice", Text: "Hello everyone, how is the release going?", TsUnixMs: 1795867200123}
			b.ReportAllocs()
			for b.Loop() {
				d := roomDeliver(msg)
				for _, c := range conns {
					c.SendUserMessage(nil, d)
				}
				for _, c := range conns {
					c.link().reset()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*members), "ns/delivery")
		})
	}
}

// roomDeliver is what the room does once per public message before its
// fan-out: one Deliver, shared by every recipient.
func roomDeliver(msg *chatpb.Message) *chatpb.Deliver {
	return &chatpb.Deliver{Message: msg}
}
