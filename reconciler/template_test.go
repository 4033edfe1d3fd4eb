package reconciler_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTemplates(t *testing.T) {
	f := newFixture(t)
	f.seed("reg", `{"registry":"registry.example","user":"robot","password":"tpl-pw-seeded"}`)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "templates", Namespace: f.ns}, Data: map[string]string{
		"config.ini": "[auth]\nuser = {{ .user }}\n",
		"pairs":      "url: https://{{ .registry }}\nlogin: '{{ .user }}'\n",
	}}
	if _, err := env.Client.CoreV1().ConfigMaps(f.ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	extract := func(name, target string) string {
		es := strings.Replace(f.es(name), "  data:\n", "  dataFrom:\n    - extract: {key: reg}\n", 1)
		return withTarget(es, target)
	}
	f.commit(map[string]string{"store.yaml": f.store(),
		"docker.yaml": extract("docker", `
    template:
      engineVersion: v2
      type: kubernetes.io/dockerconfigjson
      metadata:
        labels: {team: payments}
        annotations: {owner: platform}
      data:
        .dockerconfigjson: '{"auths":{"{{ .registry }}":{"auth":"{{ printf "%s:%s" .user .password | b64enc }}"}}}'`),
		"merged.yaml": extract("merged", `
    template:
      mergePolicy: Merge
      data: {url: "https://{{ .registry }}/v2"}`),
		"from.yaml": extract("from", `
    template:
      templateFrom:
        - configMap: {name: templates, items: [{key: config.ini}, {key: pairs, templateAs: KeysAndValues}]}
        - literal: "team: {{ .user | upper }}"
          target: Labels`),
	})
	mustOK(t, f.pass())

	t.Run("type, metadata and a computed key", func(t *testing.T) {
		s := f.secret("docker")
		if s.Type != corev1.SecretTypeDockerConfigJson || s.Labels["team"] != "payments" || s.Annotations["owner"] != "platform" {
			t.Fatalf("type %s labels %v annotations %v", s.Type, s.Labels, s.Annotations)
		}
		auth := base64.StdEncoding.EncodeToString([]byte("robot:tpl-pw-seeded"))
		sameData(t, "docker", data(s), map[string]string{".dockerconfigjson": `{"auths":{"registry.example":{"auth":"` + auth + `"}}}`})
	})
	t.Run("mergePolicy Merge keeps the resolved keys", func(t *testing.T) {
		sameData(t, "merged", data(f.secret("merged")), map[string]string{"registry": "registry.example", "user": "robot", "password": "tpl-pw-seeded", "url": "https://registry.example/v2"})
	})
	t.Run("templateFrom a ConfigMap as values and as keys and values, and a literal into labels", func(t *testing.T) {
		s := f.secret("from")
		sameData(t, "from", data(s), map[string]string{"config.ini": "[auth]\nuser = robot\n", "url": "https://registry.example", "login": "robot"})
		if s.Labels["team"] != "ROBOT" {
			t.Fatalf("labels %v", s.Labels)
		}
	})
	t.Run("a template reading a key that does not exist fails without quoting values", func(t *testing.T) {
		f.commit(map[string]string{"bad.yaml": extract("bad", `
    template:
      data: {x: "{{ .nope }}"}`)})
		res := f.pass()
		if res.Failed != 1 || !strings.Contains(res.Errors[0].Error(), "spec.target.template.data.x") {
			t.Fatalf("failed %d errors %v", res.Failed, res.Errors)
		}
	})
	// fail is ESO's; its message reaches the pass's errors (and so logs,
	// Events and status) only as a literal of the template; one made of a
	// value is withheld, and the fixture's leak check sweeps every outlet.
	t.Run("fail quotes a literal message and withholds one made of a value", func(t *testing.T) {
		f.commit(map[string]string{"bad.yaml": "",
			"static.yaml": extract("static", `
    template:
      data: {x: '{{ if .password }}{{ fail "blocked by policy" }}{{ end }}'}`),
			"dynamic.yaml": extract("dynamic", `
    template:
      data: {x: '{{ fail (printf "password %s is weak" .password) }}'}`)})
		res := f.pass()
		got := map[string]string{}
		for _, err := range res.Errors {
			for _, name := range []string{"static", "dynamic"} {
				if strings.Contains(err.Error(), f.ns+"/"+name+" ") || strings.Contains(err.Error(), f.ns+"/"+name+":") {
					got[name] = err.Error()
				}
			}
		}
		if res.Failed != 2 || !strings.Contains(got["static"], `the template called fail: "blocked by policy"`) ||
			!strings.Contains(got["dynamic"], "the template called fail (its message is withheld") {
			t.Fatalf("failed %d errors %v", res.Failed, res.Errors)
		}
		if strings.Contains(got["dynamic"], "is weak") {
			t.Fatalf("the error of dynamic quotes the message built at run time: %s", got["dynamic"])
		}
		f.commit(map[string]string{"static.yaml": "", "dynamic.yaml": ""})
	})
}
