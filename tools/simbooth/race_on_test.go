//go:build race

package main

// raceEnabled builds the simulator under test with the race detector too.
const raceEnabled = true
