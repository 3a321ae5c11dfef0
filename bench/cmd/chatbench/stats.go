package main

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram records durations in log-linear buckets: exact below 128 ns, and
// above that 128 buckets per power of two, so a bucket spans less than 1/128
// of its values. Record is lock-free and may be called from any goroutine;
// Snapshot may run concurrently with Record and sees some consistent-enough
// prefix (callers take it after recording stopped).
type histogram struct {
	// Updated atomically by Record.
	counts [histBuckets]atomic.Uint64
	max    atomic.Int64
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits // buckets per power of two, and exact range
	histBuckets = (64 - histSubBits) * histSub
)

// histBucket returns the bucket index of v (v >= 0).
func histBucket(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1
	return (shift+1)*histSub + int(v>>uint(shift)) - histSub
}

// histUpper returns the largest value that falls in bucket i.
func histUpper(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	shift := uint(i/histSub - 1)
	mant := uint64(i%histSub + histSub)
	if shift >= 64-histSubBits-1 {
		return math.MaxInt64
	}
	return (mant+1)<<shift - 1
}

// Record adds one duration; negative ones count as zero.
func (h *histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[histBucket(uint64(v))].Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// latencySummary is what a report shows of a latency distribution.
type latencySummary struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// Summary returns the count, the 50th/95th/99th percentiles and the maximum.
func (h *histogram) Summary() latencySummary {
	s := h.snapshot()
	return latencySummary{
		Count: s.total,
		P50:   ms(s.percentile(50)),
		P95:   ms(s.percentile(95)),
		P99:   ms(s.percentile(99)),
		Max:   ms(time.Duration(s.max)),
	}
}

// histSnapshot is a plain copy of a histogram, owned by its caller.
type histSnapshot struct {
	counts []uint64
	total  uint64
	max    int64
}

func (h *histogram) snapshot() histSnapshot {
	s := histSnapshot{counts: make([]uint64, histBuckets), max: h.max.Load()}
	for i := range h.counts {
		s.counts[i] = h.counts[i].Load()
		s.total += s.counts[i]
	}
	return s
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100): the
// smallest recorded value such that at least p% of the values are at most it.
// It answers with the upper bound of that value's bucket (never more than the
// maximum), so it is never below the true percentile and exceeds it by less
// than 1/128. With no values it returns 0.
func (s histSnapshot) percentile(p float64) time.Duration {
	if s.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(p / 100 * float64(s.total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range s.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(histUpper(i), uint64(s.max)))
		}
	}
	return time.Duration(s.max)
}

// ms converts d to fractional milliseconds for reports.
func ms(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}
