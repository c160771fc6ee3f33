// Command fogbank runs the Fogbank server and its admin commands.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "fogbank:", err)
		os.Exit(1)
	}
}
