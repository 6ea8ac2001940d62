// Command standin is a small ARM executable the mkdeb tests package where
// the firmware's content does not matter (it builds in a second).
package main

import "fmt"

func main() { fmt.Println("wartel-kiosk stand-in") }
