// Package imagetest builds OCI images for tests: layers from a list of tar
// entries (so tests can write whiteouts and hostile paths on purpose), OCI image
// layouts on disk, and the busybox image that the runtime and agent tests run.
//
// hack/testimage is the command-line face of this package (`make images`):
//
//	go run ./hack/testimage -out bin/images   # writes bin/images/busybox
//
// A test builds the same image in its own temporary directory:
//
//	layout, err := imagetest.WriteBusyboxLayout(t.TempDir(), imagetest.HostBusybox)
//	img, err := store.Pull(ctx, "oci:"+layout)
package imagetest
