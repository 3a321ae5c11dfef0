//go:build !unix

package store

import "time"

// processCPU is not measured on this platform; benchmarks then skip the
// cpu-µs/msg metric.
func processCPU() time.Duration { return 0 }
