package runtime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// monitorArgv0 is the argv[0] under which this package's binary, re-executed, runs
// as the monitor (see doc.go).
const monitorArgv0 = "meseta-runtime-monitor"

// Files of the state directory.
const (
	monitorSocket  = "monitor.sock"
	monitorLock    = "monitor.lock"
	monitorLogFile = "monitor.log"
	runcStateDir   = "runc"
	containersDir  = "containers"
	metaFile       = "meta.json"
	exitFile       = "exit.json"
	pidFile        = "init.pid"
	runcLogFile    = "runc.log"
)

// Monitor operations.
const (
	opSession = "session" // held open while a driver lives
	opRun     = "run"     // run a container and watch its init process
)

// request is one line a driver sends to the monitor.
type request struct {
	Op string `json:"op"`
	// For opRun:
	ID           string   `json:"id,omitempty"`
	Argv         []string `json:"argv,omitempty"`
	Stdout       string   `json:"stdout,omitempty"`
	Stderr       string   `json:"stderr,omitempty"`
	PidFile      string   `json:"pidFile,omitempty"`
	ExitFile     string   `json:"exitFile,omitempty"`
	LogFile      string   `json:"logFile,omitempty"`
	MemoryCgroup string   `json:"memoryCgroup,omitempty"`
}

// response is the monitor's answer to opRun.
type response struct {
	Pid          int    `json:"pid,omitempty"`
	StartTime    uint64 `json:"startTime,omitempty"`
	MemoryCgroup string `json:"memoryCgroup,omitempty"`
	Error        string `json:"error,omitempty"`
}

// meta is what the driver records of a container it ran, in
// containers/<id>/meta.json.
type meta struct {
	ID           string    `json:"id"`
	Bundle       string    `json:"bundle"`
	Pid          int       `json:"pid"`
	StartTime    uint64    `json:"startTime"`
	MemoryCgroup string    `json:"memoryCgroup,omitempty"`
	Created      time.Time `json:"created"`
}

// writeJSONFile writes v to path atomically and durably: a temporary file,
// fsynced, renamed over path, and the directory fsynced.
func writeJSONFile(path string, v any) error {
	return writeJSON(path, v, true)
}

// writeJSON writes v to path atomically (temporary file and rename), and durably
// when sync is set.
func writeJSON(path string, v any, sync bool) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if !sync {
		return nil
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func readJSONFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
