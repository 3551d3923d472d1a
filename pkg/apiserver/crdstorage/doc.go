// Package crdstorage tunes how the API server stores and watches Meseta's
// custom resources. TuneWatchCaches wraps the REST options getter of the
// custom resources so that their watch caches give watchers queues as deep as
// those of the built-in resources with an index, and index Tasks by the node
// they are bound to, as the built-in Pods are, so that each agent's watch of
// its node's Tasks is handed only that node's events; it queues every
// watch's events as the cache hands them over, so that a client that reads
// slowly for a moment is not closed (queuedWatches); its Task storage also
// stages a task in the write that binds it (StagedWhenBound), and its Offer
// and Task storage stores them without managedFields unless a server-side
// apply creates them (UntrackedWhenCreated); and its codec decodes each
// object it writes once for the two readers of every write, the write itself
// and the watch cache's watch of etcd (decodedOnce), and gives the watch
// cache objects that share their field names, recurring strings and small
// maps and lists with one another (sharedValues).
// CountNodeIndexedWatches wraps priority and fairness so that it no longer
// charges every Task write for those watches:
//
//	cfg.APIExtensions.ExtraConfig.CRDRESTOptionsGetter =
//		crdstorage.TuneWatchCaches(cfg.APIExtensions.ExtraConfig.CRDRESTOptionsGetter)
//	cfg.ControlPlane.Generic.FlowControl = crdstorage.CountNodeIndexedWatches(cfg.ControlPlane.Generic.FlowControl)
package crdstorage
