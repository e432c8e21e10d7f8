package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/conveyor-run/conveyor"
)

// UploadOptions describe an upload.
type UploadOptions struct {
	// ContentType is the file's type, kept with it and sent back on
	// download. Default application/octet-stream.
	ContentType string
	// Size, when known (> 0), is sent as the Content-Length, so that a
	// file over the server's limit is refused before it is sent.
	Size int64
}

// Upload streams r to POST /v1/files and returns the stored file;
// reference it in an input as conveyor.File{ID: f.ID}. The body is never
// held whole in memory. It returns an *APIError (413 over the server's
// files.max_size), the context's error, or EUNAVAILABLE when the server
// cannot be reached.
func (c *Client) Upload(ctx context.Context, r io.Reader, opt UploadOptions) (*conveyor.FileInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/files", r)
	if err != nil {
		return nil, conveyor.Errorf(conveyor.EINVALID, "cannot build the request: %w", err)
	}
	if opt.Size > 0 {
		req.ContentLength = opt.Size
	} else if req.ContentLength == 0 && r != nil {
		req.ContentLength = -1 // unknown: chunked
	}
	ct := opt.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", "application/json, application/problem+json")
	resp, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	defer closeBody(resp)
	if resp.StatusCode != http.StatusCreated {
		return nil, responseError(resp)
	}
	var fi conveyor.FileInfo
	if err := json.NewDecoder(resp.Body).Decode(&fi); err != nil {
		return nil, &conveyor.Error{Code: conveyor.EINTERNAL, Message: "the server sent an unreadable response to the upload", Err: err}
	}
	return &fi, nil
}

// UploadFile uploads the file at path (see Upload), with its size as the
// Content-Length. It returns an error if the file cannot be read, and
// Upload's errors.
func (c *Client) UploadFile(ctx context.Context, path, contentType string) (*conveyor.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	// A size of 0 would be sent chunked: say so exactly instead.
	body := io.Reader(f)
	if st.Size() == 0 {
		body = http.NoBody
	}
	return c.Upload(ctx, body, UploadOptions{ContentType: contentType, Size: st.Size()})
}

// Download streams the uploaded file id into w and returns how many bytes
// it wrote. It returns an *APIError (404 for no such file), the context's
// error, EUNAVAILABLE when the server cannot be reached, or w's error.
func (c *Client) Download(ctx context.Context, id string, w io.Writer) (int64, error) {
	if id == "" {
		return 0, conveyor.Errorf(conveyor.EINVALID, "missing file id")
	}
	return c.download(ctx, "/v1/files/"+url.PathEscape(id), w)
}

// DownloadArtifact streams the artifact name of job id into w and returns
// how many bytes it wrote. It returns an *APIError (404 for no such job,
// artifact, or one that expired), the context's error, EUNAVAILABLE when
// the server cannot be reached, or w's error.
func (c *Client) DownloadArtifact(ctx context.Context, id, name string, w io.Writer) (int64, error) {
	if id == "" || name == "" {
		return 0, conveyor.Errorf(conveyor.EINVALID, "missing job id or artifact name")
	}
	return c.download(ctx, "/v1/jobs/"+url.PathEscape(id)+"/artifacts/"+url.PathEscape(name), w)
}

// Artifacts returns the artifacts of job id, as its record lists them. It
// returns Get's errors.
func (c *Client) Artifacts(ctx context.Context, id string) ([]conveyor.Artifact, error) {
	j, err := c.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return j.Artifacts, nil
}

// download streams the body of a GET of path into w.
func (c *Client) download(ctx context.Context, path string, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, conveyor.Errorf(conveyor.EINVALID, "cannot build the request: %w", err)
	}
	resp, err := c.roundTrip(ctx, req)
	if err != nil {
		return 0, err
	}
	defer closeBody(resp)
	if resp.StatusCode != http.StatusOK {
		return 0, responseError(resp)
	}
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("the download ended after %d of %d bytes", n, resp.ContentLength)
	}
	return n, err
}
