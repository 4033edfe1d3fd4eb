package reconciler_test

import (
	"strings"
	"testing"
)

// TestMergeNullBytesAndValuesDecodingEndToEnd: ESO 2.9.0's rewrite merge,
// templateFrom valuesDecodingStrategy and find nullBytePolicy, from Git
// through the Secrets Manager server to the API server: the bytes are
// ESO's (desired's TestRewriteMerge and TestValuesDecodingStrategy derive
// them), and a find whose value holds a NUL byte under Fail fails its
// ExternalSecret with an error that names it and the key, never the value,
// while the others are written.
func TestMergeNullBytesAndValuesDecodingEndToEnd(t *testing.T) {
	f := newFixture(t)
	f.seed("merge/a", `{"user":"ma-seeded","port":1}`)
	f.seed("merge/b", `{"host":"mb-seeded"}`)
	f.seed("enc/v", "aGVsbG8tc2VlZGVk") // "hello-seeded"
	f.remember("hello-seeded")
	f.seed("nul/one", "x\x00nul-seeded")
	f.commit(map[string]string{
		"store.yaml": f.store(),
		"json.yaml": f.esSpec("merged-json", `  dataFrom:
    - find: {path: merge/}
      rewrite:
        - regexp: {source: "merge/(.*)", target: "$1"}
        - merge: {strategy: JSON, into: all}
`),
		"extract.yaml": f.esSpec("merged-keys", `  dataFrom:
    - find: {path: merge/}
      rewrite:
        - regexp: {source: "merge/(.*)", target: "$1"}
        - merge: {}
`),
		"values.yaml": f.esSpec("decoded", `  target:
    template:
      templateFrom: [{literal: "plain: '{{ .v }}'", valuesDecodingStrategy: Base64}]
  data: [{secretKey: v, remoteRef: {key: enc/v}}]
`),
		"nullbytes.yaml": f.esSpec("nul", `  dataFrom:
    - find: {path: nul/, nullBytePolicy: Fail}
`),
	})
	res := f.pass()
	if res.Failed != 1 || len(res.Errors) != 1 {
		t.Fatalf("failed %d, errors %v", res.Failed, res.Errors)
	}
	msg := res.Errors[0].Error()
	for _, want := range []string{f.ns + "/nul", "spec.dataFrom[0].find", `key "nul_one"`, "nullBytePolicy Fail"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("error %q lacks %q", msg, want)
		}
	}
	sameData(t, "merged-json", data(f.secret("merged-json")), map[string]string{
		"a": `{"user":"ma-seeded","port":1}`, "b": `{"host":"mb-seeded"}`,
		"all": `{"host":"mb-seeded","port":1,"user":"ma-seeded"}`,
	})
	sameData(t, "merged-keys", data(f.secret("merged-keys")), map[string]string{"user": "ma-seeded", "port": "1", "host": "mb-seeded"})
	sameData(t, "decoded", data(f.secret("decoded")), map[string]string{"plain": "hello-seeded"})
}

// TestDefaultConversionKeepsANonASCIILetterAndTheAPIServerRefusesIt: as
// ESO's convert, Default keeps a letter of any script in a dataFrom key
// ("café"), which no Secret key may hold: the write of that ExternalSecret
// fails, as ESO's does, and nothing else is touched.
func TestDefaultConversionKeepsANonASCIILetterAndTheAPIServerRefusesIt(t *testing.T) {
	f := newFixture(t)
	f.seed("conv/json", `{"café":"cafe-seeded","ok/key":"ok-seeded"}`)
	f.seed("fine/v", "fine-seeded")
	f.commit(map[string]string{
		"store.yaml": f.store(),
		"conv.yaml":  f.esSpec("conv", "  dataFrom:\n    - extract: {key: conv/json}\n"),
		"fine.yaml":  f.es("fine", "v=fine/v"),
	})
	res := f.pass()
	if res.Failed != 1 || len(res.Errors) != 1 {
		t.Fatalf("failed %d, errors %v", res.Failed, res.Errors)
	}
	if msg := res.Errors[0].Error(); !strings.Contains(msg, f.ns+"/conv") || !strings.Contains(msg, "valid config key") {
		t.Fatalf("error %q does not name the ExternalSecret and the API server's rule", msg)
	}
	sameData(t, "fine", data(f.secret("fine")), map[string]string{"v": "fine-seeded"})
}
