package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseStatCPUCountsFromTheLastParenthesis(t *testing.T) {
	t.Parallel()
	// A command name with blanks and a ')' must not shift the fields.
	line := "4242 (we ird) name) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 37 0 0 20 0 9 0 12345 1000000 500 18446744073709551615\n"
	got, err := parseStatCPU([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := (250 + 37) * clockTick; got != want {
		t.Errorf("cpu %v, want %v", got, want)
	}
	if _, err := parseStatCPU([]byte("4242 (x) S 1 2")); err == nil {
		t.Error("short stat line accepted")
	}
}

func TestParseStatusRSS(t *testing.T) {
	t.Parallel()
	status := "Name:\tchatd\nVmPeak:\t  9999 kB\nVmRSS:\t   12345 kB\nThreads:\t9\n"
	got, err := parseStatusRSS([]byte(status))
	if err != nil || got != 12345 {
		t.Fatalf("rss %d, %v", got, err)
	}
	if _, err := parseStatusRSS([]byte(strings.ReplaceAll(status, "VmRSS", "VmHWM"))); err == nil {
		t.Error("status without VmRSS accepted")
	}
}

func TestReadOwnCPUAndRSS(t *testing.T) {
	t.Parallel()
	before, err := readCPU(0)
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the tick-granular counter moves (bounded).
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	for now := before; now == before && time.Now().Before(deadline); now, _ = readCPU(0) {
		for i := range 1_000_000 {
			x += i
		}
	}
	after, _ := readCPU(0)
	if after <= before {
		t.Errorf("cpu did not advance: %v -> %v (%d)", before, after, x)
	}
	if kib, err := readRSS(0); err != nil || kib <= 0 {
		t.Errorf("rss %d, %v", kib, err)
	}
}
