package gateway

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/conveyor-run/conveyor"
)

// handleArtifact is GET (and HEAD) /v1/jobs/{id}/artifacts/{name}: the
// artifact name of job id, streamed from the object store as a file is
// (Range, ETag, conditional requests; see serveFile), as an attachment
// named name. A job of another tenant is a 404, as is a name the job does
// not list or an artifact that expired.
func (g *Gateway) handleArtifact(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, name := r.PathValue("id"), r.PathValue("name")
	rec, err := g.read(ctx, id)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	a, ok := findArtifact(artifactsOf(rec.data), name)
	if !ok {
		g.writeError(w, r, conveyor.Errorf(conveyor.ENOTFOUND, "job %s has no artifact %q", id, name))
		return
	}
	fi, err := g.b.StatFile(ctx, a.File)
	if conveyor.ErrorCode(err) == conveyor.ENOTFOUND {
		err = conveyor.Errorf(conveyor.ENOTFOUND, "the artifact %q of job %s expired", name, id)
	}
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	g.serveFile(w, r, fi, a.Name)
}

// artifactsOf returns the artifacts a job's record lists.
func artifactsOf(data []byte) []conveyor.Artifact {
	var j struct {
		Artifacts []conveyor.Artifact `json:"artifacts"`
	}
	_ = json.Unmarshal(data, &j)
	return j.Artifacts
}

func findArtifact(arts []conveyor.Artifact, name string) (conveyor.Artifact, bool) {
	for _, a := range arts {
		if a.Name == name {
			return a, true
		}
	}
	return conveyor.Artifact{}, false
}

// removeArtifacts removes the files of a deleted job's artifacts. One
// that stays (the broker failed) expires with the retention.
func (g *Gateway) removeArtifacts(ctx context.Context, data []byte) {
	for _, a := range artifactsOf(data) {
		if err := g.b.DeleteFile(ctx, a.File); err != nil && conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
			g.log.Warn("delete job: remove an artifact (it expires with the retention)", "artifact", a.Name, "file", a.File, "err", err)
		}
	}
}
