// Command meseta runs the parts of a Meseta cluster: the master, the agent, the
// all-in-one development cluster, and prints its version.
package main

import (
	"os"

	"meseta.dev/meseta/cmd/meseta/app"
)

func main() {
	if err := app.NewRootCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
