// Package version reports the version of the Meseta binaries. The values are set at
// build time with -ldflags (see the Makefile).
package version

import (
	"fmt"
	"runtime"

	kubeversion "k8s.io/component-base/version"
)

var (
	// Version is Meseta's release version, for example 0.1.0.
	Version = "0.0.0-dev"
	// GitCommit is the commit the binary was built from.
	GitCommit = "unknown"
)

// Info describes a Meseta build.
type Info struct {
	// Version is Meseta's release version.
	Version string `json:"version"`
	// GitCommit is the commit the binary was built from.
	GitCommit string `json:"gitCommit"`
	// KubernetesAPI is the Kubernetes API version the master serves.
	KubernetesAPI string `json:"kubernetesAPI"`
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string `json:"goVersion"`
	// Platform is the OS and architecture.
	Platform string `json:"platform"`
}

// Get returns the build information of this binary.
func Get() Info {
	return Info{
		Version:       Version,
		GitCommit:     GitCommit,
		KubernetesAPI: kubeversion.Get().GitVersion,
		GoVersion:     runtime.Version(),
		Platform:      runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// String renders the build information on one line.
func (i Info) String() string {
	return fmt.Sprintf("meseta %s (commit %s, kubernetes API %s, %s, %s)",
		i.Version, i.GitCommit, i.KubernetesAPI, i.GoVersion, i.Platform)
}
