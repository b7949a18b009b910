//go:build race

package sync_test

// raceDetector is whether the race detector is on: tests that measure
// scale then run small.
const raceDetector = true
