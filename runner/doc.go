// Package runner pulls jobs from the broker and runs them: one bounded pool
// of workers per algorithm, in-progress heartbeats, cancel, timeouts and
// retries with backoff. How an algorithm executes is its kind's business
// (see Kind); the runner owns everything around it.
package runner
