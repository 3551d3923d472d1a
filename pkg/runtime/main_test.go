package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"meseta.dev/meseta/pkg/image"
	"meseta.dev/meseta/pkg/image/imagetest"
)

// Shared by the tests: an image store holding the busybox image.
var (
	testStore *image.Store
	busybox   *image.Image
)

func TestMain(m *testing.M) {
	if os.Getenv(fakeAgentEnv) != "" {
		os.Exit(fakeAgent())
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "meseta-runtime-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	layout, err := imagetest.WriteBusyboxLayout(tmp, imagetest.HostBusybox)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot build the busybox test image:", err)
		return 1
	}
	if testStore, err = image.NewStore(image.Options{Root: filepath.Join(tmp, "store")}); err == nil {
		busybox, err = testStore.Pull(context.Background(), "oci:"+layout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot pull the busybox test image:", err)
		return 1
	}
	return m.Run()
}

// runcPath finds the runc binary the tests use: $MESETA_RUNC, or bin/runc of the
// repository (make bin/runc). A missing runc fails the test.
func runcPath(t testing.TB) string {
	t.Helper()
	p := os.Getenv("MESETA_RUNC")
	if p == "" {
		p, _ = filepath.Abs("../../bin/runc")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("runc not found at %s (run `make bin/runc` or set MESETA_RUNC): %v", p, err)
	}
	return p
}

// harness runs real containers for one test and cleans them up.
type harness struct {
	rt *OCI
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessOf(t, runcPath(t))
}

// newHarnessOf returns a harness whose OCI runtime is the binary runtime.
func newHarnessOf(t testing.TB, runtime string) *harness {
	t.Helper()
	rt, err := New(Options{Root: filepath.Join(t.TempDir(), "state"), Runtime: runtime})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return &harness{rt: rt}
}

// task is a container prepared by the harness.
type task struct {
	id, dir, sandbox, bundle string
	cfg                      Config
}

// uniqueID makes a container ID unique on the host: cgroups are host-wide.
func uniqueID(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, prefix)
	return fmt.Sprintf("%s-%s", prefix[:min(len(prefix), 40)], hex.EncodeToString(b))
}

// prepare mounts a root file system for img and writes a bundle; edit adjusts the
// config. The container is stopped, deleted and unmounted at cleanup.
func (h *harness) prepare(t testing.TB, img *image.Image, edit func(*Config)) *task {
	t.Helper()
	id := uniqueID(t.Name())
	dir := filepath.Join(t.TempDir(), id)
	sandbox := filepath.Join(dir, "sandbox")
	if err := os.MkdirAll(sandbox, 0o755); err != nil {
		t.Fatal(err)
	}
	rootfs, err := testStore.Mount(img, dir, image.MountOptions{Mountpoints: []string{SandboxPath}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = h.rt.Stop(ctx, id, 0)
		_ = h.rt.Delete(ctx, id)
		_ = testStore.Unmount(dir)
	})
	cfg := Config{ID: id, Rootfs: rootfs.Path, RootfsReadOnly: rootfs.ReadOnly, SandboxDir: sandbox,
		Args: img.Config.Args(nil, nil), Env: img.Config.Env}
	if edit != nil {
		edit(&cfg)
	}
	spec, err := BuildSpec(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "bundle")
	if err := WriteBundle(bundle, spec); err != nil {
		t.Fatal(err)
	}
	return &task{id: id, dir: dir, sandbox: sandbox, bundle: bundle, cfg: cfg}
}

// start runs a prepared task.
func (h *harness) start(t testing.TB, tk *task) State {
	t.Helper()
	st, err := h.rt.Run(context.Background(), tk.id, tk.runOptions())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (tk *task) runOptions() RunOptions {
	return RunOptions{Bundle: tk.bundle, Stdout: filepath.Join(tk.sandbox, "stdout"), Stderr: filepath.Join(tk.sandbox, "stderr")}
}

// output reads a file of the task's sandbox.
func (tk *task) output(name string) string {
	data, _ := os.ReadFile(filepath.Join(tk.sandbox, name))
	return string(data)
}

// wait waits for a task's exit, at most a minute.
func (h *harness) wait(t testing.TB, tk *task) ExitStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := h.rt.Wait(ctx, tk.id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func sh(script string) func(*Config) {
	return func(c *Config) { c.Args = []string{"sh", "-c", script} }
}

// fakeAgentEnv makes the test binary act as an agent that runs one container and
// then hangs until it is killed (see TestAgentRestart).
const fakeAgentEnv = "MESETA_RUNTIME_TEST_AGENT"

func fakeAgent() int {
	rt, err := New(Options{Root: os.Getenv("STATE"), Runtime: os.Getenv("RUNC")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	st, err := rt.Run(context.Background(), os.Getenv("ID"), RunOptions{Bundle: os.Getenv("BUNDLE"), Stdout: os.Getenv("STDOUT"), Stderr: os.Getenv("STDERR")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("running %d\n", st.Pid)
	for {
		syscall.Pause() // until SIGKILL
	}
}
