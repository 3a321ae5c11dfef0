//go:build !race

package server

// raceEnabled tells tests that the race detector is on.
const raceEnabled = false
