// Package gokind is the go runner kind: algorithms written as plain Go
// functions with typed input and output, run inside the runner's process.
//
// An algorithm is a function from a context and an input struct to an
// output and an error. Registering it is one line, at startup:
//
//	type Input struct {
//		N int64 `json:"n" jsonschema:"minimum=0,description=the number to test"`
//	}
//
//	type Output struct {
//		N     int64 `json:"n"`
//		Prime bool  `json:"prime"`
//	}
//
//	func IsPrime(ctx context.Context, in Input) (Output, error) { … }
//
//	gokind.Register("is_prime", IsPrime, gokind.Describe("Tells whether n is prime."))
//
// A config entry of kind go then serves it — `{name: is_prime, kind: go}`,
// or `{kind: go}` for every registered Go algorithm — and importing this
// package registers the kind with the runner.
//
// # Schemas
//
// The input schema the gateway validates against is derived from the input
// type by github.com/invopop/jsonschema, fully inline (no $ref) unless the
// type contains itself:
//
//   - property names follow the `json` tags; fields tagged `json:"-"` and
//     unexported fields are left out;
//   - a field is required unless its json tag says omitempty or omitzero;
//   - `jsonschema` tags add keywords: minimum, maximum, exclusiveMinimum,
//     multipleOf, minLength, maxLength, pattern, format, enum, default,
//     example, title, description, and `required` to require an omitempty
//     field; unsigned integers get a minimum of 0;
//   - properties not in the struct are rejected (additionalProperties:
//     false), so a misspelt optional field is a 400, not a silent default;
//   - a type may describe itself with a JSONSchema() *jsonschema.Schema
//     method, or adjust the derived schema with JSONSchemaExtend.
//
// The output schema is derived from the output type the same way, for the
// registry and the API docs.
//
// # Running
//
// Each job calls the function once per attempt, concurrently with other
// jobs of the algorithm up to the entry's workers.max. The context it gets
// is canceled when the job is canceled, its attempt times out or the runner
// shuts down; a long computation must watch ctx.Done() or ctx.Err() and
// return promptly. Through the same context the function reports progress
// and logs:
//
//	conveyor.SetProgress(ctx, 40, "sieving")
//	conveyor.Logf(ctx, "tested %d divisors", k)
//
// Returning an error fails the attempt and, while attempts remain, the job
// is retried; conveyor.Permanent(err) fails it at once. A panic fails the
// attempt as crashed, with the algorithm's stack frames in the error's detail.
package gokind
