package broker

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/conveyor-run/conveyor/internal/gcpace"
)

// fileWindow is how many chunks of a file being stored are in flight at
// once (published, not yet acknowledged): 1 MiB. The object store's own
// Put keeps up to 4,000 in flight (500 MiB at 128 KiB), which a fast
// client pushes into the stream's ingest queue faster than a disk takes
// it: the server's memory grows by the file, and past the queue's 128 MiB
// the stream refuses chunks (429) and the upload fails.
const fileWindow = 8

// putObject stores what r gives as the object name of the files bucket,
// as the object store's Put would (the same chunks and description, so
// that any object store client reads it), with at most fileWindow chunks
// in flight. Nothing is visible until the description is published last;
// on any error the chunks published so far are purged.
func (b *Broker) putObject(ctx context.Context, meta jetstream.ObjectMeta, r io.Reader) (*jetstream.ObjectInfo, error) {
	id := nuid.Next()
	chunkSubj := fmt.Sprintf("$O.%s.C.%s", FilesBucket, id)
	info := &jetstream.ObjectInfo{ObjectMeta: meta, Bucket: FilesBucket, NUID: id}
	h := sha256.New()
	// A buffer is reused only once its chunk is acknowledged: a publish
	// that is retried sends it again.
	bufs := make([][]byte, fileWindow)
	var inflight []jetstream.PubAckFuture
	// Whether the chunks are stored one after the other from first on,
	// as they are unless uploads run at once: a read from an offset then
	// starts at its chunk (see openObject).
	var first uint64
	acked, contiguous := uint64(0), true
	var moved gcpace.Meter
	defer moved.Done()
	ack := func(f jetstream.PubAckFuture) error {
		a, err := waitAck(f)
		if err != nil {
			return err
		}
		if acked == 0 {
			first = a.Sequence
		} else if a.Sequence != first+acked {
			contiguous = false
		}
		acked++
		return nil
	}
	fail := func(err error) (*jetstream.ObjectInfo, error) {
		// Whatever was sent is acknowledged or lost before the purge.
		for _, f := range inflight {
			_, _ = waitAck(f)
		}
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if perr := b.files.stream.Purge(pctx, jetstream.WithPurgeSubject(chunkSubj)); perr != nil {
			b.cfg.Logger.Warn("files: purge the chunks of a refused upload (they expire with the retention)", "object", meta.Name, "err", perr)
		}
		return nil, err
	}
	for i := 0; ; i++ {
		if len(inflight) == fileWindow {
			if err := ack(inflight[0]); err != nil {
				return fail(err)
			}
			inflight = inflight[1:]
		}
		buf := bufs[i%fileWindow]
		if buf == nil {
			buf = make([]byte, fileChunk)
			bufs[i%fileWindow] = buf
		}
		n, rerr := r.Read(buf)
		if rerr != nil && rerr != io.EOF {
			return fail(rerr)
		}
		if n > 0 {
			moved.Add(n)
			h.Write(buf[:n])
			m := nats.NewMsg(chunkSubj)
			m.Data = buf[:n]
			f, err := b.js.PublishMsgAsync(m)
			if err != nil {
				return fail(err)
			}
			inflight = append(inflight, f)
			info.Size += uint64(n)
			info.Chunks++
		}
		if rerr == io.EOF {
			break
		}
	}
	for len(inflight) > 0 {
		if err := ack(inflight[0]); err != nil {
			return fail(err)
		}
		inflight = inflight[1:]
	}
	if contiguous && acked > 0 {
		info.Metadata = maps.Clone(info.Metadata)
		if info.Metadata == nil {
			info.Metadata = map[string]string{}
		}
		info.Metadata[fileFirstSeqKey] = strconv.FormatUint(first, 10)
		info.Metadata[fileChunkKey] = strconv.Itoa(fileChunk)
	}
	info.Digest = "SHA-256=" + base64.URLEncoding.EncodeToString(h.Sum(nil))
	data, err := json.Marshal(info)
	if err != nil {
		return fail(err)
	}
	mm := nats.NewMsg(fmt.Sprintf("$O.%s.M.%s", FilesBucket, base64.URLEncoding.EncodeToString([]byte(meta.Name))))
	mm.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	mm.Data = data
	err = b.retry(context.WithoutCancel(ctx), func(ctx context.Context) error {
		_, err := b.js.PublishMsg(ctx, mm)
		return err
	})
	if err != nil {
		return fail(err)
	}
	info.ModTime = time.Now().UTC()
	return info, nil
}

// waitAck waits for the acknowledgement of an asynchronous publish.
func waitAck(f jetstream.PubAckFuture) (*jetstream.PubAck, error) {
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case a := <-f.Ok():
		return a, nil
	case err := <-f.Err():
		return nil, err
	case <-t.C:
		return nil, errors.New("no acknowledgement of a chunk within 30s")
	}
}
