// Command twobackends creates the default backend twice (for TestSlowBuildWarning).
package main

import (
	"fmt"
	"os"

	"qnlab/pkg/backend"
)

func main() {
	for range 2 {
		if _, err := backend.New(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
