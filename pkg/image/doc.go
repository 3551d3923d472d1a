// Package image turns a task's container.image into a root file system.
//
// A Store resolves the three forms of container.image:
//
//   - "oci:PATH": an OCI image layout directory on the agent, or a tar (optionally
//     gzip-compressed) of one, which is extracted into the store once;
//   - a registry reference, "host:port/name:tag" or "host/name@sha256:...", pulled
//     with go-containerregistry over HTTPS, or plain HTTP for the insecure
//     registries (--insecure-registry); from an index the image for linux and the
//     agent's architecture is taken;
//   - "" (empty): the host's root file system, read-only; Pull returns an Image with
//     HostRoot set and Mount binds "/" recursively read-only.
//
// Every manifest, config and layer is checked against its digest (a layer twice:
// the blob against its digest, the uncompressed tar against its diff ID). Each
// layer is unpacked once per diff ID into layers/sha256/<hex>: under a per-layer
// lock (flock, so concurrent pulls in any goroutine or process unpack it once), into
// a temporary directory that is renamed into place only when complete and verified
// (so a crash never leaves a half layer that looks whole). Layers are stored in
// overlayfs form: an OCI whiteout ".wh.NAME" becomes a 0/0 character device, an
// opaque marker ".wh..wh..opq" the xattr trusted.overlay.opaque=y. Unpacking
// refuses absolute paths, ".." components and any write through a symlink that
// leads outside the layer (all file operations go through os.Root); symlinks
// themselves are kept as they are, since the container resolves them inside its
// own root. Modes (setuid included), ownership, times, xattrs, symlinks, hard
// links and device nodes are preserved.
//
// Mount assembles a task's root file system under the task's directory: an
// overlayfs mount with the layers as lower directories and a per-task upper and
// work directory, or a copy of the layers (whiteouts applied) where overlayfs is
// unavailable. Unmount undoes it. GC removes layers no task uses any more.
//
// Typical use by the agent:
//
//	store, err := image.NewStore(image.Options{Root: workDir + "/images", InsecureRegistries: flags.Insecure})
//	img, err := store.Pull(ctx, task.Spec.Container.Image)
//	rootfs, err := store.Mount(img, containerDir, image.MountOptions{Mountpoints: []string{"/mnt/sandbox"}})
//	args := img.Config.Args(task.Spec.Container.Command, nil)
//	env := img.Config.MergeEnv(taskEnv)
//	...
//	err = store.Unmount(containerDir) // after the container is deleted
package image
