package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/conveyor-run/conveyor"
)

// checkFileRefs returns EINVALID, with a violation at the JSON pointer
// (into input) of each, when input references files ({"$file": id}) that
// are not there — never uploaded, expired — or that are another tenant's
// than tenant (unless all): a job must not start with a file it cannot
// read, nor see another tenant's. Each file referenced is kept for the
// retention from now (see broker.KeepFile): a file lives while a job
// that references it does (the runner keeps it again as each attempt
// ends). Its other errors are the broker's.
func (g *Gateway) checkFileRefs(ctx context.Context, input []byte, tenant string, all bool) error {
	refs, err := conveyor.FileRefs(input)
	if err != nil || len(refs) == 0 {
		return err
	}
	var bad []conveyor.Violation
	for _, ref := range refs {
		fi, err := g.b.StatFile(ctx, ref.ID)
		if err == nil && !all && fi.Tenant != tenant {
			err = conveyor.Errorf(conveyor.ENOTFOUND, "file %q not found", ref.ID)
		}
		if err == nil {
			// Kept while the job that references it is retained.
			err = g.b.KeepFile(ctx, fi, time.Now().Add(g.b.Config().Retention))
		}
		switch {
		case conveyor.ErrorCode(err) == conveyor.ENOTFOUND:
			bad = append(bad, conveyor.Violation{Pointer: ref.Pointer, Message: fmt.Sprintf("no file %q: upload it first (POST /v1/files); files expire after the retention", ref.ID)})
		case err != nil:
			return err
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &conveyor.Error{Code: conveyor.EINVALID, Message: fmt.Sprintf("the input references %d unknown file(s), the first at %s", len(bad), pointerOrRoot(bad[0].Pointer)), Details: bad}
}

// checkRequestFiles is checkFileRefs for the request's own tenant.
func (g *Gateway) checkRequestFiles(ctx context.Context, input []byte) error {
	tenant, all := tenantOf(ctx)
	return g.checkFileRefs(ctx, input, tenant, all)
}

func pointerOrRoot(p string) string {
	if p == "" {
		return "the input itself"
	}
	return p
}
