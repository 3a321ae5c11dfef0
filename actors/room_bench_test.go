package actors

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/chat/proto/chatpb"
)

// countingSession is the cheapest session: it counts deliveries and signals
// when the expected number has arrived, so the benchmark measures the room.
type countingSession struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (s *countingSession) SendUserMessage(_ *actor.PID, m any) {
	if _, ok := actor.UnwrapEnvelopeMessage(m).(*chatpb.Deliver); ok && s.n.Add(1) == s.want {
		close(s.done)
	}
}
func (s *countingSession) SendSystemMessage(*actor.PID, any) {}
func (s *countingSession) Stop(*actor.PID)                   {}

// BenchmarkRoomFanout publishes public messages to a room of N members and
// reports the cost per delivery (ns/delivery) and allocations per message.
// The room must not allocate per recipient: one Deliver is shared by all.
func BenchmarkRoomFanout(b *testing.B) {
	for _, members := range []int{100, 1000} {
		b.Run("members="+strconv.Itoa(members), func(b *testing.B) {
			chat, err := Start(Config{MsgRate: NoRateLimit, PresenceLimit: -1})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = chat.Stop() })
			sink := &countingSession{want: int64(b.N * members), done: make(chan struct{})}
			root := chat.System().Root
			for i := range members {
				name := "u" + strconv.Itoa(i)
				pid, _ := chat.System().ProcessRegistry.Add(sink, "bench/"+name)
				if _, err := root.RequestFuture(chat.deps.room, &chatpb.Join{User: name, Session: pid}, chat.deps.cfg.AskTimeout).Result(); err != nil {
					b.Fatal(err)
				}
			}
			sender, _ := chat.System().ProcessRegistry.Add(&countingSession{}, "bench/sender")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				root.Send(chat.deps.room, &chatpb.Publish{From: "u0", Text: "hello, room", ReplyTo: sender, Session: sender})
			}
			<-sink.done
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*members), "ns/delivery")
		})
	}
}
