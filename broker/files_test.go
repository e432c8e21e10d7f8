package broker

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

func TestFileStoreError(t *testing.T) {
	for _, c := range []struct {
		err  error
		code string
	}{
		{&jetstream.APIError{Code: 503, ErrorCode: 10023, Description: "insufficient resources"}, conveyor.ESTORAGE},
		{&jetstream.APIError{Code: 500, ErrorCode: 10047, Description: "insufficient storage resources available"}, conveyor.ESTORAGE},
		{errors.New("nats: timeout"), conveyor.EUNAVAILABLE},
	} {
		if got := conveyor.ErrorCode(fileStoreError(c.err)); got != c.code {
			t.Errorf("%v: %s, want %s", c.err, got, c.code)
		}
	}
}

func TestParseContentDigest(t *testing.T) {
	const b64 = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=" // sha-256 of "test"
	for _, c := range []struct {
		cd, d string
		ok    bool
		bad   bool
	}{
		{"sha-256=:" + b64 + ":", "", true, false},
		{"sha-512=:AAAA:, SHA-256=:" + b64 + ":", "", true, false},
		{"", "SHA-256=" + b64, true, false},
		{"", "", false, false},
		{"md5=:AAAA:", "", false, false},
		{"sha-256=:short:", "", false, true},
	} {
		sum, err := ParseContentDigest(c.cd, c.d)
		if (err != nil) != c.bad || (sum != nil) != c.ok {
			t.Errorf("%q %q: %x %v", c.cd, c.d, sum, err)
		}
	}
}

// TestKeepAndSweepFiles: a file lives the retention from its upload, or
// until the time a job that references it needs it (KeepFile); the bucket
// does not expire files by age, and SweepFiles removes exactly those past
// their keep time.
func TestKeepAndSweepFiles(t *testing.T) {
	_, b := open(t, EmbeddedConfig{})
	ctx := t.Context()
	retention := b.Config().Retention
	st, err := b.files.obs.Status(ctx)
	if err != nil || st.TTL() != 0 {
		t.Fatalf("files bucket: TTL %v (%v), want none", st.TTL(), err)
	}
	before := time.Now()
	kept, err := b.StoreFile(ctx, strings.NewReader("kept"), PutFile{})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := b.StoreFile(ctx, strings.NewReader("plain"), PutFile{})
	if err != nil {
		t.Fatal(err)
	}
	if d := plain.ExpiresAt.Sub(before); d < retention || d > retention+2*time.Second {
		t.Fatalf("a new file expires %s after its upload, want the retention (%s)", d, retention)
	}

	// Kept for a job: later than asked, by the slack, so that the next
	// jobs write nothing; a keep time later by half the slack changes
	// nothing.
	until := before.Add(3 * retention)
	if err := b.KeepFile(ctx, kept, until); err != nil {
		t.Fatal(err)
	}
	got, err := b.StatFile(ctx, kept.ID)
	if err != nil || got.ExpiresAt.Before(until.Add(b.keepSlack())) || got.Size != 4 || got.SHA256 != kept.SHA256 {
		t.Fatalf("kept file: %+v %v, want it whole, kept past %s", got, err, until.Add(b.keepSlack()))
	}
	seq := func() uint64 {
		si, err := b.files.stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return si.State.LastSeq
	}
	last := seq()
	if err := b.KeepFile(ctx, got, until.Add(b.keepSlack()/2-time.Second)); err != nil || seq() != last {
		t.Fatalf("keeping a file already kept longer wrote to the store (%v)", err)
	}

	// Past the retention, the plain file goes and the kept one stays.
	n, err := b.SweepFiles(ctx, before.Add(retention+time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("sweep: removed %d (%v), want the plain file", n, err)
	}
	if _, err := b.StatFile(ctx, plain.ID); conveyor.ErrorCode(err) != conveyor.ENOTFOUND {
		t.Fatalf("swept file: %v, want ENOTFOUND", err)
	}
	if _, err := b.StatFile(ctx, kept.ID); err != nil {
		t.Fatalf("kept file after the sweep: %v", err)
	}
	if n, err := b.SweepFiles(ctx, until.Add(b.keepSlack()+time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep past the keep time: removed %d (%v), want the kept file", n, err)
	}
}
