package conveyor

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ArtifactKey is the key of an artifact reference in a job's output:
// {"$artifact": "<name>"} stands for the artifact of that name the attempt
// wrote. Once the attempt succeeds the runner replaces it with a file
// reference to the stored artifact ({"$file": id, "name": …}), which is
// how the next stage of a pipeline gets the artifact as a local file.
const ArtifactKey = "$artifact"

// MaxArtifactName bounds the length of an artifact's name, in bytes.
const MaxArtifactName = 200

// Artifact is a file a job wrote, kept in the object store with the job:
// an exec job's file in $CONVEYOR_OUTPUT_DIR, a Python handler's
// job.artifact(name) or returned bytes or conveyor.File, a Go handler's
// CreateArtifact. Only the artifacts of the attempt that succeeded are
// kept; they are removed with their job.
type Artifact struct {
	// Name is the file's name, unique within the job (see
	// ValidArtifactName).
	Name string `json:"name"`
	// File is the id of the stored file: GET /v1/files/{id} reads it too,
	// and {"$file": id} references it in another job's input.
	File        string `json:"file"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	ContentType string `json:"content_type"`
}

// ValidArtifactName returns an EINVALID error saying what is wrong with
// name as the name of an artifact: it is a file name, not a path — not
// empty, at most MaxArtifactName bytes of UTF-8, without "/", "\" or "..",
// without control characters — or nil when it is fine.
func ValidArtifactName(name string) error {
	bad := func(why string) error {
		return Errorf(EINVALID, "artifact name %q: %s", name, why)
	}
	switch {
	case name == "":
		return Errorf(EINVALID, "an artifact needs a name")
	case len(name) > MaxArtifactName:
		return bad("longer than " + strconv.Itoa(MaxArtifactName) + " bytes")
	case !utf8.ValidString(name):
		return bad("not UTF-8")
	case strings.ContainsAny(name, `/\`):
		return bad("a name, not a path: no / or \\")
	case name == "." || strings.Contains(name, ".."):
		return bad(`"." and ".." are not names`)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return bad("no control characters")
		}
	}
	return nil
}

type artifactDirKey struct{}

// WithArtifactDir returns a context whose CreateArtifact writes the
// artifacts into the directory dir returns ("": none), called at the
// first CreateArtifact. The runner of a go algorithm gives each attempt
// one; there is no need to call it but in tests.
func WithArtifactDir(ctx context.Context, dir func() (string, error)) context.Context {
	return context.WithValue(ctx, artifactDirKey{}, dir)
}

// CreateArtifact creates the artifact name of the job whose context ctx
// is and returns it to be written; close it when done. Once the attempt
// succeeds the runner stores it in the object store (streamed, whatever
// its size), the job lists it in its artifacts, and GET
// /v1/jobs/{id}/artifacts/{name} reads it; should the attempt fail, it is
// dropped. Creating a name again starts the artifact over. To pass it to
// the next stage of a pipeline, put conveyor.ArtifactRef(name) in the
// output.
//
// It returns an EINVALID error for a bad name (see ValidArtifactName), an
// EUNAVAILABLE one outside a job (no artifact directory in ctx), and the
// file system's errors.
func CreateArtifact(ctx context.Context, name string) (io.WriteCloser, error) {
	if err := ValidArtifactName(name); err != nil {
		return nil, err
	}
	mkdir, _ := ctx.Value(artifactDirKey{}).(func() (string, error))
	if mkdir == nil {
		return nil, Errorf(EUNAVAILABLE, "no artifact can be created here: the context is not a job attempt's")
	}
	dir, err := mkdir()
	if err != nil {
		return nil, &Error{Code: EUNAVAILABLE, Message: "no artifact can be created: " + err.Error(), Err: err}
	}
	if dir == "" {
		return nil, Errorf(EUNAVAILABLE, "no artifact can be created here: the context is not a job attempt's")
	}
	return os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
}

// ArtifactRef returns the reference {"$artifact": name} to put in an
// output: once the attempt succeeds the runner replaces it with a
// reference to the stored file (see ArtifactKey).
func ArtifactRef(name string) map[string]string {
	return map[string]string{ArtifactKey: name}
}

// ArtifactFile is the file reference that stands for a stored artifact
// in an output: {"$file": id, "name", "size", "sha256", "content_type"}.
func (a Artifact) ArtifactFile() map[string]any {
	return map[string]any{FileKey: a.File, "name": a.Name, "size": a.Size, "sha256": a.SHA256, "content_type": a.ContentType}
}

// ResolveArtifactRefs returns output with each artifact reference
// ({"$artifact": name}) replaced by the file reference of the artifact of
// that name among arts (see Artifact.ArtifactFile). It returns output as
// it is when it holds none, and an EINVALID error naming the first
// reference to an artifact arts does not have, or that is not a name.
func ResolveArtifactRefs(output []byte, arts []Artifact) ([]byte, error) {
	if !bytes.Contains(output, []byte(`"`+ArtifactKey+`"`)) {
		return output, nil
	}
	dec := json.NewDecoder(bytes.NewReader(output))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, Errorf(EINVALID, "malformed output: %v", err)
	}
	var bad error
	v = replaceArtifactRefs(v, func(name any) any {
		s, _ := name.(string)
		for _, a := range arts {
			if a.Name == s {
				return a.ArtifactFile()
			}
		}
		if bad == nil {
			bad = Errorf(EINVALID, "the output references the artifact %v, which the attempt did not write", jsonText(name))
		}
		return nil
	})
	if bad != nil {
		return nil, bad
	}
	return encodeJSON(v)
}

// replaceArtifactRefs replaces, in v, each {"$artifact": name} by what
// with returns for the name.
func replaceArtifactRefs(v any, with func(name any) any) any {
	return replaceKeyed(v, ArtifactKey, "", func(_ string, name any) any { return with(name) })
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// AddArtifacts records the artifacts of a stage's succeeding attempt: an
// artifact of a name the job has already (from an earlier stage) replaces
// it. It returns those replaced, whose files are no longer the job's.
func (j *Job) AddArtifacts(arts []Artifact) (replaced []Artifact) {
	for _, a := range arts {
		i := slices.IndexFunc(j.Artifacts, func(b Artifact) bool { return b.Name == a.Name })
		if i < 0 {
			j.Artifacts = append(j.Artifacts, a)
			continue
		}
		replaced = append(replaced, j.Artifacts[i])
		j.Artifacts[i] = a
	}
	return replaced
}
