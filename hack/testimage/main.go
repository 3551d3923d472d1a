// Command testimage writes the OCI image layouts that Meseta's tests and examples
// run: today OUT/busybox, a static busybox with its applets (sh, echo, sleep, cat,
// true, false, httpd, tail, env, id, ls, wget, nc, ...), built from the host's
// static busybox (hack/install-deps.sh installs it).
//
//	go run ./hack/testimage -out bin/images
//	meseta ... container.image: oci:bin/images/busybox
package main

import (
	"flag"
	"fmt"
	"os"

	"meseta.dev/meseta/pkg/image/imagetest"
)

func main() {
	out := flag.String("out", "bin/images", "directory to write the image layouts to")
	busybox := flag.String("busybox", imagetest.HostBusybox, "static busybox binary to pack")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "testimage:", err)
		os.Exit(1)
	}
	dir, err := imagetest.WriteBusyboxLayout(*out, *busybox)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testimage:", err)
		os.Exit(1)
	}
	fmt.Println("testimage: wrote", dir)
}
