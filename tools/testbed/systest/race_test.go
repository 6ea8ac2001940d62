//go:build race

package systest

// raceEnabled: under the race detector modernc's SQLite (C translated to Go)
// runs many times slower, so the large tests do less.
const raceEnabled = true
