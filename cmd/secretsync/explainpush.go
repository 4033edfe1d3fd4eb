package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/render"
	"github.com/secretsync/secretsync/review"
)

// pushExplanation is what explain --kind PushSecret says about one
// PushSecret: names, policies, times and reasons, never a value.
type pushExplanation struct {
	PushSecret string `json:"pushSecret"`
	// Pushed are the inventory's rows for it: each remote secret the last
	// pass pushed (or failed to), when it was last written, and whether it
	// is ready, with the reason. Inventory says why they could not be read.
	Pushed    []inventory.PushRow `json:"pushed"`
	Inventory string              `json:"inventory,omitempty"`
	// Path is the folder explained against, and Now what the PushSecret
	// in it pushes (nil: no PushSecret of that name is there any more).
	Path string                  `json:"path"`
	Now  *review.PushExplanation `json:"now"`
}

// explainPush explains the PushSecret namespace/name: its inventory rows,
// and what it pushes in path now.
func explainPush(ctx context.Context, kube kubernetes.Interface, inst *instanceFlags, namespace, name, path string, opts render.Options) (pushExplanation, error) {
	e := pushExplanation{PushSecret: namespace + "/" + name, Pushed: []inventory.PushRow{}, Path: path}
	cm, err := inst.inventory(ctx, kube)
	if err == nil {
		err = inventory.ReadPushed(ctx, kube, cm, func(r inventory.PushRow) {
			if r.PushSecret == e.PushSecret {
				e.Pushed = append(e.Pushed, r)
			}
		})
	}
	if err != nil {
		e.Inventory = err.Error()
	}
	_, set, err := renderDir(path, opts)
	if err != nil {
		return e, fmt.Errorf("render %s: %w", path, err)
	}
	e.Now = review.ExplainPush(set, e.PushSecret)
	return e, nil
}

func writePushExplanation(w io.Writer, e pushExplanation) {
	fmt.Fprintf(w, "PushSecret %s\n", e.PushSecret)
	if e.Inventory != "" {
		fmt.Fprintf(w, "  inventory:       not read: %s\n", e.Inventory)
	} else if len(e.Pushed) == 0 {
		fmt.Fprintln(w, "  in the inventory: nothing pushed")
	}
	for _, r := range e.Pushed {
		last := "never"
		if r.LastPush != nil {
			last = r.LastPush.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "  pushed:          %s in %s from %s: last pushed %s, ready=%v reason=%s%s\n",
			remoteName(r.RemoteKey, r.Property), r.Store, orDash(r.Secret), last, r.Ready, orDash(r.Reason), strings.TrimRight(" "+r.Message, " "))
	}
	n := e.Now
	if n == nil {
		fmt.Fprintf(w, "  no PushSecret %s in %s any more\n", e.PushSecret, e.Path)
		return
	}
	fmt.Fprintf(w, "  in %s now: %s\n", e.Path, n.File)
	fmt.Fprintf(w, "    source:          %s\n", n.Source)
	fmt.Fprintf(w, "    updatePolicy:    %s\n    deletionPolicy:  %s\n", n.UpdatePolicy, n.DeletionPolicy)
	if n.RefreshInterval != "" {
		fmt.Fprintf(w, "    refreshInterval: %s\n", n.RefreshInterval)
	}
	fmt.Fprintf(w, "    stores:          %s\n", orDash(strings.Join(n.Stores, ", ")))
	for _, r := range n.Remotes {
		fmt.Fprintf(w, "    %-24s in %s <- %s\n", remoteName(r.RemoteKey, r.Property), r.Store, r.From)
	}
}

// remoteName is a remote key with its property, as plan prints it.
func remoteName(key, property string) string {
	if property == "" {
		return key
	}
	return key + "#" + property
}
