package desired

import (
	"errors"
	"fmt"

	"github.com/secretsync/secretsync/render"
)

// GeneratorProblem is why an ExternalSecret cannot use a generator: it is
// not in the rendered manifests (in the ExternalSecret's namespace), or a
// template would replace the keys of one whose values must be kept.
// Generated values are in neither Git nor AWS: between passes they live
// only in the Secret, so secretsync must find them there to keep a Password,
// UUID or SSH key until a refresh is due; a template that replaces those
// keys (without mergePolicy Merge) would lose them. An ECR token is made
// again when it cannot be read back, which is harmless.
func GeneratorProblem(es *render.ExternalSecret, k GeneratorKey, generators map[GeneratorKey]*render.Generator) error {
	if generators[k] == nil {
		return fmt.Errorf("generator %s is not in the rendered manifests; it must render from the same path, in the ExternalSecret's namespace", k)
	}
	if t := es.Spec.Target.Template; !render.IsToken(k.Kind) && t != nil && t.MergePolicy != "Merge" && (len(t.Data) > 0 || len(t.TemplateFrom) > 0) {
		return errors.New("a generator's values must stay in the Secret between passes: with a target.template, set mergePolicy: Merge")
	}
	if CreationPolicy(es) != PolicyOwner {
		return fmt.Errorf("a generator needs creationPolicy Owner (the default), so that the Secret that keeps its values is secretsync's; not %s", CreationPolicy(es))
	}
	return nil
}

// GeneratedKeys maps a generator's output keys to the Secret keys its
// entry's rewrites make of them, so that values kept in a Secret can be
// read back.
func GeneratedKeys(g *render.Generator, rewrites []render.Rewrite) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range g.OutputKeys() {
		name, err := renameKey(k, rewrites, "")
		if err != nil {
			return nil, err
		}
		out[k] = name
	}
	return out, nil
}
