package sdk

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"meseta.dev/meseta/apis/v1alpha1"
)

func TestDefaultEnv(t *testing.T) {
	g := NewWithT(t)
	task := NewTask("t", v1alpha1.TaskTemplate{Container: v1alpha1.Container{Env: []v1alpha1.EnvVar{{Name: "A", Value: "mine"}}}})
	DefaultEnv(&task, v1alpha1.EnvVar{Name: "A", Value: "default"}, v1alpha1.EnvVar{Name: "B", Value: "b"})
	g.Expect(task.Spec.Container.Env).To(Equal([]v1alpha1.EnvVar{{Name: "A", Value: "mine"}, {Name: "B", Value: "b"}}))
}

func TestRequestsByAnnotation(t *testing.T) {
	g := NewWithT(t)
	of := RequestsByAnnotation("meseta.dev/app")
	owned := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web.1", Annotations: map[string]string{"meseta.dev/app": "web"}}}
	reqs := of(context.Background(), owned)
	g.Expect(reqs).To(HaveLen(1))
	g.Expect(reqs[0].Namespace + "/" + reqs[0].Name).To(Equal("ns/web"))
	g.Expect(of(context.Background(), &v1alpha1.Task{})).To(BeEmpty())
}

func TestEnqueueByAnnotationAfter(t *testing.T) {
	g := NewWithT(t)
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	h := EnqueueByAnnotationAfter("meseta.dev/job", 200*time.Millisecond)
	task := func(name, owner string) *v1alpha1.Task {
		return &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Annotations: map[string]string{"meseta.dev/job": owner}}}
	}
	ctx := context.Background()
	for i := range 20 {
		h.Create(ctx, event.CreateEvent{Object: task(fmt.Sprint("batch-", i), "batch")}, q)
	}
	h.Update(ctx, event.UpdateEvent{ObjectOld: task("moved", "batch"), ObjectNew: task("moved", "other")}, q)
	h.Delete(ctx, event.DeleteEvent{Object: &v1alpha1.Task{}}, q) // no owner: nothing
	g.Expect(q.Len()).To(BeZero(), "nothing is enqueued before the batch has gathered")

	g.Eventually(q.Len).Should(Equal(2), "one request per owner for the whole burst")
	got := map[string]bool{}
	for range 2 {
		req, _ := q.Get()
		got[req.String()] = true
		q.Done(req)
	}
	g.Expect(got).To(Equal(map[string]bool{"ns/batch": true, "ns/other": true}))
	g.Consistently(q.Len, 400*time.Millisecond).Should(BeZero())
}
