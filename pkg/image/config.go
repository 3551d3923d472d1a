package image

import (
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Config is the part of an image's configuration that decides how its task runs.
type Config struct {
	// Entrypoint is the command that runs, before Cmd.
	Entrypoint []string `json:"entrypoint,omitempty"`
	// Cmd is the default arguments (or the command when Entrypoint is empty).
	Cmd []string `json:"cmd,omitempty"`
	// Env is the default environment, NAME=VALUE.
	Env []string `json:"env,omitempty"`
	// WorkingDir is the default working directory.
	WorkingDir string `json:"workingDir,omitempty"`
	// User is the default user: "uid", "uid:gid", "name" or "name:group".
	User string `json:"user,omitempty"`
}

func configFrom(c v1.Config) Config {
	return Config{
		Entrypoint: slices.Clone(c.Entrypoint), Cmd: slices.Clone(c.Cmd), Env: slices.Clone(c.Env),
		WorkingDir: c.WorkingDir, User: c.User,
	}
}

// Args returns what a task runs, with Kubernetes' rules: command, when given,
// replaces the image's Entrypoint and drops its Cmd; args, when given, replace Cmd.
// The result is empty only when neither the task nor the image names a command.
func (c Config) Args(command, args []string) []string {
	entrypoint, cmd := c.Entrypoint, c.Cmd
	if len(command) > 0 {
		entrypoint, cmd = command, nil
	}
	if len(args) > 0 {
		cmd = args
	}
	return append(slices.Clone(entrypoint), cmd...)
}

// MergeEnv returns the image's environment with the task's variables (NAME=VALUE)
// added; a task variable replaces the image's variable of the same name.
func (c Config) MergeEnv(env []string) []string {
	out := slices.Clone(c.Env)
	for _, kv := range env {
		name := envName(kv)
		i := slices.IndexFunc(out, func(o string) bool { return envName(o) == name })
		if i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

func envName(kv string) string {
	for i := range len(kv) {
		if kv[i] == '=' {
			return kv[:i]
		}
	}
	return kv
}
