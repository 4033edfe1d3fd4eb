package inventory

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// asConfigMap is what the API server makes of an apply configuration.
func asConfigMap(ac *corev1ac.ConfigMapApplyConfiguration) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: *ac.Name, Namespace: *ac.Namespace, Labels: ac.Labels, Annotations: ac.Annotations},
		Data: ac.Data, BinaryData: ac.BinaryData}
}

// Past shardBytes the record is cut into shards, the main ConfigMap last,
// naming how many and the digest; read back whole. A shard cut short,
// missing, or a count that is not one makes the record unreadable, never
// half read.
func TestConfigMapsShardTheRecordAndReadRawJoinsThem(t *testing.T) {
	ctx := context.Background()
	inv := bigInventory(300, true)
	raw, err := Encode(inv)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		shards int
		damage func(main *corev1.ConfigMap, objs []*corev1.ConfigMap) []*corev1.ConfigMap
		want   string // a piece of ReadRaw's error; "" reads raw back
	}{
		{"one ConfigMap", len(raw), nil, ""},
		{"shards", len(raw)/3 + 1, nil, ""},
		{"a shard cut short", len(raw)/3 + 1, func(_ *corev1.ConfigMap, objs []*corev1.ConfigMap) []*corev1.ConfigMap {
			objs[0].BinaryData[DataKey] = objs[0].BinaryData[DataKey][:100]
			return objs
		}, "do not add up"},
		{"a shard missing", len(raw)/3 + 1, func(_ *corev1.ConfigMap, objs []*corev1.ConfigMap) []*corev1.ConfigMap {
			return objs[1:]
		}, "shard 1 of 3"},
		{"a count that is no count", len(raw)/3 + 1, func(main *corev1.ConfigMap, objs []*corev1.ConfigMap) []*corev1.ConfigMap {
			main.Annotations[AnnotationShards] = "0"
			return objs
		}, AnnotationShards},
		{"no record", len(raw), func(main *corev1.ConfigMap, objs []*corev1.ConfigMap) []*corev1.ConfigMap {
			delete(main.BinaryData, DataKey)
			return objs
		}, "no " + DataKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			acs := ConfigMaps(Name("prod"), "ops", map[string]string{"l": "v"}, inv.Revision, raw, c.shards, "summary")
			var objs []*corev1.ConfigMap
			for _, ac := range acs {
				objs = append(objs, asConfigMap(ac))
			}
			main := objs[len(objs)-1]
			if c.name == "shards" && (len(objs) != 3 || main.Annotations[AnnotationShards] != "3" || main.Name != Name("prod") || main.Data[SummaryKey] != "summary") {
				t.Fatalf("%d ConfigMaps, the last %s naming %q shards", len(objs), main.Name, main.Annotations[AnnotationShards])
			}
			if c.damage != nil {
				objs = c.damage(main, objs)
			}
			kube := fake.NewClientset()
			for _, o := range objs[:len(objs)-1] {
				if o != main {
					kube.Tracker().Add(o)
				}
			}
			got, err := ReadRaw(ctx, kube, main)
			if c.want == "" {
				if err != nil || string(got) != string(raw) {
					t.Fatalf("read back %d bytes of %d (%v)", len(got), len(raw), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ReadRaw = %v, want an error with %q", err, c.want)
			}
		})
	}
}
