package conveyor

import "time"

// Callback is a job's completion callback: where the gateway POSTs the
// job once it is final, and how its deliveries went so far. It is set at
// submit (from callback_url) and then changed only by the gateway that
// delivers it; the job's status never depends on it.
type Callback struct {
	URL string `json:"url"`
	// Attempts counts the POSTs made so far.
	Attempts int `json:"attempts,omitempty"`
	// LastStatus is the HTTP status of the last attempt (0: no answer).
	LastStatus int `json:"last_status,omitempty"`
	// LastError says why the last attempt failed, if it did.
	LastError string `json:"last_error,omitempty"`
	// DeliveredAt is when a POST was answered with a 2xx status.
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	// GaveUpAt is when delivery stopped being retried.
	GaveUpAt *time.Time `json:"gave_up_at,omitempty"`
}

// Pending reports whether the callback still has to be delivered.
func (c *Callback) Pending() bool {
	return c != nil && c.DeliveredAt == nil && c.GaveUpAt == nil
}
