package main

import (
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// cli runs `secretsync name args...` in-process and returns its exit code.
func cli(name string, args []string, stdout, stderr io.Writer) int {
	return cliIn(name, args, strings.NewReader(""), stdout, stderr)
}

func cliIn(name string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return execute(append([]string{name}, args...), streams{stdin, stdout, stderr})
}

// parseRun parses run's flags and config file as the command does.
func parseRun(args []string) (*runConfig, error) {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := addRunFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return c, c.check(fs)
}
