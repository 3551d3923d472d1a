package crdstorage

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
)

// sameString reports whether a and b are one string in memory, not two equal
// ones.
func sameString(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}

// keyOf returns m's key equal to want, as m holds it.
func keyOf(m map[string]any, want string) string {
	for k := range m {
		if k == want {
			return k
		}
	}
	return ""
}

func decodeJSON(g Gomega, s string) map[string]any {
	var m map[string]any
	g.Expect(json.Unmarshal([]byte(s), &m)).To(Succeed())
	return m
}

func TestCopyJSONIsAnEqualCopyOfItsOwn(t *testing.T) {
	g := NewWithT(t)
	table := newValueTable(64)
	in := map[string]any{
		"spec":   map[string]any{"command": []any{"sleep", "10"}, "cpus": "0.1", "n": int64(3), "f": 1.5, "ok": true, "none": nil},
		"number": json.Number("12"),
		"long":   strings.Repeat("x", maxSharedString+1),
	}
	out := table.copyJSON(in).(map[string]any)
	g.Expect(out).To(Equal(in))

	out["spec"].(map[string]any)["cpus"] = "2"
	out["spec"].(map[string]any)["command"].([]any)[0] = "true"
	g.Expect(in["spec"].(map[string]any)["cpus"]).To(Equal("0.1"), "maps are the copy's own")
	g.Expect(in["spec"].(map[string]any)["command"].([]any)[0]).To(Equal("sleep"), "slices are the copy's own")
}

func TestCopyJSONSharesTheStringsOfDifferentObjects(t *testing.T) {
	g := NewWithT(t)
	table := newValueTable(sharedSlots)
	a := table.copyJSON(decodeJSON(g, `{"spec":{"framework":"jobs","image":"busybox"},"metadata":{"name":"a"}}`)).(map[string]any)
	b := table.copyJSON(decodeJSON(g, `{"spec":{"framework":"jobs","image":"busybox"},"metadata":{"name":"b"}}`)).(map[string]any)

	g.Expect(sameString(keyOf(a, "spec"), keyOf(b, "spec"))).To(BeTrue(), "field names are shared")
	specA, specB := a["spec"].(map[string]any), b["spec"].(map[string]any)
	g.Expect(sameString(specA["framework"].(string), specB["framework"].(string))).To(BeTrue(), "values are shared")
	g.Expect(sameString(keyOf(specA, "image"), keyOf(specB, "image"))).To(BeTrue())
	g.Expect(a["metadata"].(map[string]any)["name"]).To(Equal("a"))
	g.Expect(b["metadata"].(map[string]any)["name"]).To(Equal("b"))

	long := strings.Repeat("y", maxSharedString+1)
	c := table.copyJSON(map[string]any{"message": long}).(map[string]any)
	d := table.copyJSON(map[string]any{"message": strings.Clone(long)}).(map[string]any)
	g.Expect(c["message"]).To(Equal(d["message"]))
	g.Expect(sameString(c["message"].(string), d["message"].(string))).To(BeFalse(), "long strings are not taken in")
}

func TestValueTableGivesEachStringItselfWhenStringsCollide(t *testing.T) {
	g := NewWithT(t)
	table := newValueTable(1) // every string, map and list in the one slot
	for range 3 {
		for _, s := range []string{"Running", "Staging", "", "Running"} {
			g.Expect(table.key(s)).To(Equal(s))
			g.Expect(table.copyJSON(s)).To(Equal(s))
		}
		for _, s := range []string{`{"a":{"b":{"c":"1"}}}`, `{"a":{"b":["1"]}}`, `{"a":{"b":{"c":"2"}}}`, `{"a":{"b":{"c":"1"}}}`} {
			g.Expect(table.copyJSON(decodeJSON(g, s))).To(Equal(decodeJSON(g, s)))
		}
	}
}

// BenchmarkCopyJSON copies a running task as the watch cache holds it.
func BenchmarkCopyJSON(b *testing.B) {
	var task map[string]any
	if err := json.Unmarshal([]byte(benchTask), &task); err != nil {
		b.Fatal(err)
	}
	b.Run("DeepCopyJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = runtime.DeepCopyJSON(task)
		}
	})
	b.Run("sharedValues", func(b *testing.B) {
		table := newValueTable(sharedSlots)
		b.ReportAllocs()
		for b.Loop() {
			_ = table.copyJSON(task)
		}
	})
}

