package runtime

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"meseta.dev/meseta/pkg/image"
)

// BenchmarkCreateToRunning measures, in the same run, how long a container takes
// from nothing to running:
//
//   - raw: "runc run -d" executed directly, the physical limit;
//   - driver: OCI.Run on a ready bundle (monitor round trip + runc run -d);
//   - launch: what the agent does per task: overlay mount of the cached image,
//     BuildSpec, WriteBundle and OCI.Run.
//
// Each reports p50 and p99 in milliseconds; a table is printed at the end. Cleanup
// (kill, wait, delete, unmount) is not timed.
func BenchmarkCreateToRunning(b *testing.B) {
	h := newHarness(b)
	base := h.prepare(b, busybox, func(c *Config) { c.Args = []string{"sleep", "3600"} })
	results := map[string][]time.Duration{}
	order := []string{"raw runc run -d", "driver Run", "launch (mount+spec+Run)"}

	b.Run("raw", func(b *testing.B) {
		results[order[0]] = benchLoop(b, func(i int) (time.Duration, func()) {
			id, bundle := benchBundle(b, base, i, "raw")
			state := filepath.Join(h.rt.opts.Root, "raw")
			out := filepath.Join(b.TempDir(), "out")
			f, _ := os.Create(out)
			cmd := exec.Command(runcPath(b), "--root", state, "run", "-d", "--pid-file", filepath.Join(b.TempDir(), "pid"), "--bundle", bundle, id)
			cmd.Stdout, cmd.Stderr = f, f
			start := time.Now()
			err := cmd.Run()
			d := time.Since(start)
			f.Close()
			if err != nil {
				data, _ := os.ReadFile(out)
				b.Fatalf("runc run -d: %v: %s", err, data)
			}
			return d, func() { _ = exec.Command(runcPath(b), "--root", state, "delete", "-f", id).Run() }
		})
	})
	b.Run("driver", func(b *testing.B) {
		results[order[1]] = benchLoop(b, func(i int) (time.Duration, func()) {
			id, bundle := benchBundle(b, base, i, "drv")
			opts := RunOptions{Bundle: bundle, Stdout: filepath.Join(base.sandbox, "stdout"), Stderr: filepath.Join(base.sandbox, "stderr")}
			start := time.Now()
			if _, err := h.rt.Run(context.Background(), id, opts); err != nil {
				b.Fatal(err)
			}
			d := time.Since(start)
			return d, func() { stopAndDelete(b, h.rt, id) }
		})
	})
	b.Run("launch", func(b *testing.B) {
		results[order[2]] = benchLoop(b, func(i int) (time.Duration, func()) {
			id := uniqueID(fmt.Sprintf("bench-launch-%d", i))
			dir := filepath.Join(b.TempDir(), id)
			sandbox := filepath.Join(dir, "sandbox")
			start := time.Now()
			if err := os.MkdirAll(sandbox, 0o755); err != nil {
				b.Fatal(err)
			}
			rootfs, err := testStore.Mount(busybox, dir, image.MountOptions{Mountpoints: []string{SandboxPath}})
			if err != nil {
				b.Fatal(err)
			}
			spec, err := BuildSpec(Config{ID: id, Rootfs: rootfs.Path, SandboxDir: sandbox, Args: []string{"sleep", "3600"}, Env: busybox.Config.Env,
				Limits: Limits{MilliCPUs: 100, MemoryBytes: 32 << 20}})
			if err == nil {
				err = WriteBundle(filepath.Join(dir, "bundle"), spec)
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := h.rt.Run(context.Background(), id, RunOptions{Bundle: filepath.Join(dir, "bundle"),
				Stdout: filepath.Join(sandbox, "stdout"), Stderr: filepath.Join(sandbox, "stderr")}); err != nil {
				b.Fatal(err)
			}
			d := time.Since(start)
			return d, func() { stopAndDelete(b, h.rt, id); _ = testStore.Unmount(dir) }
		})
	})

	b.Run("throughput", func(b *testing.B) {
		// Launches through the driver, 4 at a time, b.N per round: tasks per second.
		const parallel = 4
		var ds []time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			ids, bundles := make([]string, parallel), make([]string, parallel)
			for j := range parallel {
				ids[j], bundles[j] = benchBundle(b, base, i*parallel+j, "par")
			}
			b.StartTimer()
			start := time.Now()
			errs := make(chan error, parallel)
			for j := range parallel {
				go func() {
					_, err := h.rt.Run(context.Background(), ids[j], RunOptions{Bundle: bundles[j]})
					errs <- err
				}()
			}
			for range parallel {
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			}
			ds = append(ds, time.Since(start)/parallel)
			b.StopTimer()
			for _, id := range ids {
				stopAndDelete(b, h.rt, id)
			}
		}
		results["driver Run, 4 at a time"] = ds
	})
	order = append(order, "driver Run, 4 at a time")

	fmt.Printf("\ncreate-to-running, sequential, %s\n%-26s %8s %8s %8s %10s\n", runcPath(b), "path", "n", "p50 ms", "p99 ms", "per sec")
	for _, name := range order {
		ds := results[name]
		if len(ds) == 0 {
			continue
		}
		p50, p99 := percentile(ds, 50), percentile(ds, 99)
		if name == "driver Run, 4 at a time" {
			fmt.Printf("%-26s %8d %8s %8s %10.1f\n", name, len(ds)*4, "-", "-", float64(len(ds))/sum(ds).Seconds())
			continue
		}
		fmt.Printf("%-26s %8d %8.1f %8.1f %10.1f\n", name, len(ds), ms(p50), ms(p99), float64(len(ds))/sum(ds).Seconds())
	}
	if raw, drv := results[order[0]], results[order[1]]; len(raw) > 0 && len(drv) > 0 {
		fmt.Printf("driver overhead over raw runc at p50: %.1f ms\n", ms(percentile(drv, 50)-percentile(raw, 50)))
	}
}

// benchLoop runs op b.N times, timing only what op reports, and returns the
// durations of the last round.
func benchLoop(b *testing.B, op func(i int) (time.Duration, func())) []time.Duration {
	var ds []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		d, cleanup := op(i)
		ds = append(ds, d)
		cleanup()
	}
	var total time.Duration
	for _, d := range ds {
		total += d
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(ms(percentile(ds, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(ds, 99)), "p99-ms")
	return ds
}

// benchBundle writes a bundle for a new container on base's root file system.
func benchBundle(b *testing.B, base *task, i int, kind string) (string, string) {
	id := uniqueID(fmt.Sprintf("bench-%s-%d", kind, i))
	cfg := base.cfg
	cfg.ID = id
	spec, err := BuildSpec(cfg)
	if err != nil {
		b.Fatal(err)
	}
	bundle := filepath.Join(b.TempDir(), "bundle")
	if err := WriteBundle(bundle, spec); err != nil {
		b.Fatal(err)
	}
	return id, bundle
}

func stopAndDelete(b *testing.B, rt *OCI, id string) {
	if _, err := rt.Stop(context.Background(), id, 0); err != nil {
		b.Fatal(err)
	}
	if err := rt.Delete(context.Background(), id); err != nil {
		b.Fatal(err)
	}
}

func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, (len(s)*p)/100)]
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
