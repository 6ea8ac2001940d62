package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// Profiles of a bench run, so where a figure's time and allocations go can
// be read with go tool pprof on the same cases the table measures.

// startCPUProfile starts a CPU profile into path and returns what stops it.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// writeMemProfile writes the allocation profile (every allocation since
// start: go tool pprof -sample_index=alloc_space) into path.
func writeMemProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: mem profile: %v\n", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		fmt.Fprintf(os.Stderr, "bench: mem profile %s: %v\n", path, err)
	}
}
