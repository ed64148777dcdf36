// Generates src/modzip/fold-table.ts: run from the repository root with
// `go run scripts/fold-table.go > /tmp/fold.txt` and paste (see fold-table.ts).
// It prints the count and Unicode version, then cp:min pairs for x/mod/zip strToFold.
package main

import (
	"fmt"
	"strings"
	"unicode"
)

func main() {
	var b strings.Builder
	n := 0
	for r := rune(0); r <= unicode.MaxRune; r++ {
		// x/mod/zip's strToFold: follow SimpleFold upwards until it wraps: the orbit's minimum.
		m := r
		for {
			r0 := m
			m = unicode.SimpleFold(r0)
			if m <= r0 {
				break
			}
		}
		if m != r {
			if n > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%x:%x", r, m)
			n++
		}
	}
	fmt.Printf("%d %s\n%s\n", n, unicode.Version, b.String())
}
