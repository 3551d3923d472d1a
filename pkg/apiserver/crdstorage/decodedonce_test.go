package crdstorage

import (
	"fmt"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/storage/storagebackend"
)

// countingCodec is the unstructured JSON codec, counting its decodes.
type countingCodec struct {
	runtime.Codec
	mu      sync.Mutex
	decodes int
}

func newCountingCodec() *countingCodec {
	return &countingCodec{Codec: unstructured.UnstructuredJSONScheme}
}

// newDecodedOnce returns a decodedOnce over a counting codec, and that codec.
func newDecodedOnce() (*decodedOnce, *countingCodec) {
	inner := newCountingCodec()
	return decodeOnce(inner), inner
}

func (c *countingCodec) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	c.mu.Lock()
	c.decodes++
	c.mu.Unlock()
	return c.Codec.Decode(data, defaults, into)
}

func (c *countingCodec) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.decodes
}

// storedTask returns a task as storage encodes it.
func storedTask(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "meseta.dev/v1alpha1", "kind": "Task",
		"metadata": map[string]any{"name": name, "namespace": "team-a"},
		"spec":     map[string]any{"framework": "fw", "offers": []any{"o1"}, "resources": map[string]any{"cpus": "0.1"}},
	}}
}

func TestDecodedOnceDecodesAWriteOnceForItsTwoReaders(t *testing.T) {
	g := NewWithT(t)
	c, inner := newDecodedOnce()
	data, err := runtime.Encode(c, storedTask("t1"))
	g.Expect(err).NotTo(HaveOccurred())

	// The write decodes what it stored into its output object.
	written := &unstructured.Unstructured{}
	written.SetGroupVersionKind(schema.GroupVersionKind{Group: "meseta.dev", Version: "v1alpha1", Kind: "Task"})
	_, gvk, err := c.Decode(data, nil, written)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(gvk.Kind).To(Equal("Task"))
	g.Expect(inner.count()).To(Equal(1))

	// The watch decodes the same bytes: it takes the copy.
	watched, err := runtime.Decode(c, data)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(inner.count()).To(Equal(1), "the second reader does not decode")
	g.Expect(watched.(*unstructured.Unstructured).Object).To(Equal(written.Object))

	written.SetResourceVersion("7")
	unstructured.SetNestedField(written.Object, "n1", "spec", "nodeName")
	g.Expect(watched.(*unstructured.Unstructured).GetResourceVersion()).To(BeEmpty(), "each reader owns its object")
	g.Expect(watched.(*unstructured.Unstructured).Object["spec"]).NotTo(HaveKey("nodeName"))

	_, err = runtime.Decode(c, data)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(inner.count()).To(Equal(2), "a third read decodes: the bytes were forgotten after two")
}

func TestDecodedOnceHandsTheCopyToWhicheverReaderComesSecond(t *testing.T) {
	g := NewWithT(t)
	c, inner := newDecodedOnce()
	data, err := runtime.Encode(c, storedTask("t1"))
	g.Expect(err).NotTo(HaveOccurred())

	watched, err := runtime.Decode(c, data)
	g.Expect(err).NotTo(HaveOccurred())
	written := &unstructured.Unstructured{}
	got, _, err := c.Decode(data, nil, written)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(BeIdenticalTo(written), "a decode into an object fills that object")
	g.Expect(inner.count()).To(Equal(1))
	g.Expect(written.Object).To(Equal(watched.(*unstructured.Unstructured).Object))
	written.SetName("changed")
	g.Expect(watched.(*unstructured.Unstructured).GetName()).To(Equal("t1"))
}

func TestDecodedOnceDecodesWhatItDidNotWrite(t *testing.T) {
	g := NewWithT(t)
	c, inner := newDecodedOnce()
	data, err := runtime.Encode(inner, storedTask("t1")) // written by another codec: a list, an older object
	g.Expect(err).NotTo(HaveOccurred())
	for range 3 {
		obj, err := runtime.Decode(c, data)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(obj.(*unstructured.Unstructured).GetName()).To(Equal("t1"))
	}
	g.Expect(inner.count()).To(Equal(3))

	_, _, err = c.Decode([]byte(`{"kind":`), nil, nil)
	g.Expect(err).To(HaveOccurred(), "errors are the inner codec's")
}

