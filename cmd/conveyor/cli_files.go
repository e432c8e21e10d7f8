package main

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"path/filepath"
	"strings"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/client"
)

var uploadCommand = &command{
	name: "upload", args: "PATH", summary: "upload a file for jobs to reference",
	help: `Upload the file at PATH (streamed, of any size up to the server's
files.max_size) and print it: on a terminal its id, size and sha256,
otherwise (piped) its id alone; --json prints it as JSON either way.
Reference it in a job's input as {"$file": "<id>"}, or let
"conveyor submit ALGO --file data=@PATH" upload and reference it at once.
The type sent is --content-type, else the one PATH's extension names.`,
	run: cmdUpload,
}

func cmdUpload(ctx context.Context, e *env, cmd *command, args []string) error {
	fs := cmd.flagSet(e)
	cf := e.addClientFlags(fs)
	var contentType string
	fs.StringVar(&contentType, "content-type", "", "the file's `TYPE` (default: from its extension, else application/octet-stream)")
	pos, err := parseArgs(fs, args, 1, 1, "file path")
	if err != nil {
		return err
	}
	c, err := e.client(cf)
	if err != nil {
		return err
	}
	fi, err := upload(ctx, c, pos[0], contentType)
	if err != nil {
		return err
	}
	switch {
	case cf.json:
		return printJSON(e.stdout, fi)
	case !e.stdoutTTY:
		fmt.Fprintln(e.stdout, fi.ID)
	default:
		fmt.Fprintf(e.stdout, "%s  %d bytes  sha256 %s  expires %s\n", fi.ID, fi.Size, fi.SHA256, fi.ExpiresAt.Format("2006-01-02 15:04"))
	}
	return nil
}

// upload uploads the file at path with contentType, or the type of its
// extension.
func upload(ctx context.Context, c *client.Client, path, contentType string) (*conveyor.FileInfo, error) {
	if contentType == "" {
		contentType = mime.TypeByExtension(filepath.Ext(path))
	}
	fi, err := c.UploadFile(ctx, path, contentType)
	if err != nil {
		return nil, fmt.Errorf("upload %s: %w", path, err)
	}
	return fi, nil
}

// fileFlag is the repeatable --file NAME=@PATH of submit: the file at
// PATH, uploaded, referenced at NAME in the input — a top-level key, or a
// JSON pointer (/a/b) into the input object.
type fileFlag []fileArg

type fileArg struct{ pointer, path string }

func (f *fileFlag) String() string { return "" }

func (f *fileFlag) Set(s string) error {
	name, path, ok := strings.Cut(s, "=@")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want NAME=@PATH (like data=@big.csv), not %q", s)
	}
	if !strings.HasPrefix(name, "/") {
		name = "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(name)
	}
	*f = append(*f, fileArg{name, path})
	return nil
}

// attachFiles uploads each file and sets its reference in input, an
// object, at its pointer, making the objects on the way.
func (e *env) attachFiles(ctx context.Context, c *client.Client, input json.RawMessage, files fileFlag) (json.RawMessage, error) {
	var obj map[string]any
	if len(input) == 0 {
		input = json.RawMessage(`{}`)
	}
	if err := json.Unmarshal(input, &obj); err != nil || obj == nil {
		return nil, usagef("--file needs the input to be a JSON object")
	}
	for _, f := range files {
		fi, err := upload(ctx, c, f.path, "")
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(e.stderr, "uploaded %s: file %s (%d bytes)\n", f.path, fi.ID, fi.Size)
		if err := setPointer(obj, f.pointer, map[string]any{conveyor.FileKey: fi.ID}); err != nil {
			return nil, usagef("--file %s: %v", f.pointer, err)
		}
	}
	return json.Marshal(obj)
}

// setPointer sets v at the JSON pointer p in obj, making the objects
// on the way.
func setPointer(obj map[string]any, p string, v any) error {
	parts := strings.Split(p[1:], "/")
	unescape := strings.NewReplacer("~1", "/", "~0", "~")
	for i, part := range parts {
		key := unescape.Replace(part)
		if i == len(parts)-1 {
			obj[key] = v
			return nil
		}
		next, ok := obj[key].(map[string]any)
		if !ok {
			if _, there := obj[key]; there {
				return fmt.Errorf("%s is not an object", key)
			}
			next = map[string]any{}
			obj[key] = next
		}
		obj = next
	}
	return nil
}
