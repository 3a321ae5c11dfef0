//go:build race

package wire

// raceEnabled tells tests that the race detector is on.
const raceEnabled = true
