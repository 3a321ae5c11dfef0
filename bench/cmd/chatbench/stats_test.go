package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactPercentile is the nearest-rank percentile of sorted values.
func exactPercentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(float64(len(sorted))*p/100 + 0.999999999)
	return sorted[max(rank, 1)-1]
}

func TestPercentileSmallValuesAreExact(t *testing.T) {
	t.Parallel()
	var h histogram
	for v := 1; v <= 100; v++ {
		h.Record(time.Duration(v))
	}
	s := h.snapshot()
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {95, 95}, {99, 99}, {100, 100}, {1, 1}, {0.5, 1}} {
		if got := s.percentile(c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
}

func TestPercentileIsNeverBelowAndWithinABucketOfTheTruth(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	var h histogram
	vals := make([]time.Duration, 20000)
	for i := range vals {
		// Log-uniform from 1 µs to 1 s, like latencies.
		vals[i] = time.Duration(float64(time.Microsecond) * math.Pow(10, rng.Float64()*6))
		h.Record(vals[i])
	}
	slices.Sort(vals)
	s := h.snapshot()
	for _, p := range []float64{1, 10, 50, 90, 95, 99, 99.9, 100} {
		want, got := exactPercentile(vals, p), s.percentile(p)
		if got < want || float64(got) > float64(want)*(1+1.0/histSub) {
			t.Errorf("p%v = %v, exact %v", p, got, want)
		}
	}
	if s.percentile(100) != vals[len(vals)-1] {
		t.Errorf("p100 %v, max %v", s.percentile(100), vals[len(vals)-1])
	}
}

func TestPercentileSummaryOfEmptyAndSingle(t *testing.T) {
	t.Parallel()
	var h histogram
	if s := h.Summary(); s.Count != 0 || s.P99 != 0 || s.Max != 0 {
		t.Errorf("empty summary %+v", s)
	}
	h.Record(-5) // clock step: counted as zero, not lost
	h.Record(3 * time.Millisecond)
	s := h.Summary()
	if s.Count != 2 || s.P50 != 0 || s.Max != 3 || s.P99 != 3 {
		t.Errorf("summary %+v", s)
	}
}

func TestHistBucketBoundsAreContiguous(t *testing.T) {
	t.Parallel()
	for i := 1; i < histBuckets; i++ {
		lo := histUpper(i-1) + 1
		if histBucket(lo) != i || histBucket(histUpper(i)) != i {
			t.Fatalf("bucket %d: lower %d maps to %d, upper %d maps to %d",
				i, lo, histBucket(lo), histUpper(i), histBucket(histUpper(i)))
		}
	}
}
