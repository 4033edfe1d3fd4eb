package desired_test

// ESO 2.9.0's key conversion, find.nullBytePolicy, rewrite[].merge and
// templateFrom[].valuesDecodingStrategy. ESO cannot be run here: every
// expected output below is worked out by reading its code
// (runtime/esutils/utils.go: convert, RewriteMerge, merge,
// sortKeysWithPriority, GetByteValue, JSONMarshal; runtime/decoding;
// pkg/controllers/externalsecret/externalsecret_controller_secret.go:
// handleFindAllSecrets, handleExtractSecrets, validateFetchedSecretMap;
// runtime/template/v2/template.go: valueScopeApply, mapScopeApply), with
// the Go standard library calls it makes.

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/desired"
	"github.com/secretsync/secretsync/render"
)

// esoCase is one ExternalSecret run through Entries and Assemble over
// remote: its Secret data, or an error holding every wantErr part and no
// seeded value.
type esoCase struct {
	name    string
	es      *render.ExternalSecret
	want    map[string]string
	wantErr []string
}

const canary = "LEAKCANARY"

func runESOCases(t *testing.T, r remote, cases []esoCase) {
	t.Helper()
	aws := &render.SecretStore{}
	aws.Kind, aws.Namespace, aws.Name = render.KindSecretStore, "apps", "aws"
	aws.Spec.Provider.AWS = &render.AWSProvider{Service: "SecretsManager"}
	stores := map[desired.StoreKey]*render.SecretStore{{Kind: render.KindSecretStore, Namespace: "apps", Name: "aws"}: aws}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := desired.Assemble(c.es, desired.Entries(c.es, stores), r.found, r.fetched, nil)
			checkData(t, plain(got), err, c.wantErr, c.want)
		})
	}
}

func withDataFrom(d ...render.DataFrom) *render.ExternalSecret {
	e := &render.ExternalSecret{}
	e.Namespace, e.Name = "apps", "x"
	e.Spec.SecretStoreRef = render.SecretStoreRef{Name: "aws"}
	e.Spec.DataFrom = d
	return e
}

func findPath(p string) *render.Find { return &render.Find{Path: &p} }

// strip is the regexp rewrite that drops a find's path prefix.
func strip(prefix string) render.Rewrite {
	return render.Rewrite{Regexp: &render.RewriteRegexp{Source: prefix + "(.*)", Target: "$1"}}
}

// TestKeyConversionKeepsLettersAndNumbersOfAnyScript: ESO's convert keeps
// every rune unicode.IsLetter or unicode.IsNumber calls one, and '-', '.',
// '_'; Default makes any other rune "_", Unicode makes it "_U%04x_".
func TestKeyConversionKeepsLettersAndNumbersOfAnyScript(t *testing.T) {
	r := remote{
		"conv/all": `{"plain-Key.1_x":"1","café":"2","naïve/path":"3","密码":"4","key🔑":"5","a b":"6","١٢٣":"7","Ⅻ½²":"8","e\u0301":"9","tab\there":"10","ǅungla@x":"11","Ωmega":"12"}`,
		"team/api": "13",
	}
	extract := func(strategy string) *render.ExternalSecret {
		return withDataFrom(render.DataFrom{Extract: &render.RemoteRef{Key: "conv/all", ConversionStrategy: strategy}})
	}
	same := map[string]string{"plain-Key.1_x": "1", "café": "2", "密码": "4", "١٢٣": "7", "Ⅻ½²": "8", "Ωmega": "12"}
	with := func(kv map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range same {
			out[k] = v
		}
		for k, v := range kv {
			out[k] = v
		}
		return out
	}
	defaults := with(map[string]string{"naïve_path": "3", "key_": "5", "a_b": "6", "e_": "9", "tab_here": "10", "ǅungla_x": "11"})
	runESOCases(t, r, []esoCase{
		{"Default keeps accented, CJK, Greek and titlecase letters and every kind of number, and replaces the rest with _",
			extract("Default"), defaults, nil},
		{"no strategy is Default", extract(""), defaults, nil},
		{"Unicode writes only what is neither letter nor number as _U<hex>_, five digits past U+FFFF",
			extract("Unicode"), with(map[string]string{"naïve_U002f_path": "3", "key_U1f511_": "5", "a_U0020_b": "6", "e_U0301_": "9", "tab_U0009_here": "10", "ǅungla_U0040_x": "11"}), nil},
		{"find names are converted the same way", withDataFrom(render.DataFrom{Find: findPath("team/")}), map[string]string{"team_api": "13"}, nil},
	})
}

