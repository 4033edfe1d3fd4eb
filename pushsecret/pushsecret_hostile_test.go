package pushsecret_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/secretsync/secretsync/internal/leaktest"
	"github.com/secretsync/secretsync/internal/scrub"
	"github.com/secretsync/secretsync/inventory"
	"github.com/secretsync/secretsync/providers"
	"github.com/secretsync/secretsync/pushsecret"
	"github.com/secretsync/secretsync/render"
)

// recordSM is a store's provider that records what is pushed to it.
type recordSM struct {
	mu     sync.Mutex
	pushed map[string][]byte
}

func (s *recordSM) ID() string                              { return "record" }
func (s *recordSM) Canonical(r providers.Ref) providers.Ref { return r }
func (s *recordSM) Resolve(context.Context, []providers.Ref) map[providers.Ref]providers.Fetched {
	return nil
}
func (s *recordSM) DeleteRemote(context.Context, string) (bool, error) { return true, nil }
func (s *recordSM) Push(_ context.Context, p providers.Push) (providers.Pushed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pushed == nil {
		s.pushed = map[string][]byte{}
	}
	s.pushed[p.Key] = p.Value
	return providers.Created, nil
}

func (s *recordSM) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.pushed {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

const hostileStore = "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: aws, namespace: ns}\nspec: {provider: {aws: {service: SecretsManager, region: us-east-1}}}\n"

// renderYAML renders the manifests, which must render without error.
func renderYAML(t *testing.T, yaml string) *render.Set {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := render.Render(context.Background(), dir, ".", render.Options{})
	if err != nil || len(set.Errors) > 0 {
		t.Fatalf("render: %v %v", err, set.Errors)
	}
	return set
}

// pushOnce runs one Push of set with the cluster objects given, every
// store served by sm.
func pushOnce(t *testing.T, set *render.Set, sm providers.Provider, concurrency int, objs ...runtime.Object) (pushsecret.Outcome, []string) {
	t.Helper()
	objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}})
	var mu sync.Mutex
	var events []string
	p := pushsecret.New(pushsecret.Config{Kube: fake.NewClientset(objs...), Concurrency: concurrency, Now: time.Now, Guard: inventory.PruneGuard,
		Provider: func(context.Context, *render.SecretStore, string) (providers.Provider, error) { return sm, nil },
		Generate: func(context.Context, *render.Generator) (map[string]providers.Value, error) {
			return map[string]providers.Value{"password": providers.NewValue([]byte(leaktest.Canary()))}, nil
		},
		Events: func(_ context.Context, about corev1.ObjectReference, _, reason, msg string) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, about.Name+" "+reason+": "+msg)
		}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return p.Push(ctx, pushsecret.Pass{Set: set, Redactor: scrub.New()}), events
}

