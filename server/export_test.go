package server

// RaceEnabled tells the external tests (package server_test) whether the
// race detector is on, so that load tests can keep their rates modest
// under it.
const RaceEnabled = raceEnabled