// TestFindNullBytePolicy: ESO checks a find's values, after rewrite,
// conversion and decoding, in key order; Fail stops at the first key with a
// NUL byte, Ignore (the default) writes it.
func TestFindNullBytePolicy(t *testing.T) {
	r := remote{
		"nb/bin":   "a\x00b",
		"nb/txt":   "text",
		"nb/zz":    "c\x00" + canary,
		"nb64/v":   "eAB5", // "x\x00y"
		"ex/pairs": `{"b":"x\u0000y","a":"\u0000` + canary + `","c":"ok"}`,
	}
	find := func(path, policy string, rw ...render.Rewrite) *render.ExternalSecret {
		f := findPath(path)
		f.NullBytePolicy = policy
		return withDataFrom(render.DataFrom{Find: f, Rewrite: rw})
	}
	all := map[string]string{"nb_bin": "a\x00b", "nb_txt": "text", "nb_zz": "c\x00" + canary}
	runESOCases(t, r, []esoCase{
		{"Fail names the first key in order that holds a NUL byte", find("nb/", "Fail"), nil,
			[]string{"spec.dataFrom[0].find", `"nb_bin"`, "null byte", "nullBytePolicy Fail"}},
		{"Ignore writes the value as it is", find("nb/", "Ignore"), all, nil},
		{"no policy is Ignore", find("nb/", ""), all, nil},
		{"Fail looks at the decoded value", func() *render.ExternalSecret {
			e := find("nb64/", "Fail")
			e.Spec.DataFrom[0].Find.DecodingStrategy = "Base64"
			return e
		}(), nil, []string{`"nb64_v"`, "null byte"}},
		{"Fail names the key after the rewrites", find("nb/", "Fail", render.Rewrite{Regexp: &render.RewriteRegexp{Source: "nb/(.*)", Target: "k-$1"}}), nil,
			[]string{`"k-bin"`, "null byte"}},
		{"a find without NUL bytes passes under Fail", find("nb/t", "Fail"), map[string]string{"nb_txt": "text"}, nil},
		{"extract's Fail names the first key in order too", withDataFrom(render.DataFrom{Extract: &render.RemoteRef{Key: "ex/pairs", NullBytePolicy: "Fail"}}), nil,
			[]string{"spec.dataFrom[0].extract", `"a"`, "null byte"}},
	})
}

