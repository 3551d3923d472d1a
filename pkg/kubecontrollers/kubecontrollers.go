package kubecontrollers

import (
	"context"
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/discovery"
	cacheddiscovery "k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/controller-manager/pkg/informerfactory"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/controller/clusterroleaggregation"
	"k8s.io/kubernetes/pkg/controller/garbagecollector"
	"k8s.io/kubernetes/pkg/controller/namespace"
	"k8s.io/kubernetes/pkg/controller/serviceaccount"
)

const (
	resync          = 12 * time.Hour
	gcWorkers       = 20
	gcSyncPeriod    = 30 * time.Second
	namespaceWorker = 5
)

// Run starts the controllers with clients made from cfg and blocks until ctx ends
// and every controller has stopped.
func Run(ctx context.Context, cfg *rest.Config) error {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 200, 400
	client, err := kubernetes.NewForConfig(rest.AddUserAgent(cfg, "meseta-kube-controllers"))
	if err != nil {
		return err
	}
	metadataClient, err := metadata.NewForConfig(cfg)
	if err != nil {
		return err
	}
	discoveryClient, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(cacheddiscovery.NewMemCacheClient(discoveryClient))

	typed := informers.NewSharedInformerFactory(client, resync)
	meta := metadatainformer.NewSharedInformerFactory(metadataClient, resync)
	started := make(chan struct{})

	gc, err := garbagecollector.NewGarbageCollector(ctx, client, metadataClient, mapper,
		garbagecollector.DefaultIgnoredResources(), informerfactory.NewInformerFactory(typed, meta), started)
	if err != nil {
		return fmt.Errorf("failed to create the garbage collector: %w", err)
	}
	ns := namespace.NewNamespaceController(ctx, client, metadataClient,
		discoveryClient.ServerPreferredNamespacedResources, typed.Core().V1().Namespaces(), 5*time.Minute, v1.FinalizerKubernetes)
	sa, err := serviceaccount.NewServiceAccountsController(klog.FromContext(ctx),
		typed.Core().V1().ServiceAccounts(), typed.Core().V1().Namespaces(), client,
		serviceaccount.DefaultServiceAccountsControllerOptions())
	if err != nil {
		return fmt.Errorf("failed to create the service account controller: %w", err)
	}
	aggregation := clusterroleaggregation.NewClusterRoleAggregation(typed.Rbac().V1().ClusterRoles(), client.RbacV1())

	typed.Start(ctx.Done())
	meta.Start(ctx.Done())
	close(started)

	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	run(func() { gc.Run(ctx, gcWorkers, gcSyncPeriod) })
	run(func() { gc.Sync(ctx, discoveryClient, gcSyncPeriod) })
	run(func() { ns.Run(ctx, namespaceWorker) })
	run(func() { sa.Run(ctx, 1) })
	run(func() { aggregation.Run(ctx, 1) })
	<-ctx.Done()
	typed.Shutdown()
	meta.Shutdown()
	wg.Wait()
	return nil
}
