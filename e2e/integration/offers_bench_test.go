package integration

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/master"
)

// BenchmarkOffers measures offers made and accepted per second end to end on
// a real master (embedded etcd, API server, the offer and binding
// controllers) with simulated nodes and frameworks: each framework watches
// its offers and accepts every one at once with a one-CPU task; a reaper
// deletes each task once it is bound, as if it had finished, so that the
// nodes are offered again and again. One iteration is one task bound on an
// offer. Each sub-benchmark starts its own master, so give a fixed count:
//
//	go test ./e2e/integration -run '^$' -bench Offers -benchtime 3000x
func BenchmarkOffers(b *testing.B) {
	for _, nodes := range []int{100, 500, 1000} {
		for _, fws := range []int{10} {
			b.Run(fmt.Sprintf("nodes=%d/frameworks=%d", nodes, fws), func(b *testing.B) {
				benchmarkOffers(b, nodes, fws)
			})
		}
	}
}

func benchmarkOffers(b *testing.B, nodes, frameworks int) {
	b.StopTimer()
	env := startOffers(b, master.SchedulingOptions{AllocationInterval: time.Second}, nil, nil)
	wc, err := client.NewWithWatch(env.m.RESTConfig(), client.Options{Scheme: master.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	cfg := env.m.RESTConfig()
	cfg.QPS, cfg.Burst = 5000, 10000
	fast, err := client.New(cfg, client.Options{Scheme: master.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var made, bound atomic.Int64
	done := make(chan struct{})
	var once sync.Once
	offers := make(chan v1alpha1.Offer, 100000)
	// Watch every offer; the workers accept them.
	ow, err := wc.Watch(ctx, &v1alpha1.OfferList{})
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for e := range ow.ResultChan() {
			if o, ok := e.Object.(*v1alpha1.Offer); ok && e.Type == watch.Added {
				made.Add(1)
				offers <- *o
			}
		}
	}()
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case o := <-offers:
					fw := client.ObjectKey{Namespace: o.Namespace, Name: o.Spec.Framework}
					t := newTask(fw, o.Name, "cpus:1;mem:1Gi", o.Name)
					_ = fast.Create(ctx, t)
				}
			}
		})
	}
	// The reaper: a bound task finishes at once.
	tw, err := wc.Watch(ctx, &v1alpha1.TaskList{})
	if err != nil {
		b.Fatal(err)
	}
	reap := make(chan *v1alpha1.Task, 100000)
	go func() {
		for e := range tw.ResultChan() {
			if t, ok := e.Object.(*v1alpha1.Task); ok && e.Type == watch.Modified && t.IsBound() {
				reap <- t
			}
		}
	}()
	for range 16 {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case t := <-reap:
					if bound.Add(1) == int64(b.N) {
						once.Do(func() { close(done) })
					}
					_ = fast.Delete(ctx, t)
				}
			}
		})
	}
	for i := range nodes {
		env.node(fmt.Sprintf("node-%04d", i), "cpus:8;mem:16Gi;ports:[31000-31099]")
	}
	start := time.Now()
	b.StartTimer()
	for i := range frameworks {
		env.framework(fmt.Sprintf("bench-%02d", i), "fw")
	}
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("only %d of %d tasks bound in 10 minutes", bound.Load(), b.N)
	}
	b.StopTimer()
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "accepts/s")
	b.ReportMetric(float64(made.Load())/elapsed.Seconds(), "offers/s")
	b.ReportMetric(0, "ns/op")
	cancel()
	ow.Stop()
	tw.Stop()
	wg.Wait()
	b.Logf("| %5d nodes | %3d frameworks | %6d tasks bound | %6d offers made | %6.1f s | %7.0f accepts/s | %7.0f offers/s |",
		nodes, frameworks, b.N, made.Load(), elapsed.Seconds(), float64(b.N)/elapsed.Seconds(), float64(made.Load())/elapsed.Seconds())
}
