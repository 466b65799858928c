package main

import "fmt"

// count writes n with the noun in the singular or plural: "1 chunk", "3 chunks".
func count[N int | int64 | uint64](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
