//go:build race

package store_test

// raceEnabled: under the race detector modernc's SQLite (C translated to Go)
// runs about twenty times slower, so the property test runs fewer cases.
const raceEnabled = true
