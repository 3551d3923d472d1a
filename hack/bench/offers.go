package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/sdk"
)

// benchOffersE2E measures offers made and accepted per second end to end:
// simulated nodes, the master's allocator and binding, and frameworks written
// with pkg/sdk that accept every offer with one small task (each in its own
// namespace, so its own DRF role). It counts over a window after every
// framework registered and a warm-up.
func benchOffersE2E(ctx context.Context, env *env) {
	type size struct{ nodes, frameworks int }
	sizes := []size{{1000, 10}, {1000, 100}, {5000, 100}}
	window := 30 * time.Second
	if env.short {
		sizes, window = []size{{100, 10}}, 10*time.Second
	}
	for _, s := range sizes {
		params := fmt.Sprintf("nodes=%d frameworks=%d window=%s", s.nodes, s.frameworks, window)
		if err := runOffers(ctx, env, s.nodes, s.frameworks, window, params); err != nil {
			env.report.fail("offers-e2e", params, err)
		}
	}
}

func runOffers(ctx context.Context, env *env, nodes, frameworks int, window time.Duration, params string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m, err := startMaster(ctx, env)
	if err != nil {
		return err
	}
	defer m.stop()
	if _, err := startFleet(ctx, env, m, nodes, nil); err != nil {
		return err
	}
	made, accepted, err := countOffers(ctx, m)
	if err != nil {
		return err
	}
	c, err := m.client()
	if err != nil {
		return err
	}
	mgr, err := frameworkManager(ctx, m.config())
	if err != nil {
		return err
	}
	var launched atomic.Int64
	drivers := make([]*sdk.Driver, frameworks)
	for i := range drivers {
		ns := fmt.Sprintf("offers-%03d", i)
		if err := ensureNamespace(ctx, c, ns); err != nil {
			return err
		}
		sched := &acceptAll{name: "fw", accepted: &launched}
		if drivers[i], err = sdk.Register(mgr, sdk.Framework{Name: "fw", Namespace: ns}, sched); err != nil {
			return err
		}
	}
	go func() { _ = mgr.Start(ctx) }()
	if err := waitActive(ctx, drivers...); err != nil {
		return err
	}
	time.Sleep(5 * time.Second) // warm-up
	made0, accepted0 := made.Load(), accepted.Load()
	time.Sleep(window)
	madeRate := float64(made.Load()-made0) / window.Seconds()
	acceptedRate := float64(accepted.Load()-accepted0) / window.Seconds()
	env.report.add(Row{Scenario: "offers-e2e", Params: params, Measure: "offers made", Value: madeRate, Unit: "offers/s"})
	env.report.add(Row{Scenario: "offers-e2e", Params: params, Measure: "offers accepted", Value: acceptedRate, Unit: "offers/s",
		Note: fmt.Sprintf("%d tasks launched in all", launched.Load())})
	return nil
}

// countOffers counts, from a watch of every Offer, those created and those
// seen Accepted.
func countOffers(ctx context.Context, m *master) (made, accepted *atomic.Int64, err error) {
	made, accepted = &atomic.Int64{}, &atomic.Int64{}
	c, err := cache.New(m.config(), cache.Options{Scheme: sdk.Scheme()})
	if err != nil {
		return nil, nil, err
	}
	inf, err := c.GetInformer(ctx, &v1alpha1.Offer{})
	if err != nil {
		return nil, nil, err
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			made.Add(1)
			if o, ok := obj.(*v1alpha1.Offer); ok && o.Status.Phase == v1alpha1.OfferAccepted {
				accepted.Add(1)
			}
		},
		UpdateFunc: func(old, obj any) {
			o, ok1 := obj.(*v1alpha1.Offer)
			prev, ok2 := old.(*v1alpha1.Offer)
			if ok1 && ok2 && o.Status.Phase == v1alpha1.OfferAccepted && prev.Status.Phase != v1alpha1.OfferAccepted {
				accepted.Add(1)
			}
		},
	})
	if err != nil {
		return nil, nil, err
	}
	go func() { _ = c.Start(ctx) }()
	c.WaitForCacheSync(ctx)
	return made, accepted, nil
}
