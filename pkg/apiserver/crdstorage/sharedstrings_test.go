package crdstorage

import (
	"encoding/json"
	"strings"
	"testing"
	"unsafe"

	. "github.com/onsi/gomega"
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
	table := newStringTable(64)
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
	table := newStringTable(sharedStringSlots)
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

func TestStringTableGivesEachStringItselfWhenStringsCollide(t *testing.T) {
	g := NewWithT(t)
	table := newStringTable(1) // every string in the one slot
	for range 3 {
		for _, s := range []string{"Running", "Staging", "", "Running"} {
			g.Expect(table.key(s)).To(Equal(s))
			g.Expect(table.copyJSON(s)).To(Equal(s))
		}
	}
}
