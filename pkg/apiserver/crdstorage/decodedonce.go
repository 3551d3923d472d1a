package crdstorage

import (
	"bytes"
	"io"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// freshWrites is how many objects a decodedOnce codec remembers having
// encoded: far more than a master writes in the moment between a write and
// its watch event, few enough that what it holds is a few MiB at most.
const freshWrites = 512

// decodedOnce is a storage codec that decodes each object it wrote once for
// the two readers every write has: the write itself, which returns the
// object it stored, and the watch cache's watch of etcd, which sees the same
// bytes come back as an event. Each decoded them on its own, and decoding a
// custom resource is most of what reading one costs (JSON into unstructured
// maps, the schema's coercion, defaulting and pruning, the metadata checked
// by a round trip through ObjectMeta): two decodes were a tenth of the
// master's CPU in a launch.
//
// It remembers the bytes of the last freshWrites objects it encoded. The
// first decode of such bytes keeps a copy of its result (far cheaper than a
// decode); the second takes that copy instead of decoding, and the bytes are
// forgotten. Decoding is a function of the bytes, so whichever reader comes
// first, each gets an object of its own equal to what it would have decoded.
// Bytes it did not just encode (lists, reads of older objects, the previous
// object of a watch event, writes of another master) are decoded as before.
//
// What the watch cache keeps, from its watch or from a list, is a copy whose
// field names, short strings and small maps and lists are those of the table
// of shared values (sharedValues) when it holds equal ones: a master holds
// every object of every Meseta kind decoded, and the versions they had before
// in each resource's history of events, and decoded from JSON each had its
// own. A write's own reader, whose object lives as long as the request, gets
// the decoded object itself.
type decodedOnce struct {
	runtime.Codec

	mu sync.Mutex
	// fresh holds, by their bytes, the objects encoded and not yet read
	// twice; order is the ring of their bytes, oldest first from next.
	fresh map[string]*freshObject
	order [freshWrites]string
	next  int
}

// freshObject is an object encoded by a decodedOnce: once its first reader
// has decoded it, decoded is the copy its second reader takes.
type freshObject struct {
	decoded *unstructured.Unstructured
	gvk     *schema.GroupVersionKind
}

// decodeOnce returns codec that decodes each object it encodes once for its
// two readers (see decodedOnce).
func decodeOnce(codec runtime.Codec) *decodedOnce {
	return &decodedOnce{Codec: codec, fresh: make(map[string]*freshObject, freshWrites)}
}

// Encode implements runtime.Encoder: it remembers the bytes it wrote.
func (c *decodedOnce) Encode(obj runtime.Object, w io.Writer) error {
	var buf bytes.Buffer
	if err := c.Codec.Encode(obj, &buf); err != nil {
		return err
	}
	c.remember(buf.String())
	_, err := w.Write(buf.Bytes())
	return err
}

// remember notes data as freshly encoded, forgetting the oldest such bytes.
func (c *decodedOnce) remember(data string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if oldest := c.order[c.next]; oldest != "" {
		delete(c.fresh, oldest)
	}
	c.order[c.next] = data
	c.next = (c.next + 1) % freshWrites
	c.fresh[data] = &freshObject{}
}

// Decode implements runtime.Decoder: the second decode of bytes it encoded
// takes the copy the first kept.
func (c *decodedOnce) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	target, ok := into.(*unstructured.Unstructured)
	if defaults != nil || (into != nil && !ok) {
		return c.Codec.Decode(data, defaults, into)
	}
	c.mu.Lock()
	fresh := c.fresh[string(data)]
	if fresh != nil && fresh.decoded != nil {
		delete(c.fresh, string(data))
		c.mu.Unlock()
		gvk := *fresh.gvk
		if target == nil {
			return fresh.decoded, &gvk, nil
		}
		target.Object = fresh.decoded.Object
		return target, &gvk, nil
	}
	c.mu.Unlock()

	obj, gvk, err := c.Codec.Decode(data, defaults, into)
	if err != nil || gvk == nil {
		return obj, gvk, err
	}
	decoded, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, gvk, err
	}
	if fresh == nil {
		decoded.Object = sharedCopy(decoded)
		return decoded, gvk, nil
	}
	// The first reader of a write: the write's own (into an object of its
	// request) keeps the copy with shared values for the watch; the watch
	// takes that copy itself and leaves the decoded object to the write.
	kept := &unstructured.Unstructured{Object: sharedCopy(decoded)}
	if into == nil {
		decoded, kept = kept, decoded
		obj = decoded
	}
	keptGVK := *gvk
	c.mu.Lock()
	if c.fresh[string(data)] == fresh && fresh.decoded == nil {
		fresh.decoded, fresh.gvk = kept, &keptGVK
	}
	c.mu.Unlock()
	return obj, gvk, nil
}

// sharedCopy returns a copy of u's content that shares its values with the
// watch cache's other objects (sharedValues).
func sharedCopy(u *unstructured.Unstructured) map[string]any {
	return sharedValues.copyJSON(u.Object).(map[string]any)
}
