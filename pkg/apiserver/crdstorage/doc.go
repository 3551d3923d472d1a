// Package crdstorage tunes how the API server stores and watches Meseta's
// custom resources. DeepWatchQueues wraps the REST options getter of the
// custom resources so that their watch caches give watchers queues as deep as
// those of the built-in resources with an index:
//
//	cfg.APIExtensions.ExtraConfig.CRDRESTOptionsGetter =
//		crdstorage.DeepWatchQueues(cfg.APIExtensions.ExtraConfig.CRDRESTOptionsGetter)
package crdstorage
