// Package layers holds no code: its test lists every package's imports, production and test, and
// fails on an arrow the architecture forbids (DESIGN.md, "Architecture"), with the rule's reason in
// the failure. The rules are the table in layers_test.go; docs/where-things-go.md says where new
// code goes so that it keeps them.
package layers
