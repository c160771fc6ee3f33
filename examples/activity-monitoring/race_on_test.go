//go:build race

package main

// raceEnabled: the race detector slows the flow several times over.
const raceEnabled = true
