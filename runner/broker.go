package runner

import (
	"context"
	"io"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/broker"
)

// brokerAPI is what a runner needs of the broker, in the broker's own
// terms: *broker.Broker in service, a fake in the unit tests of the
// runner's decisions (a broker that is down, a record that moved on).
type brokerAPI interface {
	Config() broker.Config

	// The job store.
	GetJob(ctx context.Context, id string) (*conveyor.Job, uint64, error)
	GetJobRecord(ctx context.Context, id string) ([]byte, uint64, error)
	CreateJob(ctx context.Context, j *conveyor.Job) (broker.Stored, error)
	UpdateJob(ctx context.Context, id string, j *conveyor.Job, rev uint64, change func(*conveyor.Job) error) (*conveyor.Job, uint64, error)

	// The queues, calls and cancels.
	Enqueue(ctx context.Context, s broker.Stored) error
	EnqueueJob(ctx context.Context, j *conveyor.Job, rev uint64) error
	OpenQueue(ctx context.Context, algorithm string, p conveyor.Priority) error
	Puller(algorithm string, p conveyor.Priority) *broker.Puller
	RoutedPuller(ctx context.Context, algorithm string, p conveyor.Priority, r conveyor.Requirements) (*broker.Puller, error)
	RoutedQueues(ctx context.Context, algorithm string) ([]broker.RoutedQueue, error)
	Doorbell(algorithm string, routed bool, ring func(conveyor.Priority, conveyor.Requirements)) ([]broker.Subscription, error)
	ServeCalls(algorithm string, serve func(*broker.CallRequest), closed func()) (broker.Subscription, error)
	Cancels(fn func(jobID string)) (broker.Subscription, error)

	// The registry.
	RegisterAlgorithm(ctx context.Context, a conveyor.Algorithm, runner string) error
	PutRunner(ctx context.Context, r conveyor.RunnerInfo) error
	DeleteRunner(ctx context.Context, id string) error

	// Logs.
	AppendLog(jobID string, n uint64, line conveyor.LogLine) (broker.LogWrite, error)
	ReadLogs(ctx context.Context, jobID string) ([]conveyor.LogLine, error)
	ReadLogState(ctx context.Context, jobID string) (broker.LogState, error)
	TrimLogs(ctx context.Context, jobID string, keep uint64) error

	// Files: inputs and artifacts.
	StatFile(ctx context.Context, id string) (broker.FileInfo, error)
	ReadFile(ctx context.Context, id string, offset int64) (io.ReadCloser, error)
	KeepFile(ctx context.Context, fi broker.FileInfo, until time.Time) error
	StoreFile(ctx context.Context, r io.Reader, opt broker.PutFile) (broker.FileInfo, error)
	DeleteFile(ctx context.Context, id string) error
}

var _ brokerAPI = (*broker.Broker)(nil)
