// Package hostresources describes what a machine offers to Meseta: it parses the
// agent's --resources and --attributes flags, detects the resources of the host
// when they are not given, and computes what tasks may use (allocatable) by taking
// a reserve for the system off the capacity.
//
// Resources are written as semicolon-separated name:value items, in either of two
// forms that may be mixed:
//
//	cpus:2;mem:4096;disk:10000;ports:[31000-32000,33000-33010]   Mesos: mem and disk in MB
//	cpus:500m;mem:4Gi;disk:100G;gpus:1                          Kubernetes quantities
//
// A plain number for mem or disk is a number of megabytes (MiB, as in Mesos); any
// value with a unit suffix or an exponent is a Kubernetes quantity of bytes. cpus
// are rounded up to millicores, mem and disk up to whole bytes. Attributes are
// written the same way, "rack:r1;zone:a", with label-like keys and values.
//
// The agent computes its node's resources like this:
//
//	given, err := hostresources.ParseResources(flagResources)
//	if err != nil { return err }                    // the error names the bad item
//	detected, err := hostresources.Detector{}.Detect(workDir)
//	if err != nil { return err }
//	capacity := hostresources.Override(detected, given)
//	allocatable := hostresources.Subtract(capacity, hostresources.DefaultReserve(capacity))
//
// Every function returns new values and never changes its arguments.
package hostresources
