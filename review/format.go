package review

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

const (
	green  = "\x1b[32m"
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	reset  = "\x1b[0m"
)

var marks = map[string]string{"create": "+", "delete": "-", "change": "~", "leave": "=", "add": "+", "remove": "-"}

// WriteTable prints the plan for a terminal, in colour when color is set.
// Rows are aligned first and painted after, whole, so that colour codes
// never count toward a column's width.
func WriteTable(w io.Writer, p Plan, color bool) error {
	fmt.Fprintf(w, "secretsync plan %s..%s: %d to create, %d to change, %d to delete%s\n", p.Base, p.Head, p.Summary.Create, p.Summary.Change, p.Summary.Delete, leaveNote(p.Summary, ", %d left in place"))
	for _, f := range p.Findings {
		fmt.Fprintf(w, "finding: %s\n", f)
	}
	defer writeRemote(w, p.Remote, false)
	if len(p.Secrets) == 0 {
		fmt.Fprintln(w, "no Secret changes")
		return nil
	}
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
	actions := []string{""} // one per line of the table: the header has none
	fmt.Fprintln(tw, "SECRET\tKEY\tBEFORE\tAFTER")
	for _, s := range p.Secrets {
		fmt.Fprintf(tw, "%s\t\t\t%s\n", marks[s.Action]+" "+s.Namespace+"/"+s.Name+kindNote(s.Kind), "("+s.Action+", "+s.ExternalSecret+" in "+s.Source+droppedNote(s)+")")
		actions = append(actions, s.Action)
		for _, k := range s.Keys {
			fmt.Fprintf(tw, "\t%s\t%s\t%s\n", marks[k.Action]+" "+k.Key, dash(k.Before), dash(k.After))
			actions = append(actions, k.Action)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for i, line := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
		if color && actions[i] != "" {
			line = paint(actions[i]) + line + reset
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// paint is the colour of an action.
func paint(action string) string {
	switch action {
	case "create", "add":
		return green
	case "delete", "remove":
		return red
	}
	return yellow
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteMarkdown prints the plan as a pull-request comment: a summary, then
// one collapsible section per namespace.
func WriteMarkdown(w io.Writer, p Plan) error {
	fmt.Fprintf(w, "### secretsync plan `%s` → `%s`\n\n", p.Base, p.Head)
	fmt.Fprintf(w, "**%d** to create · **%d** to change · **%d** to delete%s\n\n", p.Summary.Create, p.Summary.Change, p.Summary.Delete, leaveNote(p.Summary, " · **%d** left in place"))
	if len(p.Findings) > 0 {
		fmt.Fprintf(w, "> [!WARNING]\n> %s\n\n", count(len(p.Findings), "validation finding"))
		for _, f := range p.Findings {
			fmt.Fprintf(w, "- `%s`\n", md(f.String()))
		}
		fmt.Fprintln(w)
	}
	var namespaces []string
	byNS := map[string][]SecretPlan{}
	for _, s := range p.Secrets {
		if _, ok := byNS[s.Namespace]; !ok {
			namespaces = append(namespaces, s.Namespace)
		}
		byNS[s.Namespace] = append(byNS[s.Namespace], s)
	}
	for _, ns := range namespaces {
		fmt.Fprintf(w, "<details><summary><b>%s</b>: %s</summary>\n\n", ns, countKinds(byNS[ns]))
		fmt.Fprintln(w, "| Secret | Key | Before | After |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for _, s := range byNS[ns] {
			fmt.Fprintf(w, "| %s **%s**%s (%s) | | | `%s` in `%s`%s |\n", marks[s.Action], s.Name, kindNote(s.Kind), s.Action, md(s.ExternalSecret), md(s.Source), md(droppedNote(s)))
			for _, k := range s.Keys {
				fmt.Fprintf(w, "| | %s `%s` | %s | %s |\n", marks[k.Action], md(k.Key), code(k.Before), code(k.After))
			}
		}
		fmt.Fprintln(w, "\n</details>")
	}
	if len(p.Secrets) == 0 {
		fmt.Fprintln(w, "No Secret changes.")
	}
	writeRemote(w, p.Remote, true)
	return nil
}

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + md(s) + "`"
}

// md keeps a string from breaking a table cell or a code span.
func md(s string) string {
	return strings.NewReplacer("|", `\|`, "`", "'", "\n", " ", "\r", " ").Replace(s)
}

// WriteJSON prints the plan as JSON (the Plan type is the schema).
func WriteJSON(w io.Writer, p Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// count is "1 Secret", "2 Secrets".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// countKinds is "2 Secrets", or "1 Secret, 1 ConfigMap" when targets of
// other kinds are among them.
func countKinds(plans []SecretPlan) string {
	kinds := []string{"Secret"} // Secrets first, the others as they come
	n := map[string]int{}
	for _, s := range plans {
		kind := cmp.Or(s.Kind, "Secret")
		if n[kind] == 0 && kind != "Secret" {
			kinds = append(kinds, kind)
		}
		n[kind]++
	}
	var parts []string
	for _, kind := range kinds {
		if n[kind] > 0 {
			parts = append(parts, count(n[kind], kind))
		}
	}
	return strings.Join(parts, ", ")
}

// kindNote marks a target that is not a Secret.
func kindNote(kind string) string {
	if kind == "" {
		return ""
	}
	return " (" + kind + ")"
}

// leaveNote counts, when there are any, the Secrets left in place (not
// deleted: run never deletes them), in format.
func leaveNote(s Summary, format string) string {
	if s.Leave == 0 {
		return ""
	}
	return fmt.Sprintf(format, s.Leave)
}

// droppedNote says which left-out folder or file a deleted Secret goes
// with, why run refuses its delete, or what run does instead of one.
func droppedNote(s SecretPlan) string {
	note := ""
	if s.DroppedWith != "" {
		note = "; dropped with " + s.DroppedWith
	}
	if s.Left != "" {
		note += "; " + s.Left
	}
	if s.PruneRefused != "" {
		note += "; run refuses the prune: " + s.PruneRefused
	}
	return note
}