const benchTask = `{"apiVersion":"meseta.dev/v1alpha1","kind":"Task","metadata":{"annotations":{"meseta.dev/launch-tasks":"32"},
"creationTimestamp":"2026-12-07T17:38:18Z","finalizers":["meseta.dev/task"],"generation":2,"labels":{"meseta.dev/framework":"load"},
"name":"load-0","namespace":"api-00","ownerReferences":[{"apiVersion":"meseta.dev/v1alpha1","kind":"Framework","name":"load",
"uid":"723c7306-f924-4e9a-befc-c7fba7009eb1"}],"resourceVersion":"45950","uid":"b0700a04-d4ce-4cb8-ab60-e038cca17095"},
"spec":{"container":{"command":["sleep","infinity"],"image":"oci:/var/lib/images/busybox"},"framework":"load","killGracePeriod":"3s",
"nodeName":"sim-00819","offers":["load-sim-00819-2"],"resources":{"cpus":"100m","mem":"32Mi"}},
"status":{"containerID":"api-00_load-0_b0700a04-d4ce-4cb8-ab60-e038cca17095","startedAt":"2026-12-07T17:38:20Z","state":"Running"}}`

// sameMap reports whether a and b are one map in memory.
func sameMap(a, b any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func TestCopyJSONSharesSmallMapsAndListsWithinTheTopFields(t *testing.T) {
	g := NewWithT(t)
	table := newValueTable(sharedSlots)
	task := func(name string) map[string]any {
		return table.copyJSON(decodeJSON(g, `{"metadata":{"name":"`+name+`","labels":{"app":"web"},"finalizers":["meseta.dev/task"]},`+
			`"spec":{"resources":{"cpus":"0.1","mem":"32Mi"},"container":{"image":"busybox","command":["sleep","10"]}},`+
			`"status":{"state":"Running"}}`)).(map[string]any)
	}
	a, b := task("a"), task("b")
	at := func(obj map[string]any, path ...string) any {
		var v any = obj
		for _, p := range path {
			v = v.(map[string]any)[p]
		}
		return v
	}
	for _, path := range [][]string{{"metadata", "labels"}, {"metadata", "finalizers"}, {"spec", "resources"}, {"spec", "container"}} {
		g.Expect(sameMap(at(a, path...), at(b, path...))).To(BeTrue(), "%v is shared", path)
	}
	for _, path := range [][]string{{}, {"metadata"}, {"spec"}, {"status"}} {
		g.Expect(sameMap(at(a, path...), at(b, path...))).To(BeFalse(), "%v, which the API server sets fields of, is each object's own", path)
	}
	g.Expect(at(a, "metadata", "name")).To(Equal("a"))
	g.Expect(at(b, "metadata", "name")).To(Equal("b"))
}

func TestCopyJSONSharesOnlyEqualValues(t *testing.T) {
	g := NewWithT(t)
	table := newValueTable(sharedSlots)
	copyOf := func(s string) any {
		return table.copyJSON(decodeJSON(g, s)).(map[string]any)["a"].(map[string]any)["b"]
	}
	values := []string{
		`{"a":{"b":{"x":"1"}}}`,
		`{"a":{"b":{"x":1}}}`,
		`{"a":{"b":{"x":"1","y":"2"}}}`,
		`{"a":{"b":{"x":["1"]}}}`,
		`{"a":{"b":{"x":true}}}`,
		`{"a":{"b":{"x":null}}}`,
		`{"a":{"b":{"x1":""}}}`,
		`{"a":{"b":{"x":"","1":""}}}`,
		`{"a":{"b":["1","2"]}}`,
		`{"a":{"b":["12"]}}`,
		`{"a":{"b":[]}}`,
		`{"a":{"b":{}}}`,
	}
	copies := make([]any, len(values))
	for i, s := range values {
		copies[i] = copyOf(s)
		g.Expect(copies[i]).To(Equal(decodeJSON(g, s)["a"].(map[string]any)["b"]), s)
	}
	for i := range values {
		for j := range values {
			if i != j {
				g.Expect(sameMap(copies[i], copies[j])).To(BeFalse(), "%s and %s", values[i], values[j])
			}
		}
		g.Expect(sameMap(copies[i], copyOf(values[i]))).To(BeTrue(), "%s is shared", values[i])
	}
}

func TestCopyJSONCopiesWhatIsTooLargeToShare(t *testing.T) {
	g := NewWithT(t)
	table := newValueTable(sharedSlots)
	nine := `{"a":{"b":{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9}}}`
	long := `{"a":{"b":{"k":"` + strings.Repeat("v", maxSharedComposite) + `"}}}`
	for _, s := range []string{nine, long} {
		first := table.copyJSON(decodeJSON(g, s)).(map[string]any)["a"].(map[string]any)["b"]
		second := table.copyJSON(decodeJSON(g, s)).(map[string]any)["a"].(map[string]any)["b"]
		g.Expect(first).To(Equal(second))
		g.Expect(sameMap(first, second)).To(BeFalse())
	}
}