// A template's keys become remote names (dataTo names a remote secret
// after each key), Event text and inventory rows, none of them secret. A
// key made of a value, whole, is refused (keyMadeOfAValue); the same value
// encoded (b64enc, upper, hex) or cut in pieces (substr) is the value too.
// The PushSecret must be refused, and no remote name may hold any form of
// the value.
func TestATemplateNeverNamesARemoteSecretAfterAnyFormOfAValue(t *testing.T) {
	value := leaktest.Canary()
	var forms leaktest.Canaries
	forms.Add(value, base64.StdEncoding.EncodeToString([]byte(value)), strings.ToUpper(value), hex.EncodeToString([]byte(value)))
	for name, literal := range map[string]string{
		"b64enc":          `app/{{ .k | b64enc }}: x`,
		"upper":           `app/{{ .k | upper }}: x`,
		"hex":             `app/{{ printf \"%x\" .k }}: x`,
		"substr in parts": "a/{{ .k | substr 0 12 }}: x\\nb/{{ .k | substr 12 24 }}: x\\nc/{{ .k | substr 24 32 }}: x",
	} {
		t.Run(name, func(t *testing.T) {
			set := renderYAML(t, hostileStore+fmt.Sprintf(`---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: p, namespace: ns}
spec:
  secretStoreRefs: [{name: aws}]
  selector: {secret: {name: src}}
  template: {templateFrom: [{literal: "%s"}]}
  dataTo: [{storeRef: {name: aws}}]
`, literal))
			sm := &recordSM{}
			out, events := pushOnce(t, set, sm, 1, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "src", Namespace: "ns"}, Data: map[string][]byte{"k": []byte(value)}})
			forms.Check(t, "the remote names", strings.Join(sm.keys(), "\n"))
			forms.Check(t, "the Events", strings.Join(events, "\n"))
			var rows []string
			for _, r := range out.Rows {
				rows = append(rows, r.RemoteKey)
			}
			forms.Check(t, "the inventory rows", strings.Join(rows, "\n"))
			if len(out.Failed) != 1 || !strings.Contains(out.Failed[0].Error(), "spec.template") {
				t.Fatalf("%d PushSecrets failed, want this one refused naming spec.template", len(out.Failed))
			}
			forms.Check(t, "the refusal", out.Failed[0].Error())
			if len(sm.keys()) != 0 {
				t.Errorf("%d remote secrets written, want none", len(sm.keys()))
			}
		})
	}
}

// The check of a template's keys (rendered again over stand-in values)
// refuses only keys made of values: keys written in the template, named
// after the source's keys, or fixed while the values are parsed (JSON,
// base64) or hashed into the values render as before and are pushed.
func TestATemplateWhoseKeysHoldNoValueIsPushed(t *testing.T) {
	user := leaktest.Canary()
	creds := fmt.Sprintf(`{"user":%q,"n":12}`, user)
	for name, literal := range map[string]string{
		"keys written":         `app/user: \"{{ (.creds | fromJson).user }}\"\napp/sum: {{ .creds | sha256sum }}`,
		"keys from key names":  `{{ range $k, $v := . }}app/{{ $k }}: {{ $v | b64enc }}\n{{ end }}`,
		"value decoded inside": `app/b64: \"{{ .enc | b64dec }}\"`,
	} {
		t.Run(name, func(t *testing.T) {
			set := renderYAML(t, hostileStore+fmt.Sprintf(`---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: p, namespace: ns}
spec:
  secretStoreRefs: [{name: aws}]
  selector: {secret: {name: src}}
  template: {templateFrom: [{literal: "%s"}]}
  dataTo: [{storeRef: {name: aws}}]
`, literal))
			sm := &recordSM{}
			data := map[string][]byte{"creds": []byte(creds), "enc": []byte(base64.StdEncoding.EncodeToString([]byte(user)))}
			out, _ := pushOnce(t, set, sm, 1, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "src", Namespace: "ns"}, Data: data})
			if len(out.Failed) != 0 || len(sm.keys()) == 0 {
				t.Fatalf("failed %v, pushed %q; want pushed", out.Failed, sm.keys())
			}
			for _, k := range sm.keys() {
				if !strings.HasPrefix(k, "app/") {
					t.Fatalf("remote name %q", k)
				}
			}
		})
	}
}

