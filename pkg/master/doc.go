// Package master runs a Meseta master: embedded etcd (or an external etcd), the
// Kubernetes-compatible API server with Meseta's CRDs, the upstream controllers
// that make the API behave (garbage collection, namespaces, service accounts), and
// the leader-elected controller manager that hosts Meseta's own controllers.
//
// Startup follows Options -> Complete -> Validate -> Config -> Run:
//
//	o := master.NewOptions()
//	o.AddFlags(fs)
//	c, err := o.Complete()
//	if err := c.Validate(); err != nil { ... }
//	cfg, err := c.Config()
//	m, err := master.Start(ctx, cfg)   // returns once the API is ready
//	<-m.Done()                         // after ctx is cancelled
//
// Start runs these steps in order:
//  1. create the data dir, certificates and keys (first start only);
//  2. start embedded etcd and wait until it serves;
//  3. start the API server and wait until /readyz answers;
//  4. install Meseta's CRDs and wait until they are established;
//  5. create the meseta-system namespace and the kubeconfigs;
//  6. start the controller manager (leader election on a Lease).
//
// Shutdown runs them backwards: the manager releases its Lease, the API server
// drains, and etcd stops last.
package master
