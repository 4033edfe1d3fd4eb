package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/review"
)

// writeData prints v as JSON or YAML, the two machine formats every
// command that prints objects has. YAML is made from the JSON, so both
// use the same field names.
func writeData(w io.Writer, format string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if format == "yaml" {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// colorOn says whether w is a terminal that takes colour: never when
// NO_COLOR is set (https://no-color.org).
func colorOn(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd()) && os.Getenv("NO_COLOR") == ""
}

// writeFindings prints validation findings in one of the review formats.
// table is one line each; github is a workflow command each, so that
// GitHub Actions shows the finding on the line of the pull request's diff
// (new findings as errors, those the base already had as warnings).
func writeFindings(w io.Writer, format string, findings []review.Finding) error {
	switch format {
	case "json", "yaml":
		return writeData(w, format, map[string]any{"findings": nonNil(findings)})
	case "markdown":
		for _, f := range findings {
			fmt.Fprintf(w, "- `%s`\n", strings.NewReplacer("`", "'", "\n", " ").Replace(f.String()))
		}
	case "github":
		for _, f := range findings {
			fmt.Fprintln(w, githubAnnotation(f))
		}
	default:
		for _, f := range findings {
			fmt.Fprintln(w, f)
		}
	}
	return nil
}

// githubAnnotation is f as a GitHub Actions workflow command:
// ::error file=F,line=L,title=T::message, escaped as the runner expects.
func githubAnnotation(f review.Finding) string {
	level := "error"
	if f.Status == "existing" {
		level = "warning"
	}
	props := "file=" + ghProperty(f.File)
	if f.Line > 0 {
		props += fmt.Sprintf(",line=%d", f.Line)
	}
	title := "secretsync"
	if f.Kind != "" {
		title += ": " + f.Kind + " " + strings.Trim(f.Namespace+"/"+f.Name, "/")
	}
	props += ",title=" + ghProperty(title)
	msg := f.Message
	if f.Field != "" {
		msg = f.Field + ": " + msg
	}
	if len(f.Stops) > 0 {
		msg += " (stops " + strings.Join(f.Stops, ", ") + ")"
	}
	return "::" + level + " " + props + "::" + ghData(msg)
}

func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func nonNil(f []review.Finding) []review.Finding {
	if f == nil {
		return []review.Finding{}
	}
	return f
}
