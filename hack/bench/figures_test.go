package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestASavedRunIsRecordedBesideTheOtherRuns: -from-log reads the figures,
// spreads, notes and commit of a saved make bench output, and recording a
// run replaces only that run's figures in the figures file.
func TestASavedRunIsRecordedBesideTheOtherRuns(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "bench.log")
	out := "CGO_ENABLED=0 go build -trimpath -ldflags \"-s -w -X main.version=abc1234\" -o bin/secretsync ./cmd/secretsync\n" +
		"assets=... go run ./hack/bench -sizes 1000,10000 -secretsync bin/secretsync\n\n" +
		fmt.Sprintf(tableRow, "figure", "value", "unit", "[min–max]", "target", "note") +
		fmt.Sprintf(tableRow, "cold_apply_10k_seconds", "16.152", "s", "[12.765–16.855]", "", "10000 new Secrets") +
		fmt.Sprintf(tableRow, "rss_10k_mib", "85.664", "MiB", "[84.895–90.688]", "<= 120 met", "peak RSS") +
		"\nbench: cold_apply_10k_seconds 16.152 s [12.765–16.855] \n" +
		"bench: rss_10k_mib 85.664 MiB [84.895–90.688] <= 120 met\n" +
		"bench: cold_aws_calls_10k 500   \n"
	if err := os.WriteFile(log, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "figures.json")
	if err := writeFigures(path, "bench-large", runRecord{Commit: "old"}, []figure{{name: "rss_50k_mib", value: 168, unit: "MiB"}}); err != nil {
		t.Fatal(err)
	}
	if err := writeFigures(path, "bench", runRecord{Commit: "older"}, []figure{{name: "gone", value: 1}}); err != nil {
		t.Fatal(err)
	}
	run, figs, err := figuresFromLog(log)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFigures(path, "bench", run, figs); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got figuresFile
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	bench, large := got.Runs["bench"], got.Runs["bench-large"]
	if bench == nil || large == nil || large.Commit != "old" || large.Figures["rss_50k_mib"].Value != 168 {
		t.Fatalf("the other run was not kept: %s", b)
	}
	if bench.Commit != "abc1234" || bench.Sizes != "1000,10000" || len(bench.Figures) != 3 {
		t.Fatalf("bench run: %s", b)
	}
	cold, rss := bench.Figures["cold_apply_10k_seconds"], bench.Figures["rss_10k_mib"]
	if cold.Value != 16.152 || cold.Unit != "s" || *cold.Min != 12.765 || *cold.Max != 16.855 || cold.Note != "10000 new Secrets" || cold.Target != nil {
		t.Errorf("cold_apply_10k_seconds: %+v", cold)
	}
	if rss.Target == nil || rss.Target.AtLeast || rss.Target.Value != 120 || !rss.Target.Met || rss.Note != "peak RSS" {
		t.Errorf("rss_10k_mib: %+v", rss)
	}
	if calls := bench.Figures["cold_aws_calls_10k"]; calls.Value != 500 || calls.Unit != "" || calls.Min != nil {
		t.Errorf("cold_aws_calls_10k: %+v", calls)
	}
}

// TestARunOfSomeScenariosKeepsTheRunsOtherFigures: -scenarios push with
// -figures merges its figures into the run's record, marked with their own
// commit, and keeps the record's commit and every other figure.
func TestARunOfSomeScenariosKeepsTheRunsOtherFigures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "figures.json")
	if err := writeFigures(path, "bench", runRecord{Commit: "full"}, []figure{{name: "cold_apply_1k_seconds", value: 1.5, unit: "s"}, {name: "push_1k_cold_s", value: 60, unit: "s"}}); err != nil {
		t.Fatal(err)
	}
	if err := mergeFigures(path, "bench", runRecord{Commit: "partial", Date: "2026-12-05"}, []figure{{name: "push_1k_cold_s", value: 54, unit: "s"}, {name: "push_1k_noop_writes", value: 0}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got figuresFile
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	bench := got.Runs["bench"]
	if bench == nil || bench.Commit != "full" || len(bench.Figures) != 3 {
		t.Fatalf("the run's record was not kept: %s", b)
	}
	if f := bench.Figures["cold_apply_1k_seconds"]; f.Value != 1.5 || f.Measured != "" {
		t.Errorf("a figure of the full run changed: %+v", f)
	}
	cold, writes := bench.Figures["push_1k_cold_s"], bench.Figures["push_1k_noop_writes"]
	if cold.Value != 54 || cold.Measured != "commit partial on 2026-12-05, -scenarios run" {
		t.Errorf("push_1k_cold_s: %+v", cold)
	}
	if writes.Target == nil || writes.Target.Value != 0 || !writes.Target.Met {
		t.Errorf("push_1k_noop_writes has no target 0 met: %+v", writes)
	}
}

// TestScenariosChooseWhatRuns: -scenarios push runs only the push
// scenario; all runs every one; an unknown name is refused.
func TestScenariosChooseWhatRuns(t *testing.T) {
	got, err := chooseScenarios("push")
	if err != nil || len(got) != 1 || !got["push"] {
		t.Errorf("push: %v, %v", got, err)
	}
	if all, err := chooseScenarios("all"); err != nil || len(all) != len(scenarioNames) {
		t.Errorf("all: %v, %v", all, err)
	}
	if _, err := chooseScenarios("push,pushes"); err == nil {
		t.Error("an unknown scenario was accepted")
	}
}
