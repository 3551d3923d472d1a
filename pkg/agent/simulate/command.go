package simulate

import (
	"path"
	"strconv"
	"strings"
	"time"
)

// Outcome is what a simulated task's command does once started.
type Outcome struct {
	// Forever is true for a command that runs until its task is killed.
	Forever bool
	// Runs is how long the command runs before it exits (when not Forever).
	Runs time.Duration
	// ExitCode is the code it exits with (when not Forever).
	ExitCode int
}

// shells are the programs whose "-c SCRIPT" the simulator reads.
var shells = map[string]bool{"sh": true, "bash": true, "ash": true, "dash": true, "zsh": true}

// ParseCommand returns what a task's container.command would do. It
// understands sleep (seconds, with an optional s, m, h or d suffix, or
// infinity), true, false, ":", exit N, echo and printf, and shell scripts
// (sh -c) made of those joined by ";", "&&", "||" and newlines; a program path
// counts by its base name and a leading exec is skipped. Anything else (no
// command, a server) runs forever.
func ParseCommand(argv []string) Outcome {
	if len(argv) >= 3 && shells[path.Base(argv[0])] && argv[1] == "-c" {
		return runScript(argv[2])
	}
	o, _ := runSimple(argv)
	return o
}

// runSimple returns what one simple command does, and whether it ends the
// script (exit).
func runSimple(words []string) (Outcome, bool) {
	for len(words) > 0 && words[0] == "exec" {
		words = words[1:]
	}
	if len(words) == 0 {
		return Outcome{Forever: true}, false
	}
	args := words[1:]
	switch path.Base(words[0]) {
	case "sleep":
		return sleepOutcome(args), false
	case "true", ":", "echo", "printf", "wait":
		return Outcome{}, false
	case "false":
		return Outcome{ExitCode: 1}, false
	case "exit":
		code := 0
		if len(args) > 0 {
			n, err := strconv.Atoi(args[0])
			if err != nil {
				n = 2 // the shell's "numeric argument required"
			}
			code = n & 0xff
		}
		return Outcome{ExitCode: code}, true
	}
	return Outcome{Forever: true}, false
}

// sleepOutcome is what sleep does with its arguments: the sum of the
// durations, forever for infinity, exit code 1 for a bad one.
func sleepOutcome(args []string) Outcome {
	if len(args) == 0 {
		return Outcome{ExitCode: 1}
	}
	var total time.Duration
	for _, a := range args {
		if a == "infinity" || a == "inf" {
			return Outcome{Forever: true}
		}
		d, ok := parseSleep(a)
		if !ok {
			return Outcome{ExitCode: 1}
		}
		total += d
	}
	return Outcome{Runs: total}
}

// parseSleep parses one argument of sleep: a non-negative number of seconds
// with an optional suffix s, m, h or d.
func parseSleep(a string) (time.Duration, bool) {
	unit := time.Second
	switch {
	case strings.HasSuffix(a, "s"):
		a = strings.TrimSuffix(a, "s")
	case strings.HasSuffix(a, "m"):
		a, unit = strings.TrimSuffix(a, "m"), time.Minute
	case strings.HasSuffix(a, "h"):
		a, unit = strings.TrimSuffix(a, "h"), time.Hour
	case strings.HasSuffix(a, "d"):
		a, unit = strings.TrimSuffix(a, "d"), 24*time.Hour
	}
	f, err := strconv.ParseFloat(a, 64)
	if err != nil || f < 0 {
		return 0, false
	}
	return time.Duration(f * float64(unit)), true
}

// runScript returns what a shell script does: its statements run in order,
// "&&" and "||" skip a statement after a failure or a success, "&" runs one
// in the background (it takes no time), and the script exits with the last
// status or at exit.
func runScript(script string) Outcome {
	var total time.Duration
	status := 0
	for _, st := range splitScript(script) {
		if (st.after == "&&" && status != 0) || (st.after == "||" && status == 0) {
			continue
		}
		o, exits := runSimple(st.pipeline[len(st.pipeline)-1])
		if st.background {
			continue
		}
		if o.Forever {
			return o
		}
		total += o.Runs
		status = o.ExitCode
		if exits {
			break
		}
	}
	return Outcome{Runs: total, ExitCode: status}
}
