package gokind

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/runner"
	"github.com/conveyor-run/conveyor/runner/runnertest"
)

type failInput struct {
	Message string `json:"message"`
}

type okOutput struct {
	OK bool `json:"ok"`
}

// registerConformance registers the conformance behaviours as Go algorithms
// named conformance_<behaviour>.
var registerConformance = sync.OnceFunc(func() {
	Register("conformance_echo", func(_ context.Context, in map[string]any) (map[string]any, error) { return in, nil })
	Register("conformance_fail", func(_ context.Context, in failInput) (okOutput, error) {
		return okOutput{}, errors.New(in.Message)
	})
	Register("conformance_fail_permanently", func(_ context.Context, in failInput) (okOutput, error) {
		return okOutput{}, conveyor.Permanent(errors.New(in.Message))
	})
	Register("conformance_report", func(ctx context.Context, _ struct{}) (okOutput, error) {
		conveyor.SetProgress(ctx, 50, "half")
		conveyor.Logf(ctx, "hello from the job")
		return okOutput{OK: true}, nil
	})
	Register("conformance_block", func(ctx context.Context, _ struct{}) (okOutput, error) {
		conveyor.SetProgress(ctx, 1, "blocking")
		<-ctx.Done()
		return okOutput{}, ctx.Err()
	})
})

func TestConformance(t *testing.T) {
	registerConformance()
	runnertest.Run(t, func(t *testing.T, b runnertest.Behaviour) runner.Handler {
		served, err := Kind{}.Provision(context.Background(), config.Algorithm{Name: "conformance_" + string(b), Kind: "go"})
		if err != nil {
			t.Fatal(err)
		}
		return served[0].Handler
	})
}
