package app

// The runner kinds this build ships. Adding a kind is one package and one
// line here.
import (
	_ "github.com/conveyor-run/conveyor/runner/execkind"
	_ "github.com/conveyor-run/conveyor/runner/gokind"
	_ "github.com/conveyor-run/conveyor/runner/httpkind"
	_ "github.com/conveyor-run/conveyor/runner/workerkind"
)