// Concurrent pushes share the redactor, the namespace labels, the
// provider and the stores: forty PushSecrets of every kind of source
// (a name, a label selector, a generator, a template, dataTo with a
// rewrite) pushed eight at a time twice over must race on nothing (run
// under -race), each pushing its own values to its own names, and no value
// may reach an Event.
func TestConcurrentPushesOfEveryKindShareNoUnguardedState(t *testing.T) {
	var yaml strings.Builder
	yaml.WriteString(hostileStore)
	yaml.WriteString("---\napiVersion: generators.external-secrets.io/v1alpha1\nkind: Password\nmetadata: {name: pw, namespace: ns}\nspec: {length: 24}\n")
	var objs []runtime.Object
	var canaries leaktest.Canaries
	want := map[string]string{}
	for i := range 40 {
		v := leaktest.Canary()
		canaries.Add(v)
		objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("src-%d", i), Namespace: "ns", Labels: map[string]string{"set": fmt.Sprint(i)}},
			Data: map[string][]byte{"k": []byte(v)}})
		var spec string
		switch i % 5 {
		case 0:
			spec = fmt.Sprintf("  selector: {secret: {name: src-%d}}\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: r/%d}}}]\n", i, i)
			want[fmt.Sprintf("r/%d", i)] = v
		case 1:
			spec = fmt.Sprintf("  selector: {secret: {selector: {matchLabels: {set: \"%d\"}}}}\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: r/%d}}}]\n", i, i)
			want[fmt.Sprintf("r/%d", i)] = v
		case 2:
			spec = fmt.Sprintf("  selector: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: pw}}\n  data: [{match: {secretKey: password, remoteRef: {remoteKey: r/%d}}}]\n", i)
		case 3:
			spec = fmt.Sprintf("  selector: {secret: {name: src-%d}}\n  template: {data: {t: \"x-{{ .k }}\"}}\n  data: [{match: {secretKey: t, remoteRef: {remoteKey: r/%d}}}]\n", i, i)
			want[fmt.Sprintf("r/%d", i)] = "x-" + v
		case 4:
			spec = fmt.Sprintf("  selector: {secret: {name: src-%d}}\n  dataTo: [{storeRef: {name: aws}, rewrite: [{regexp: {source: \"^k$\", target: \"r/%d\"}}]}]\n", i, i)
			want[fmt.Sprintf("r/%d", i)] = v
		}
		fmt.Fprintf(&yaml, "---\napiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: p%d, namespace: ns}\nspec:\n  secretStoreRefs: [{name: aws}]\n%s", i, spec)
	}
	set := renderYAML(t, yaml.String())
	for range 2 {
		sm := &recordSM{}
		out, events := pushOnce(t, set, sm, 8, objs...)
		if len(out.Failed) > 0 || out.Pushed != 40 {
			t.Fatalf("pushed %d, failed %v", out.Pushed, out.Failed)
		}
		for k, v := range want {
			if string(sm.pushed[k]) != v {
				t.Errorf("remote %s does not hold its own PushSecret's value", k)
			}
		}
		canaries.Check(t, "the Events", strings.Join(events, "\n"))
		for i := 1; i < len(out.Rows); i++ {
			if out.Rows[i-1].Key() >= out.Rows[i].Key() {
				t.Fatalf("rows out of order at %d", i)
			}
		}
	}
}

// deleteSM records the remote secrets deleted through it.
type deleteSM struct {
	recordSM
	deleted []string
}

func (s *deleteSM) DeleteRemote(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleted = append(s.deleted, key)
	return false, nil
}

// deletionPolicy None says: leave what was pushed. A commit that sets it
// and, in the same change, moves a push to another remote key must leave
// the old remote secret, as ESO does (its controller reads the policy the
// PushSecret has now); only a PushSecret whose current policy is Delete,
// or one that left Git with Delete, deletes what it stops pushing.
func TestDeletionPolicyNoneSetWithAMoveLeavesTheOldRemoteSecret(t *testing.T) {
	spec := func(policy, remote string) string {
		return hostileStore + fmt.Sprintf("---\napiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: p, namespace: ns}\nspec:\n  deletionPolicy: %s\n  secretStoreRefs: [{name: aws}]\n  selector: {secret: {name: src}}\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: %s}}}]\n", policy, remote)
	}
	src := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "src", Namespace: "ns"}, Data: map[string][]byte{"k": []byte(leaktest.Canary())}}
	sm := &deleteSM{}
	first, _ := pushOnce(t, renderYAML(t, spec("Delete", "old")), sm, 1, src)
	if len(first.Rows) != 1 || first.Rows[0].LastPush == nil || !first.Rows[0].Delete {
		t.Fatalf("first push rows %+v", first.Rows)
	}
	p := pushsecret.New(pushsecret.Config{Kube: fake.NewClientset(src), Concurrency: 1, Now: time.Now, Guard: inventory.PruneGuard,
		Provider: func(context.Context, *render.SecretStore, string) (providers.Provider, error) { return sm, nil },
		Events:   func(context.Context, corev1.ObjectReference, string, string, string) {}})
	out := p.Push(context.Background(), pushsecret.Pass{Set: renderYAML(t, spec("None", "new")), Old: first.Rows, Redactor: scrub.New()})
	if len(out.Failed) > 0 || len(sm.deleted) > 0 {
		t.Fatalf("failed %v, deleted %q; want old left in AWS under deletionPolicy None", out.Failed, sm.deleted)
	}
}

