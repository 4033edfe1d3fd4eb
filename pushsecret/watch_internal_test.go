package pushsecret

import (
	"fmt"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
)

// A namespace's sources get one watch per distinct name or selector, up
// to maxFilteredWatches; beyond that, or with a selector of every Secret,
// one watch of the whole namespace.
func TestUnitsOfFilterEachSourceUpToTheBound(t *testing.T) {
	named := func(n int) []sourceMatch {
		var ms []sourceMatch
		for i := range n {
			ms = append(ms, sourceMatch{name: fmt.Sprintf("s%d", i)})
		}
		return ms
	}
	sel := sourceMatch{sel: labels.SelectorFromSet(labels.Set{"push": "yes"})}
	whole := []watchUnit{{ns: "ns"}}
	for _, c := range []struct {
		name string
		ms   []sourceMatch
		want []watchUnit
	}{
		{"a name and a selector, each filtered", []sourceMatch{{name: "src"}, sel, {name: "src"}},
			[]watchUnit{{ns: "ns", label: "push=yes"}, {ns: "ns", field: "metadata.name=src"}}},
		{"eight filters stay filtered", append(named(7), sel), nil},
		{"nine filters are one watch of the namespace", append(named(8), sel), whole},
		{"a selector of every Secret is one watch of the namespace", []sourceMatch{{name: "src"}, {sel: labels.Everything()}}, whole},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := unitsOf("ns", c.ms)
			if c.want == nil {
				if len(got) != maxFilteredWatches || slices.Contains(got, whole[0]) {
					t.Fatalf("got %v, want %d filtered watches", got, maxFilteredWatches)
				}
				return
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}
