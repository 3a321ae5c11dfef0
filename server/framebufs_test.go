package server

import (
	"testing"

	"github.com/actorchat/chat/proto/chatpb"
)

// BenchmarkSessionDM measures the edge's share of one private message:
// the recipient's session renders and queues the delivery, the sender's
// the receipt, and the transport hands the frames back once written
// (Release), as it does after a write. The network is left out.
func BenchmarkSessionDM(b *testing.B) {
	conns := benchSessions(2)
	msg := &chatpb.Message{Id: "01JD8Z3K4M5N6P7Q8R9S0T1V2W", Kind: chatpb.Kind_KIND_DM,
		From: "alice", To: "bob", Text: "Hello bob, how is the release going?", TsUnixMs: 1795867200123}
	b.ReportAllocs()
	for b.Loop() {
		conns[1].SendUserMessage(nil, &chatpb.Deliver{Message: msg, Seq: 1})
		conns[0].SendUserMessage(nil, &chatpb.Sent{Id: msg.Id, TsUnixMs: msg.TsUnixMs})
		for _, c := range conns {
			for _, f := range c.link().frames {
				if f.Release != nil {
					f.Release()
				}
			}
			c.link().reset()
		}
	}
}

// A receipt's and a private message's frames are what appendEvent renders,
// and each session's own.
func TestPooledFramesRenderLikeFreshOnes(t *testing.T) {
	t.Parallel()
	conns := benchSessions(1)
	msg := &chatpb.Message{Id: "m1", Kind: chatpb.Kind_KIND_DM, From: "alice", To: "bob", Text: "hi \"bob\"", TsUnixMs: 1}
	for _, ev := range []any{&chatpb.Deliver{Message: msg, Seq: 3}, &chatpb.Sent{Id: "m1", TsUnixMs: 1, Queued: true}} {
		for range 3 { // the second and third come from the pool
			conns[0].SendUserMessage(nil, ev)
			f := conns[0].link().frames[0]
			want, _ := appendEvent(nil, ev)
			if string(f.Data) != string(want) {
				t.Fatalf("%T: %q, want %q", ev, f.Data, want)
			}
			if f.Release == nil {
				t.Fatalf("%T: no Release, want a pooled buffer", ev)
			}
			f.Release()
			conns[0].link().reset()
		}
	}
}
