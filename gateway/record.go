package gateway

import (
	"context"
	"net/http"

	"github.com/conveyor-run/conveyor"
)

// record is a job as the store holds it: its JSON, passed to clients as it
// is — decoding and encoding it again for every answer cost a tenth of the
// gateway's CPU — and the status read from its first fields.
type record struct {
	data   []byte
	id     string
	status conveyor.Status
	tenant string
}

func newRecord(data []byte) record {
	s, _ := summarize(data)
	return record{data: data, id: s.ID, status: s.Status, tenant: s.Tenant}
}

// read returns the stored record of job id, or ENOTFOUND — also for a job
// of another tenant than the request's.
func (g *Gateway) read(ctx context.Context, id string) (record, error) {
	data, _, err := g.b.GetJobRecord(ctx, id)
	if err != nil {
		return record{}, err
	}
	rec := newRecord(data)
	return rec, visible(ctx, rec)
}

// writeRecord answers with a job record.
func writeRecord(w http.ResponseWriter, status int, rec record) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(rec.data)
	_, _ = w.Write([]byte{'\n'})
}
