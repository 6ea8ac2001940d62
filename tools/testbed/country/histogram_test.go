package main

import (
	"math"
	"testing"
)

func TestHistogramQuantile(t *testing.T) {
	inf := math.Inf(1)
	before := histogram{0.01: 10, 0.1: 10, 0.4: 10, inf: 10}
	after := histogram{0.01: 900, 0.1: 990, 0.4: 1009, inf: 1010}
	d := after.since(before) // 890 ≤ 10 ms, 980 ≤ 100 ms, 999 ≤ 400 ms, 1000 in all
	tests := []struct {
		q    float64
		want float64
	}{{0.5, 0.01}, {0.89, 0.01}, {0.95, 0.1}, {0.98, 0.1}, {0.99, 0.4}, {0.999, 0.4}, {1, inf}}
	for _, tt := range tests {
		if got := d.quantile(tt.q); got != tt.want {
			t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := (histogram{}).quantile(0.99); !math.IsInf(got, 1) {
		t.Errorf("quantile of nothing = %v, want +Inf", got)
	}
}
