package conveyor

import (
	"strings"
	"testing"
)

func TestValidArtifactName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"model.bin", true},
		{"résumé v2.pdf", true},
		{".hidden", true},
		{"", false},
		{"a/b", false},
		{`a\b`, false},
		{".", false},
		{"..", false},
		{"x..y", false},
		{"tab\there", false},
		{"del\x7f", false},
		{"\xff", false},
		{strings.Repeat("a", MaxArtifactName), true},
		{strings.Repeat("a", MaxArtifactName+1), false},
	} {
		err := ValidArtifactName(c.name)
		if (err == nil) != c.ok {
			t.Errorf("%q: %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && ErrorCode(err) != EINVALID {
			t.Errorf("%q: code %s", c.name, ErrorCode(err))
		}
	}
}

func TestResolveArtifactRefs(t *testing.T) {
	arts := []Artifact{{Name: "m.bin", File: "F1", Size: 3, SHA256: "ab", ContentType: "application/octet-stream"}}
	for _, c := range []struct {
		out, want, err string
	}{
		{`{"n":1}`, `{"n":1}`, ""},
		{`{"model":{"$artifact":"m.bin"},"big":12345678901234567890}`,
			`{"big":12345678901234567890,"model":{"$file":"F1","content_type":"application/octet-stream","name":"m.bin","sha256":"ab","size":3}}`, ""},
		{`[{"$artifact":"m.bin"}]`, `[{"$file":"F1","content_type":"application/octet-stream","name":"m.bin","sha256":"ab","size":3}]`, ""},
		{`{"$artifact":"nope.txt"}`, "", `the artifact "nope.txt"`},
		{`{"$artifact":7}`, "", "the artifact 7"},
	} {
		got, err := ResolveArtifactRefs([]byte(c.out), arts)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || ErrorCode(err) != EINVALID {
				t.Errorf("%s: %v, want an EINVALID error with %q", c.out, err, c.err)
			}
			continue
		}
		if err != nil || string(got) != c.want {
			t.Errorf("%s: %s %v, want %s", c.out, got, err, c.want)
		}
	}
}

func TestAddArtifacts(t *testing.T) {
	j := &Job{Artifacts: []Artifact{{Name: "a", File: "F1"}, {Name: "b", File: "F2"}}}
	replaced := j.AddArtifacts([]Artifact{{Name: "b", File: "F3"}, {Name: "c", File: "F4"}})
	if len(replaced) != 1 || replaced[0].File != "F2" {
		t.Errorf("replaced %v", replaced)
	}
	var got []string
	for _, a := range j.Artifacts {
		got = append(got, a.Name+"="+a.File)
	}
	if strings.Join(got, " ") != "a=F1 b=F3 c=F4" {
		t.Errorf("artifacts %v", got)
	}
}

func TestCreateArtifact(t *testing.T) {
	if _, err := CreateArtifact(t.Context(), "x"); ErrorCode(err) != EUNAVAILABLE {
		t.Errorf("outside a job: %v", err)
	}
	dir := t.TempDir()
	ctx := WithArtifactDir(t.Context(), func() (string, error) { return dir, nil })
	if _, err := CreateArtifact(ctx, "../x"); ErrorCode(err) != EINVALID {
		t.Errorf("a path: %v", err)
	}
	w, err := CreateArtifact(ctx, "x.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