func TestDecodedOnceRemembersTheLastWritesOnly(t *testing.T) {
	g := NewWithT(t)
	c, inner := newDecodedOnce()
	first, err := runtime.Encode(c, storedTask("t0"))
	g.Expect(err).NotTo(HaveOccurred())
	for i := 1; i <= freshWrites; i++ {
		_, err := runtime.Encode(c, storedTask(fmt.Sprintf("t%d", i)))
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(c.fresh).To(HaveLen(freshWrites))
	for range 2 {
		_, err := runtime.Decode(c, first)
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(inner.count()).To(Equal(2), "the oldest write was forgotten")
}

func TestDecodedOnceReadersRace(t *testing.T) {
	g := NewWithT(t)
	c, inner := newDecodedOnce()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				task := storedTask(fmt.Sprintf("w%d-t%d", w, i))
				data, err := runtime.Encode(c, task)
				g.Expect(err).NotTo(HaveOccurred())
				results := make(chan *unstructured.Unstructured, 2)
				var readers sync.WaitGroup
				for range 2 {
					readers.Go(func() {
						obj, err := runtime.Decode(c, data)
						g.Expect(err).NotTo(HaveOccurred())
						results <- obj.(*unstructured.Unstructured)
					})
				}
				readers.Wait()
				a, b := <-results, <-results
				g.Expect(a.Object).To(Equal(task.Object))
				g.Expect(b.Object).To(Equal(task.Object))
				a.SetName("mine")
				g.Expect(b.GetName()).NotTo(Equal("mine"), "two readers never share an object")
			}
		})
	}
	wg.Wait()
	g.Expect(inner.count()).To(BeNumerically("<", 2*4*200), "most second reads take the first's copy")
}

func TestTuneWatchCachesDecodesWritesOnce(t *testing.T) {
	g := NewWithT(t)
	var got decorated
	storageCodec := newCountingCodec()
	opts, err := TuneWatchCaches(recordingGetter{got: &got, storage: &recordingStorage{}}).GetRESTOptions(tasks, nil)
	g.Expect(err).NotTo(HaveOccurred())
	given := &storagebackend.ConfigForResource{Config: storagebackend.Config{Codec: storageCodec, Prefix: "/registry"}, GroupResource: tasks}
	_, _, err = opts.Decorator(given, "", nil, nil, nil, nil, nil, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.config.Codec).To(BeAssignableToTypeOf(&decodedOnce{}))
	g.Expect(got.config.Codec.(*decodedOnce).Codec).To(BeIdenticalTo(storageCodec))
	g.Expect(got.config.Prefix).To(Equal("/registry"), "the rest of the configuration is kept")
	g.Expect(given.Codec).To(BeIdenticalTo(storageCodec), "the caller's configuration is not changed")
}

func TestDecodedOnceGivesTheWatchObjectsThatShareTheirStrings(t *testing.T) {
	g := NewWithT(t)
	c, _ := newDecodedOnce()
	framework := func(obj runtime.Object) string {
		v, _, _ := unstructured.NestedString(obj.(*unstructured.Unstructured).Object, "spec", "framework")
		return v
	}

	// A write read first by the write itself: the watch takes the copy.
	first, err := runtime.Encode(c, storedTask("t1"))
	g.Expect(err).NotTo(HaveOccurred())
	written := &unstructured.Unstructured{}
	_, _, err = c.Decode(first, nil, written)
	g.Expect(err).NotTo(HaveOccurred())
	watchedFirst, err := runtime.Decode(c, first)
	g.Expect(err).NotTo(HaveOccurred())

	// A write read first by the watch.
	second, err := runtime.Encode(c, storedTask("t2"))
	g.Expect(err).NotTo(HaveOccurred())
	watchedSecond, err := runtime.Decode(c, second)
	g.Expect(err).NotTo(HaveOccurred())

	// An object it did not write, as a list reads it.
	listed := &unstructured.Unstructured{}
	other, err := runtime.Encode(c.Codec, storedTask("t3"))
	g.Expect(err).NotTo(HaveOccurred())
	_, _, err = c.Decode(other, nil, listed)
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(framework(watchedFirst)).To(Equal("fw"))
	g.Expect(sameString(framework(watchedFirst), framework(watchedSecond))).To(BeTrue())
	g.Expect(sameString(framework(watchedFirst), framework(listed))).To(BeTrue())
	g.Expect(sameString(keyOf(watchedSecond.(*unstructured.Unstructured).Object, "spec"), keyOf(listed.Object, "spec"))).To(BeTrue())
}
