// Command roster is Roster's single binary: `roster serve` runs the server,
// every other command is a client of its HTTP API. See the cli package.
package main

import (
	"os"

	"github.com/rosterhq/roster/cli"
	"github.com/rosterhq/roster/server"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Options{
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Getenv:  os.Getenv,
		Serve:   serve,
		Migrate: server.Migrate,
		Backup:  server.Backup,
	}))
}
