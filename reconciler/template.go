package reconciler

import (
	"strings"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/render"
)

// learnShaped makes the pass's redactor know what an ExternalSecret's
// Secret holds: its values, and every key name, label, annotation and type
// that the ExternalSecret does not write out as such, since a template or
// a remote JSON made it (the API server quotes such a key or label when
// it refuses it). Text written in Git is no secret and stays readable.
func learnShaped(red *scrub.Redactor, es *render.ExternalSecret, c desired.Shaped) {
	for _, v := range c.Data {
		red.Add(v.Bytes())
	}
	var git strings.Builder // what the ExternalSecret writes, one piece a line
	put := func(s ...string) {
		for _, x := range s {
			git.WriteString(x)
			git.WriteByte('\n')
		}
	}
	for _, d := range es.Spec.Data {
		put(d.SecretKey)
	}
	for k, v := range es.Labels {
		put(k, v)
	}
	for k, v := range es.Annotations {
		put(k, v)
	}
	if t := es.Spec.Target.Template; t != nil {
		put(t.Type)
		for _, m := range []map[string]string{t.Metadata.Labels, t.Metadata.Annotations, t.Data} {
			for k, v := range m {
				put(k, v)
			}
		}
		for _, tf := range t.TemplateFrom {
			if tf.Literal != nil {
				put(*tf.Literal)
			}
		}
	}
	text := git.String()
	learn := func(s string) {
		if !strings.Contains(text, s) {
			red.AddString(s)
		}
	}
	for k := range c.Data {
		learn(k)
	}
	for _, m := range []map[string]string{c.Labels, c.Annotations} {
		for k, v := range m {
			learn(k)
			learn(v)
		}
	}
	learn(c.Type)
}