// TestRewriteMerge: ESO's RewriteMerge. Each value is read as a JSON
// object, in key order with the priority keys last (the last of them
// winning); a key two values set is a conflict, an error unless
// conflictPolicy is Ignore. Extract (the default) makes each merged key a
// key, printed as GetByteValue prints it (numbers with FormatFloat 'f',
// objects and lists with json.Marshal, HTML escaped, null as an empty
// value) and drops the merged keys; JSON keeps them and adds into, written
// by an encoder without HTML escaping. The values are decoded after the
// rewrites, as ESO's handleFindAllSecrets does.
func TestRewriteMerge(t *testing.T) {
	b := `{"host":"db.local","ratio":1.50,"opts":{"z":1,"a":"<x>"},"list":[1,"two"],"none":null,"big":1e21,"tiny":0.0000001}`
	r := remote{
		"x/a":     `{"user":"a-user","port":5432,"tls":true}`,
		"x/b":     b,
		"y/a":     `{"user":"ya-user","tier":"gold","pw":"` + canary + `"}`,
		"y/b":     `{"user":"yb-user"}`,
		"y/c":     `{"tier":"silver"}`,
		"z/ok":    `{"k":"v"}`,
		"z/plain": canary + " not json",
		"q/1":     "null",
		"q/2":     `{"k":"v"}`,
		"arr/1":   `["` + canary + `"]`,
		"w/b64":   `{"tok":"aGk=","word":"plain!"}`,
		"e/both":  `{"primary":{"user":"p","pw":"1"},"replica":{"user":"r"}}`,
	}
	merge := func(path string, m render.RewriteMerge, more ...render.Rewrite) *render.ExternalSecret {
		return withDataFrom(render.DataFrom{Find: findPath(path), Rewrite: append([]render.Rewrite{strip(path), {Merge: &m}}, more...)})
	}
	extracted := map[string]string{
		"user": "a-user", "port": "5432", "tls": "true",
		"host": "db.local", "ratio": "1.5", "opts": `{"a":"\u003cx\u003e","z":1}`, "list": `[1,"two"]`, "none": "",
		"big": "1000000000000000000000", "tiny": "0.0000001",
	}
	runESOCases(t, r, []esoCase{
		{"Extract makes every key of every value a key, and drops the merged keys", merge("x/", render.RewriteMerge{}), extracted, nil},
		{"Extract by name is the default", merge("x/", render.RewriteMerge{Strategy: "Extract", Into: "ignored"}), extracted, nil},
		{"JSON keeps the merged keys and writes them all into one", merge("x/", render.RewriteMerge{Strategy: "JSON", Into: "all"}), map[string]string{
			"a": r["x/a"], "b": b,
			"all": `{"big":1e+21,"host":"db.local","list":[1,"two"],"none":null,"opts":{"a":"<x>","z":1},"port":5432,"ratio":1.5,"tiny":1e-7,"tls":true,"user":"a-user"}`,
		}, nil},
		{"JSON into a merged key replaces it", merge("x/", render.RewriteMerge{Strategy: "JSON", Into: "a"}), map[string]string{
			"b": b,
			"a": `{"big":1e+21,"host":"db.local","list":[1,"two"],"none":null,"opts":{"a":"<x>","z":1},"port":5432,"ratio":1.5,"tiny":1e-7,"tls":true,"user":"a-user"}`,
		}, nil},
		{"a key two values set is an error by default, naming the rewrite, not the values", merge("y/", render.RewriteMerge{}), nil,
			[]string{"spec.dataFrom[0].find", "rewrite[1]", "merge", "conflict"}},
		{"conflictPolicy Error is the default by name", merge("y/", render.RewriteMerge{ConflictPolicy: "Error"}), nil, []string{"rewrite[1]", "conflict"}},
		{"conflictPolicy Ignore: the later value in key order wins", merge("y/", render.RewriteMerge{ConflictPolicy: "Ignore"}),
			map[string]string{"user": "yb-user", "tier": "silver", "pw": canary}, nil},
		{"a priority key comes last and wins", merge("y/", render.RewriteMerge{ConflictPolicy: "Ignore", Priority: []string{"a"}}),
			map[string]string{"user": "ya-user", "tier": "gold", "pw": canary}, nil},
		{"of two priority keys, the last listed wins", merge("y/", render.RewriteMerge{ConflictPolicy: "Ignore", Priority: []string{"a", "b"}}),
			map[string]string{"user": "yb-user", "tier": "gold", "pw": canary}, nil},
		{"a priority key that is missing is an error (Strict, the default)", merge("y/", render.RewriteMerge{ConflictPolicy: "Ignore", Priority: []string{"nope"}}), nil,
			[]string{"rewrite[1]", `"nope"`, "not found"}},
		{"priorityPolicy IgnoreNotFound skips a missing priority key", merge("y/", render.RewriteMerge{ConflictPolicy: "Ignore", Priority: []string{"nope", "a"}, PriorityPolicy: "IgnoreNotFound"}),
			map[string]string{"user": "ya-user", "tier": "gold", "pw": canary}, nil},
		{"a value that is not JSON is an error naming its key, not the value", merge("z/", render.RewriteMerge{}), nil,
			[]string{"rewrite[1]", `"plain"`, "not a JSON object"}},
		{"a JSON list is not an object either", merge("arr/", render.RewriteMerge{}), nil, []string{"rewrite[1]", `"1"`, "not a JSON object"}},
		{"a JSON null adds nothing", merge("q/", render.RewriteMerge{}), map[string]string{"k": "v"}, nil},
		{"JSON without into is an error", merge("x/", render.RewriteMerge{Strategy: "JSON"}), nil, []string{"rewrite[1]", "into"}},
		{"a later rewrite renames the merged keys", merge("x/a", render.RewriteMerge{}, render.Rewrite{Regexp: &render.RewriteRegexp{Source: "^(.*)$", Target: "db_$1"}}),
			map[string]string{"db_user": "a-user", "db_port": "5432", "db_tls": "true"}, nil},
		{"decoding comes after the merge", func() *render.ExternalSecret {
			e := merge("w/", render.RewriteMerge{})
			e.Spec.DataFrom[0].Find.DecodingStrategy = "Auto"
			return e
		}(), map[string]string{"tok": "hi", "word": "plain!"}, nil},
		{"an extract's keys merge too", withDataFrom(render.DataFrom{Extract: &render.RemoteRef{Key: "e/both"},
			Rewrite: []render.Rewrite{{Merge: &render.RewriteMerge{ConflictPolicy: "Ignore", Priority: []string{"primary"}}}}}),
			map[string]string{"user": "p", "pw": "1"}, nil},
	})
}

