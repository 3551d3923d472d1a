package binding

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/ledger"
	"meseta.dev/meseta/pkg/resources"
)

func TestBatchWait(t *testing.T) {
	type seen struct {
		ago    time.Duration
		offers []string
		size   int // LaunchTasksAnnotation, 0: none
	}
	tests := []struct {
		name  string
		tasks []seen
		want  time.Duration
	}{
		{name: "one task, just seen: wait the window", tasks: []seen{{0, []string{"o1"}, 0}}, want: 25 * time.Millisecond},
		{name: "quiet long enough", tasks: []seen{{30 * time.Millisecond, []string{"o1"}, 0}}, want: 0},
		{name: "a newer task restarts the window", tasks: []seen{{40 * time.Millisecond, []string{"o1"}, 0}, {10 * time.Millisecond, []string{"o1"}, 0}},
			want: 15 * time.Millisecond},
		{name: "announced and complete: no wait", tasks: []seen{{0, []string{"o1"}, 2}, {0, []string{"o1"}, 2}}, want: 0},
		{name: "announced, one missing: wait", tasks: []seen{{100 * time.Millisecond, []string{"o1"}, 3}, {0, []string{"o1"}, 3}},
			want: 25 * time.Millisecond},
		{name: "announced, one missing, 5s since the last arrived: a create may still be queued at the master",
			tasks: []seen{{5 * time.Second, []string{"o1"}, 3}}, want: 25 * time.Millisecond},
		{name: "announced, one missing, 15s since the last arrived: a loaded master may queue a create that long",
			tasks: []seen{{15 * time.Second, []string{"o1"}, 3}}, want: 25 * time.Millisecond},
		{name: "announced, one missing, 45s since the last arrived: a create queued, refused and sent again may come that late",
			tasks: []seen{{45 * time.Second, []string{"o1"}, 3}}, want: 25 * time.Millisecond},
		{name: "announced, one missing, waited too long", tasks: []seen{{time.Minute, []string{"o1"}, 3}}, want: 0},
		{name: "announced, one missing, the others still arriving: wait",
			tasks: []seen{{8 * time.Second, []string{"o1"}, 3}, {time.Second, []string{"o1"}, 3}}, want: 25 * time.Millisecond},
		{name: "offers named in another order are the same launch", tasks: []seen{{0, []string{"a", "b"}, 2}, {0, []string{"b", "a"}, 2}}, want: 0},
		{name: "an unannounced launch beside a complete one waits for quiet",
			tasks: []seen{{0, []string{"o1"}, 1}, {5 * time.Millisecond, []string{"o1", "o2"}, 0}}, want: 25 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			b := &Binder{opts: Options{Clock: clocktesting.NewFakePassiveClock(now)}.complete()}
			var tasks []*v1alpha1.Task
			for i, s := range tt.tasks {
				tk := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: strconv.Itoa(i), UID: types.UID(strconv.Itoa(i))}}
				tk.Spec.Offers = s.offers
				if s.size > 0 {
					tk.Annotations = map[string]string{v1alpha1.LaunchTasksAnnotation: strconv.Itoa(s.size)}
				}
				b.seen.Store(tk.UID, now.Add(-s.ago))
				tasks = append(tasks, tk)
			}
			g.Expect(b.batchWait(tasks)).To(Equal(tt.want))
		})
	}
}

func TestOffersClosed(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	offer := func(name string, phase v1alpha1.OfferPhase) *v1alpha1.Offer {
		o := &v1alpha1.Offer{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}}
		o.Status.Phase = phase
		return o
	}
	cache := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		offer("outstanding", v1alpha1.OfferOutstanding),
		offer("accepted", v1alpha1.OfferAccepted),
		offer("rescinded", v1alpha1.OfferRescinded),
		offer("unadopted", v1alpha1.OfferOutstanding),
	).Build()
	l := ledger.New()
	l.SetAllocatable("n1", resources.Vector{})
	if err := l.AddOffer(ledger.Offer{Key: types.NamespacedName{Namespace: "ns", Name: "outstanding"}, UID: "u1", Node: "n1"}); err != nil {
		t.Fatal(err)
	}
	if err := l.AddOffer(ledger.Offer{Key: types.NamespacedName{Namespace: "ns", Name: "being-created"}, Node: "n1"}); err != nil {
		t.Fatal(err)
	}
	b := &Binder{cache: cache, ledger: l}
	tests := []struct {
		offers []string
		want   bool
	}{
		{[]string{"outstanding"}, false},
		{[]string{"being-created"}, false},
		{[]string{"unadopted"}, false},
		{[]string{"accepted"}, true},
		{[]string{"rescinded"}, true},
		{[]string{"deleted"}, true},
		{[]string{"outstanding", "accepted"}, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.offers, ","), func(t *testing.T) {
			task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "ns"}}
			task.Spec.Offers = tt.offers
			NewWithT(t).Expect(b.offersClosed(context.Background(), "ns", []*v1alpha1.Task{task})).To(Equal(tt.want))
		})
	}
}
