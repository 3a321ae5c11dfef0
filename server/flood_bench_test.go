package server_test

// The flood benchmark: one flooder must not hurt the others'
// latency. Compare the two sub-benchmarks' p99-ms (target: flood within
// 2x of noflood):
//
//	go test -run '^$' -bench ChatLatency -count 5 ./server/

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/actorchat/chat/actors"
	"github.com/actorchat/chat/server"
)

// h4BenchPace is the interval between two chatters' messages: 100 a second
// in all, 5 a second for each of the 20 chatters, half the rate limit.
const h4BenchPace = 10 * time.Millisecond

// BenchmarkChatLatency measures how long a public message takes from a
// chatter's send to each of the 20 chatters' reads (the sender's own copy
// included), with 20 chatters sending in turn at a fixed pace. The flood
// variant adds a client sending public messages at 50x the rate limit for
// the whole run. It reports p50-ms and p99-ms over every delivery; ns/op
// would only be the pace, so it is suppressed.
func BenchmarkChatLatency(b *testing.B) {
	b.Run("noflood", func(b *testing.B) { h4BenchLatency(b, false) })
	b.Run("flood", func(b *testing.B) { h4BenchLatency(b, true) })
}

func h4BenchLatency(b *testing.B, flood bool) {
	e := h4Start(b, actors.Config{MsgRate: h4Rate, MsgBurst: h4Burst, FloodWindow: time.Hour}, server.Config{})
	chatters := make([]*h4Client, h4Chatters)
	for i := range chatters {
		chatters[i] = h4Join(b, e, fmt.Sprint("chatter", i))
	}
	if flood {
		flooder := h4Join(b, e, "flooder")
		stop, done := make(chan struct{}), make(chan struct{})
		go func() { h4Flooder(flooder, stop, math.MaxInt); close(done) }()
		defer func() { close(stop); <-done }()
	}

	var sentAt []time.Time
	tick := time.NewTicker(h4BenchPace)
	defer tick.Stop()
	for b.Loop() {
		<-tick.C
		i := len(sentAt)
		sentAt = append(sentAt, time.Now())
		if err := chatters[i%len(chatters)].send(h4Say(fmt.Sprint("lat ", i), "")); err != nil {
			b.Fatal(err)
		}
	}
	lat := h4Latencies(b, chatters, sentAt)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(h4Percentile(lat, 50), "p50-ms")
	b.ReportMetric(h4Percentile(lat, 99), "p99-ms")
}

// h4Latencies waits until every chatter has read every measured message
// and returns each delivery's latency in milliseconds. A chatter refused
// anything (it stays under the limit) fails the benchmark.
func h4Latencies(b *testing.B, chatters []*h4Client, sentAt []time.Time) []float64 {
	var lat []float64
	for _, c := range chatters {
		c.waitUntil(b, "every measured message", func(fs []h4Frame) bool {
			n := 0
			for _, f := range fs {
				if f.Type == "message" && strings.HasPrefix(f.Text, "lat ") {
					n++
				}
			}
			return n == len(sentAt)
		})
		fs, _, _ := c.snapshot()
		for _, f := range fs {
			if f.Type == "error" {
				b.Fatalf("%s was refused: %s %s", c.user, f.Code, f.Message)
			}
			if i, err := strconv.Atoi(strings.TrimPrefix(f.Text, "lat ")); f.Type == "message" && err == nil {
				lat = append(lat, float64(f.at.Sub(sentAt[i]))/float64(time.Millisecond))
			}
		}
	}
	return lat
}

// h4Percentile returns the p-th percentile (nearest rank) of xs.
func h4Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}
