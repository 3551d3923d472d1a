// Command mesetactl is the command-line client of a Meseta cluster: kubectl's
// commands, with Meseta's defaults and Meseta's node and task commands.
package main

import (
	"os"

	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	mesetacli "meseta.dev/meseta/pkg/cli"
)

func main() {
	if err := mesetacli.NewCommand(os.Args[1:]).Execute(); err != nil {
		// Print the error as kubectl does: a clear message and exit code 1.
		cmdutil.CheckErr(err)
	}
}
