package transport

import (
	"strconv"
	"testing"

	"github.com/gorilla/websocket"
)

// BenchmarkOutboxPushTake measures a connection's queue in the steady
// state as the write loop drives it: a burst of pushes, a take, a recycle,
// and the empty take that ends the loop. It must not allocate.
func BenchmarkOutboxPushTake(b *testing.B) {
	for _, burst := range []int{1, 16, 256} {
		b.Run(benchName("burst", burst), func(b *testing.B) {
			o := outbox{max: 1 << 20}
			f := frame{op: websocket.TextMessage, Frame: Frame{Data: make([]byte, 150)}}
			b.ReportAllocs()
			for i := 0; i < b.N; i += burst {
				for j := 0; j < burst; j++ {
					o.push(f)
				}
				o.recycle(o.take())
				if o.take() != nil {
					b.Fatal("outbox not empty after a take")
				}
			}
		})
	}
}

func benchName(what string, n int) string {
	return what + "=" + strconv.Itoa(n)
}
