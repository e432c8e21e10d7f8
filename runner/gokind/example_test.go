package gokind_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/runner/gokind"
)

// ReverseInput is the input of reverse.
type ReverseInput struct {
	Word  string `json:"word" jsonschema:"minLength=1,description=the word to reverse"`
	Times int    `json:"times,omitempty" jsonschema:"minimum=1,maximum=3"`
}

// ReverseOutput is its output.
type ReverseOutput struct {
	Reversed string `json:"reversed"`
}

// Reverse reverses a word, once or more.
func Reverse(ctx context.Context, in ReverseInput) (ReverseOutput, error) {
	r := []rune(in.Word)
	for i := range max(in.Times, 1) {
		conveyor.SetProgress(ctx, float64(100*i)/float64(max(in.Times, 1)), "reversing")
		slices.Reverse(r)
	}
	return ReverseOutput{Reversed: string(r)}, nil
}

func init() {
	// Typically in main, or in a Register function of the algorithm's package.
	gokind.Register("reverse", Reverse, gokind.Describe("Reverses a word."))
}

func Example() {
	// What a runner does with the config entry {name: reverse, kind: go}:
	served, err := gokind.Kind{}.Provision(context.Background(), config.Algorithm{Name: "reverse", Kind: "go"})
	if err != nil {
		fmt.Println(err)
		return
	}
	alg := served[0].Algorithm
	fmt.Printf("%s (%s): %s\n", alg.Name, alg.Kind, alg.Description)
	var schema bytes.Buffer
	_ = json.Indent(&schema, alg.InputSchema, "", "  ")
	fmt.Println(schema.String())

	// ...and with a job.
	out, err := served[0].Handler.Run(context.Background(), &runner.Task{
		Input: json.RawMessage(`{"word":"conveyor"}`),
	})
	fmt.Println(string(out), err)
	// Output:
	// reverse (go): Reverses a word.
	// {
	//   "$schema": "https://json-schema.org/draft/2020-12/schema",
	//   "properties": {
	//     "word": {
	//       "type": "string",
	//       "minLength": 1,
	//       "description": "the word to reverse"
	//     },
	//     "times": {
	//       "type": "integer",
	//       "maximum": 3,
	//       "minimum": 1
	//     }
	//   },
	//   "additionalProperties": false,
	//   "type": "object",
	//   "required": [
	//     "word"
	//   ]
	// }
	// {"reversed":"royevnoc"} <nil>
}