// TestValuesDecodingStrategy: ESO decodes each value a templateFrom entry
// renders (never a key), with the strategy's rules, before it lands in
// data, labels or annotations; template.data is never decoded.
func TestValuesDecodingStrategy(t *testing.T) {
	src := sources{
		"configmap/apps/tpl": {"enc": "{{ .b64 }}", "badenc": "{{ .bad }}"},
		"secret/apps/tpl":    {"pairs": "u: '{{ .url }}'"},
	}
	data := values("b64", "aGVsbG8=", "url", "aGk_", "lbl", "cGF5bWVudHM=", "bad", canary+"!!")
	lit := func(body, strategy, target string) render.TemplateFrom {
		return render.TemplateFrom{Literal: &body, ValuesDecodingStrategy: strategy, Target: target}
	}
	cases := []struct {
		name       string
		tpl        *render.Template
		want       map[string]string
		wantLabels map[string]string
		wantErr    []string
	}{
		{"Base64 decodes each value of a literal's map", &render.Template{TemplateFrom: []render.TemplateFrom{lit("a: '{{ .b64 }}'", "Base64", "")}},
			map[string]string{"a": "hello"}, map[string]string{}, nil},
		{"keys are not decoded", &render.Template{TemplateFrom: []render.TemplateFrom{lit("SGVsbG8=: V29ybGQ=", "Base64", "")}},
			map[string]string{"SGVsbG8=": "World"}, map[string]string{}, nil},
		{"a ConfigMap item's value (templateAs Values)", &render.Template{TemplateFrom: []render.TemplateFrom{{
			ConfigMap: &render.TemplateRef{Name: "tpl", Items: []render.TemplateRefItem{{Key: "enc"}}}, ValuesDecodingStrategy: "Base64"}}},
			map[string]string{"enc": "hello"}, map[string]string{}, nil},
		{"a Secret item's map (KeysAndValues), Base64URL", &render.Template{TemplateFrom: []render.TemplateFrom{{
			Secret: &render.TemplateRef{Name: "tpl", Items: []render.TemplateRefItem{{Key: "pairs", TemplateAs: "KeysAndValues"}}}, ValuesDecodingStrategy: "Base64URL"}}},
			map[string]string{"u": "hi?"}, map[string]string{}, nil},
		{"Auto decodes base64, then base64url, and keeps the rest", &render.Template{TemplateFrom: []render.TemplateFrom{lit("a: '{{ .b64 }}'\nb: '{{ .url }}'\nc: 'plain!'", "Auto", "")}},
			map[string]string{"a": "hello", "b": "hi?", "c": "plain!"}, map[string]string{}, nil},
		{"None keeps the value", &render.Template{TemplateFrom: []render.TemplateFrom{lit("a: '{{ .b64 }}'", "None", "")}},
			map[string]string{"a": "aGVsbG8="}, map[string]string{}, nil},
		{"a Labels target is decoded too", &render.Template{TemplateFrom: []render.TemplateFrom{lit("team: '{{ .lbl }}'", "Base64", "Labels")}},
			map[string]string{}, map[string]string{"team": "payments"}, nil},
		{"template.data is not decoded", &render.Template{Data: map[string]string{"d": "{{ .b64 }}"}, TemplateFrom: []render.TemplateFrom{lit("a: '{{ .b64 }}'", "Base64", "")}},
			map[string]string{"a": "hello", "d": "aGVsbG8="}, map[string]string{}, nil},
		{"a value that is not base64 is an error naming the entry and the item, not the value", &render.Template{TemplateFrom: []render.TemplateFrom{{
			ConfigMap: &render.TemplateRef{Name: "tpl", Items: []render.TemplateRefItem{{Key: "enc"}}}}, lit("a: '{{ .bad }}'", "Base64", "")}},
			nil, nil, []string{"spec.target.template.templateFrom[1].literal", "valuesDecodingStrategy Base64", "not base64"}},
		{"so is one of a ConfigMap item", &render.Template{TemplateFrom: []render.TemplateFrom{{
			ConfigMap: &render.TemplateRef{Name: "tpl", Items: []render.TemplateRefItem{{Key: "badenc"}}}, ValuesDecodingStrategy: "Base64URL"}}},
			nil, nil, []string{"spec.target.template.templateFrom[0].badenc", "valuesDecodingStrategy Base64URL", "not base64url"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := desired.ApplyTemplate(t.Context(), withTemplate(c.tpl), data, src)
			if !checkData(t, plain(got.Data), err, c.wantErr, c.want) {
				return
			}
			if diff := cmp.Diff(c.wantLabels, got.Labels); diff != "" {
				t.Fatalf("labels (-want +got):\n%s", diff)
			}
		})
	}
}

// checkData holds one case's outcome: with wantErr, an error holding each
// of them and never the canary; else no error and data equal to want. It
// reports whether the case expected data (so that its caller checks more).
func checkData(t *testing.T, got map[string]string, err error, wantErr []string, want map[string]string) bool {
	t.Helper()
	if len(wantErr) > 0 {
		if err == nil {
			t.Fatalf("no error; data %q", got)
		}
		for _, w := range wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("error %q lacks %q", err, w)
			}
		}
		if strings.Contains(err.Error(), canary) {
			t.Fatal("the error quotes a value")
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("data (-want +got):\n%s", diff)
	}
	return true
}
