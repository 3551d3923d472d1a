package tasks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
)

// Annotations the agent stores in a container's OCI spec, so that an agent that
// restarts knows which task each container runs (runtime.State.Annotations).
const (
	AnnotationNamespace       = "meseta.dev/task-namespace"
	AnnotationName            = "meseta.dev/task-name"
	AnnotationUID             = "meseta.dev/task-uid"
	AnnotationNode            = "meseta.dev/node"
	AnnotationResources       = "meseta.dev/resources"
	AnnotationKillGracePeriod = "meseta.dev/kill-grace-period"
)

// DefaultKillGracePeriod is the time between SIGTERM and SIGKILL of a task
// that sets no killGracePeriod, as in Mesos.
const DefaultKillGracePeriod = 3 * time.Second

// Files and directories of a task's directory, TasksDir/<container ID>.
const (
	// SandboxDirName is the sandbox, mounted at /mnt/sandbox in the container; it
	// holds the stdout and stderr files.
	SandboxDirName = "sandbox"
	// BundleDirName is the OCI bundle (config.json).
	BundleDirName = "bundle"
	// IdentityFileName records which task the directory belongs to.
	IdentityFileName = "task.json"
	// StdoutFileName and StderrFileName are the task's output in its sandbox.
	StdoutFileName = "stdout"
	StderrFileName = "stderr"
)

// ContainerID returns the ID of a task's container: its namespace and name
// (cut to fit), and its UID, so that a task re-created under the same name gets
// a new container and cgroup.
func ContainerID(namespace, name string, uid types.UID) string {
	prefix := namespace + "_" + name
	if len(prefix) > 80 {
		prefix = prefix[:80]
	}
	return prefix + "_" + string(uid)
}

// Identity is what a task's directory records of its task, so that garbage
// collection and recovery know it without the container.
type Identity struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	UID       types.UID `json:"uid"`
	// Image is the task's container.image.
	Image string `json:"image,omitempty"`
}

// Key returns the task's namespace and name.
func (i Identity) Key() types.NamespacedName {
	return types.NamespacedName{Namespace: i.Namespace, Name: i.Name}
}

func identityOf(t *v1alpha1.Task) Identity {
	return Identity{Namespace: t.Namespace, Name: t.Name, UID: t.UID, Image: t.Spec.Container.Image}
}

func writeIdentity(dir string, id Identity) error {
	data, err := json.Marshal(id)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, IdentityFileName+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, IdentityFileName))
}

// ReadIdentity reads the identity of a task directory.
func ReadIdentity(dir string) (Identity, error) {
	var id Identity
	data, err := os.ReadFile(filepath.Join(dir, IdentityFileName))
	if err != nil {
		return id, err
	}
	if err := json.Unmarshal(data, &id); err != nil {
		return id, fmt.Errorf("bad task identity in %s: %w", dir, err)
	}
	return id, nil
}

// containerAnnotations are the annotations of a task's container.
func containerAnnotations(t *v1alpha1.Task, node string, want resources.Vector) map[string]string {
	return map[string]string{
		AnnotationNamespace:       t.Namespace,
		AnnotationName:            t.Name,
		AnnotationUID:             string(t.UID),
		AnnotationNode:            node,
		AnnotationResources:       want.Spec(),
		AnnotationKillGracePeriod: killGracePeriod(t).String(),
	}
}

// killGracePeriod is the task's kill grace period, DefaultKillGracePeriod when
// unset.
func killGracePeriod(t *v1alpha1.Task) time.Duration {
	if t.Spec.KillGracePeriod != nil && t.Spec.KillGracePeriod.Duration >= 0 {
		return t.Spec.KillGracePeriod.Duration
	}
	return DefaultKillGracePeriod
}

// hostname is a task container's host name: the task's name, cut to a DNS label.
func hostname(name string) string {
	h := strings.Trim(strings.ReplaceAll(name, ".", "-"), "-")
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-")
	}
	if h == "" {
		return "task"
	}
	return h
}
