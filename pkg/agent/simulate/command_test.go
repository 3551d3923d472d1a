package simulate

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestParseCommand(t *testing.T) {
	forever := Outcome{Forever: true}
	tests := []struct {
		name string
		argv []string
		want Outcome
	}{
		{name: "no command runs the image's entrypoint forever", argv: nil, want: forever},
		{name: "sleep seconds", argv: []string{"sleep", "5"}, want: Outcome{Runs: 5 * time.Second}},
		{name: "sleep by path with a fraction", argv: []string{"/bin/sleep", "0.5"}, want: Outcome{Runs: 500 * time.Millisecond}},
		{name: "sleep with suffixes adds up", argv: []string{"sleep", "1m", "2s"}, want: Outcome{Runs: 62 * time.Second}},
		{name: "sleep infinity", argv: []string{"sleep", "infinity"}, want: forever},
		{name: "sleep with a bad argument fails", argv: []string{"sleep", "soon"}, want: Outcome{ExitCode: 1}},
		{name: "true", argv: []string{"true"}, want: Outcome{}},
		{name: "false", argv: []string{"false"}, want: Outcome{ExitCode: 1}},
		{name: "a server runs forever", argv: []string{"httpd", "-f", "-p", "8080"}, want: forever},
		{name: "exec sleep", argv: []string{"exec", "sleep", "3"}, want: Outcome{Runs: 3 * time.Second}},
		{name: "sh -c exit", argv: []string{"sh", "-c", "exit 3"}, want: Outcome{ExitCode: 3}},
		{name: "sh -c exit with a bad code", argv: []string{"sh", "-c", "exit x"}, want: Outcome{ExitCode: 2}},
		{name: "sh -c exit wraps at 256", argv: []string{"sh", "-c", "exit 257"}, want: Outcome{ExitCode: 1}},
		{name: "script: echo then sleep", argv: []string{"sh", "-c", "echo hello; sleep 30"}, want: Outcome{Runs: 30 * time.Second}},
		{name: "script: sleeps add up, newline separated", argv: []string{"/bin/sh", "-c", "sleep 1\nsleep 2"}, want: Outcome{Runs: 3 * time.Second}},
		{name: "script: last status counts", argv: []string{"bash", "-c", "true; false"}, want: Outcome{ExitCode: 1}},
		{name: "script: exit stops it", argv: []string{"sh", "-c", "sleep 1; exit 4; sleep 100"}, want: Outcome{Runs: time.Second, ExitCode: 4}},
		{name: "script: && skips after a failure", argv: []string{"sh", "-c", "false && sleep 10"}, want: Outcome{ExitCode: 1}},
		{name: "script: || runs after a failure", argv: []string{"sh", "-c", "false || sleep 2"}, want: Outcome{Runs: 2 * time.Second}},
		{name: "script: || skips after a success", argv: []string{"sh", "-c", "true || exit 9"}, want: Outcome{}},
		{name: "script: background takes no time", argv: []string{"sh", "-c", "sleep 100 & exit 0"}, want: Outcome{}},
		{name: "script: quoted separators are words", argv: []string{"sh", "-c", `echo "a; exit 5" 'b && false'; sleep 1`}, want: Outcome{Runs: time.Second}},
		{name: "script: comment", argv: []string{"sh", "-c", "sleep 1 # exit 3\nexit 0"}, want: Outcome{Runs: time.Second}},
		{name: "script: pipeline status is its last command's", argv: []string{"sh", "-c", "echo x | false"}, want: Outcome{ExitCode: 1}},
		{name: "script with a server runs forever", argv: []string{"sh", "-c", "echo start; nginx -g 'daemon off;'"}, want: forever},
		{name: "empty script", argv: []string{"sh", "-c", ""}, want: Outcome{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(ParseCommand(tt.argv)).To(Equal(tt.want))
		})
	}
}

func TestNodeNames(t *testing.T) {
	g := NewWithT(t)
	g.Expect(NodeNames("sim", 3)).To(Equal([]string{"sim-00000", "sim-00001", "sim-00002"}))
	g.Expect(NodeNames("n", 200000)[199999]).To(Equal("n-199999"))
}
