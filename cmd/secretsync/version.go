package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildInfo is what version prints: the version set at link time by the
// Makefile, else the module version a `go install ...@vX` build records.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

func currentBuild() buildInfo {
	b := buildInfo{Version: version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				b.Commit = s.Value
			}
		}
	}
	return b
}

func newVersionCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version (also --version)",
		Long: `Print secretsync's version. -o json or yaml adds the commit, the Go version
and the platform. A release build carries the version it was tagged with; a
"go install ...@vX" build reports the module version.`,
		Example: `  secretsync version
  secretsync version -o json`,
		Args: cobra.NoArgs,
	}
	output := addOutput(cmd, "text", "json", "yaml")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		b := currentBuild()
		if output.value == "text" {
			fmt.Fprintln(s.out, b.Version)
			return nil
		}
		return writeData(s.out, output.value, b)
	}
	return cmd
}
