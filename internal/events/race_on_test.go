//go:build race

package events_test

// raceEnabled: the race detector slows dispatch, so timing checks allow more jitter.
const raceEnabled = true
