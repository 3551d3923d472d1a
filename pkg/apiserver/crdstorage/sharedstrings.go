package crdstorage

import (
	"hash/maphash"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/runtime"
)

// sharedStringSlots is how many strings the table of shared strings holds at
// once: every field name and every recurring value of a master's custom
// resources (their kinds, images, states, quantities, label keys and node
// names) with room to spare, in 64 KiB of slots.
const sharedStringSlots = 8192

// maxSharedString is the longest string the table shares. Longer ones
// (commands, messages) rarely recur, and would only push others out.
const maxSharedString = 64

// sharedStrings is the table whose strings the custom resources a master
// keeps decoded share (see decodedOnce): its watch caches hold every object
// of every Meseta kind, and, in a resource's history of events, the versions
// each had before. Decoded from JSON, each object has a string of its own for
// every field name and value, and the names of fields are the same in all of
// them: with 50,000 tasks that was two thirds of the allocations the caches
// hold, for the collector to trace at every cycle.
var sharedStrings = newStringTable(sharedStringSlots)

// stringTable is a table of strings, each kept as a string and as an
// interface value holding it, that copies of JSON values share. A slot holds
// the last string that hashed to it: a recurring string stays, one seen once
// is replaced by the next to come. It takes no lock, and a string is never
// changed, so any number of objects and goroutines may share one.
type stringTable struct {
	seed  maphash.Seed
	slots []atomic.Pointer[sharedString]
}

// sharedString is a string of a stringTable and the interface value, holding
// it, that JSON values share.
type sharedString struct {
	s   string
	val any
}

func newStringTable(slots int) *stringTable {
	return &stringTable{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[sharedString], slots)}
}

// shared returns the table's entry for s, made from val (an interface value
// holding s) when the slot held another string.
func (t *stringTable) shared(s string, val any) *sharedString {
	slot := &t.slots[maphash.String(t.seed, s)%uint64(len(t.slots))]
	if e := slot.Load(); e != nil && e.s == s {
		return e
	}
	e := &sharedString{s: s, val: val}
	slot.Store(e)
	return e
}

// key returns s, the table's copy when it is short enough to share.
func (t *stringTable) key(s string) string {
	if len(s) > maxSharedString {
		return s
	}
	return t.shared(s, s).s
}

// copyJSON returns a copy of v, a JSON value as unstructured objects hold it:
// its maps and slices are its own, as runtime.DeepCopyJSONValue makes them,
// and its field names and string values are the table's when short enough.
func (t *stringTable) copyJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[t.key(k)] = t.copyJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = t.copyJSON(e)
		}
		return out
	case string:
		if len(x) > maxSharedString {
			return v
		}
		return t.shared(x, v).val
	case nil, bool, int64, float64:
		return v
	default:
		// json.Number, or a value no decoder makes: as DeepCopyJSONValue.
		return runtime.DeepCopyJSONValue(v)
	}
}