// Rows recorded before rows kept the name their push wrote (RemoteName)
// are never deleted by a name made again from the store as it is now (its
// prefix may have moved onto another team's secrets): the deletion is
// refused once, naming the cause, and the row forgotten. A PushSecret still
// in Git whose rows lack the name is pushed again after a restart (where
// rows with it are trusted), so that its rows gain it.
func TestARowWithoutItsRemoteNameIsNeverDeletedByAGuessAndGainsItByAPush(t *testing.T) {
	yaml := hostileStore + "---\napiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: p, namespace: ns}\nspec:\n  deletionPolicy: Delete\n  secretStoreRefs: [{name: aws}]\n  selector: {secret: {name: src}}\n  data: [{match: {secretKey: k, remoteRef: {remoteKey: kept}}}]\n"
	src := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "src", Namespace: "ns"}, Data: map[string][]byte{"k": []byte(leaktest.Canary())}}
	first, _ := pushOnce(t, renderYAML(t, yaml), &deleteSM{}, 1, src)
	if len(first.Rows) != 1 || first.Rows[0].RemoteName != "kept" {
		t.Fatalf("first push rows %+v, want the name written", first.Rows)
	}
	restart := func(old []inventory.PushRow) (*deleteSM, pushsecret.Outcome) {
		sm := &deleteSM{}
		p := pushsecret.New(pushsecret.Config{Kube: fake.NewClientset(src), Concurrency: 1, Now: time.Now, Guard: inventory.PruneGuard,
			Provider: func(context.Context, *render.SecretStore, string) (providers.Provider, error) { return sm, nil },
			Events:   func(context.Context, corev1.ObjectReference, string, string, string) {}})
		return sm, p.Push(context.Background(), pushsecret.Pass{Set: renderYAML(t, yaml), Old: old, Redactor: scrub.New()})
	}
	if sm, out := restart(first.Rows); len(sm.keys()) != 0 || len(out.Failed)+len(out.PruneFailed) != 0 {
		t.Fatalf("a restart with named rows pushed %q (failed %v %v); want them trusted", sm.keys(), out.Failed, out.PruneFailed)
	}
	legacy := first.Rows[0]
	legacy.RemoteName = ""
	gone := legacy
	gone.RemoteKey = "left-git"
	sm, out := restart([]inventory.PushRow{legacy, gone})
	if len(sm.deleted) != 0 {
		t.Fatalf("deleted %q by a guessed name", sm.deleted)
	}
	if len(out.PruneFailed) != 1 || !strings.Contains(out.PruneFailed[0].Error(), "left-git") || !strings.Contains(out.PruneFailed[0].Error(), "never guessed") {
		t.Fatalf("prune failures %v, want left-git's deletion refused, saying why", out.PruneFailed)
	}
	if !slices.Equal(sm.keys(), []string{"kept"}) || len(out.Rows) != 1 || out.Rows[0].RemoteName != "kept" {
		t.Fatalf("pushed %q, rows %+v; want kept pushed again and its row named, left-git's forgotten", sm.keys(), out.Rows)
	}
}
