package imagetest

import (
	"archive/tar"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// HostBusybox is where hack/install-deps.sh puts a static busybox.
const HostBusybox = "/bin/busybox"

// BusyboxApplets are the commands the busybox image links to /bin/busybox.
var BusyboxApplets = []string{
	"sh", "ash", "echo", "sleep", "cat", "true", "false", "httpd", "tail", "head",
	"env", "id", "ls", "wget", "nc", "ps", "kill", "mkdir", "rm", "touch", "test",
	"[", "grep", "hostname", "mount", "cut", "sed", "awk", "date", "dd", "stat",
	"readlink", "wc", "whoami", "uname", "printf", "seq", "yes", "cp", "mv", "ln",
	"chmod", "chown", "find", "xargs", "sort", "uniq", "tr", "pwd", "basename",
	"dirname", "df", "du", "free", "top", "vi", "ping", "nslookup", "timeout",
}

// BusyboxPath is the PATH of the busybox image.
const BusyboxPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// BusyboxImage builds a one-layer image of a static busybox binary (read from
// busybox, which must be statically linked) with its applets as symlinks in /bin,
// /etc/passwd and /etc/group with root and nobody, /tmp and /root.
func BusyboxImage(busybox string) (v1.Image, error) {
	if err := checkStatic(busybox); err != nil {
		return nil, err
	}
	body, err := os.ReadFile(busybox)
	if err != nil {
		return nil, fmt.Errorf("failed to read busybox: %w", err)
	}
	entries := []Entry{
		{Name: "bin/"}, {Name: "etc/"}, {Name: "root/", Mode: 0o700}, {Name: "tmp/", Mode: 0o1777},
		{Name: "usr/"}, {Name: "usr/bin/"}, {Name: "var/"}, {Name: "home/"},
		{Name: "bin/busybox", Mode: 0o755, Body: string(body)},
		{Name: "etc/passwd", Body: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
		{Name: "etc/group", Body: "root:x:0:\nnobody:x:65534:\n"},
	}
	for _, applet := range BusyboxApplets {
		entries = append(entries, Entry{Name: "bin/" + applet, Type: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
	}
	layer, err := Layer(entries...)
	if err != nil {
		return nil, err
	}
	return Image(v1.Config{Cmd: []string{"sh"}, Env: []string{BusyboxPath}}, layer)
}

// WriteBusyboxLayout writes the busybox image as an OCI layout to out/busybox and
// returns that path.
func WriteBusyboxLayout(out, busybox string) (string, error) {
	img, err := BusyboxImage(busybox)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(out, "busybox")
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	return WriteLayout(dir, img)
}

// checkStatic fails unless path is a statically linked ELF executable, which is
// what runs in an image without a C library.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not a static busybox (run hack/install-deps.sh): %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New(path + " is dynamically linked; a static busybox is needed (run hack/install-deps.sh)")
		}
	}
	return nil
}
