// Package jobindex is a gateway's persistent index of jobs: an SQLite
// database on local disk, fed by the job store's changes, that answers
// lists, searches and counts over every retained job without holding them
// in memory, and remembers the last change it applied so that a restart
// replays only what changed while it was down.
//
// Each row is a job's summary (conveyor.JobSummary, as JSON) and the
// columns a search filters on; labels have a table of their own, and the
// counts of jobs per tenant, algorithm and status are kept up to date as
// rows change, so a count costs no scan. Writes are coalesced: Put queues
// a change in memory, and a background loop commits what is queued in one
// transaction every FlushEvery, together with the cursor of the last
// change applied, so a job that went from queued to succeeded within one
// interval costs one row write, and a crash leaves the index at a
// consistent earlier cursor.
//
// SQLite is reached through modernc.org/sqlite, a translation of SQLite to
// Go: no cgo, so the conveyor binary stays one static file.
package jobindex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/conveyor-run/conveyor"
)

// FileName is the index's database file in its directory.
const FileName = "jobs.db"

// schemaVersion changes when the layout of the database does; an index of
// another version is rebuilt.
const schemaVersion = 2

// FlushEveryDefault is how often queued changes are committed by default.
const FlushEveryDefault = 250 * time.Millisecond

// Options configures Open. The zero value is valid.
type Options struct {
	// FlushEvery is how long a change may wait in memory before it is
	// committed. Default FlushEveryDefault.
	FlushEvery time.Duration
	// Logger receives what the index has to say: a corrupt file moved
	// aside, a failed commit. Default: discarded.
	Logger *slog.Logger
}

// Cursor is how far into the broker's feeds the index has applied changes.
type Cursor struct {
	// Store is the revision of the last job store change applied.
	Store uint64
	// Queue is the sequence of the last queue message applied.
	Queue uint64
	// History is the sequence of the last history message applied.
	History uint64
	// Origin identifies the broker streams the revisions are of (see
	// broker.Origin): an index of other streams is of no use.
	Origin string
}

// Index is an open job index. Its methods are safe for concurrent use.
type Index struct {
	path  string
	w, r  *sql.DB // one writer connection; readers
	log   *slog.Logger
	lock  *os.File
	every time.Duration
	fresh bool // created by Open, not reopened
	// pointStmt reads one job's status and archive position: prepared
	// once, as the gateway asks it of many jobs.
	pointStmt *sql.Stmt

	mu       sync.Mutex
	pending  map[string]Change // queued, not yet being committed
	inflight map[string]Change // being committed
	cur      Cursor            // as of everything Put
	putGen   uint64            // counts Puts
	doneGen  uint64            // the putGen committed
	err      error             // the last commit's
	failures atomic.Int64      // commits failed in a row, for the log
	kick     chan struct{}
	done     *sync.Cond // broadcast after each commit
	room     *sync.Cond // broadcast when pending has room again

	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

// maxPending is how many jobs may wait for a commit before Put waits.
const maxPending = 8192

// Open opens the index in dir, creating dir and the index as needed. An
// index file that is not a readable index of this version is moved aside
// (and the move logged) and a new one made: Fresh then reports true, and
// the caller rebuilds it from the store. Open fails if another process
// has the index open, or dir cannot be written.
func Open(dir string, opts Options) (*Index, error) {
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = FlushEveryDefault
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("job index: %w", err)
	}
	path := filepath.Join(dir, FileName)
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, err
	}
	x := &Index{path: path, log: opts.Logger, lock: lock, every: opts.FlushEvery}
	if err := x.open(); err != nil {
		x.closeDBs()
		if !corrupt(err) {
			unlockFile(lock)
			return nil, err
		}
		aside := fmt.Sprintf("%s.corrupt-%d", path, time.Now().Unix())
		x.log.Error("job index unreadable: moved aside, rebuilding from the store", "path", path, "moved_to", aside, "err", err)
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Rename(path+suffix, aside+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				unlockFile(lock)
				return nil, fmt.Errorf("job index: move aside: %w", err)
			}
		}
		if err := x.open(); err != nil {
			x.closeDBs()
			unlockFile(lock)
			return nil, err
		}
		x.fresh = true
	}
	x.pending, x.inflight = map[string]Change{}, map[string]Change{}
	x.done, x.room = sync.NewCond(&x.mu), sync.NewCond(&x.mu)
	x.kick = make(chan struct{}, 1)
	x.stop, x.stopped = make(chan struct{}), make(chan struct{})
	if x.pointStmt, err = x.r.Prepare(`SELECT status, archived FROM jobs WHERE id = ?`); err != nil {
		x.closeDBs()
		unlockFile(lock)
		return nil, fmt.Errorf("job index: %w", err)
	}
	if x.cur, err = x.readCursor(); err != nil {
		x.closeDBs()
		unlockFile(lock)
		return nil, err
	}
	go x.loop()
	return x, nil
}

// Fresh reports whether Open made the index anew (none was there, or the
// one there was unreadable): it then knows nothing, and has to be fed
// every retained job.
func (x *Index) Fresh() bool { return x.fresh }

// Path returns the index's database file.
func (x *Index) Path() string { return x.path }

func (x *Index) open() error {
	_, statErr := os.Stat(x.path)
	dsn := "file:" + x.path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_txlock=immediate"
	var err error
	if x.w, err = sql.Open("sqlite", dsn+"&_pragma=cache_size(-8192)"); err != nil {
		return fmt.Errorf("job index: %w", err)
	}
	x.w.SetMaxOpenConns(1)
	if x.r, err = sql.Open("sqlite", dsn+"&_pragma=cache_size(-2048)&_pragma=query_only(true)"); err != nil {
		return fmt.Errorf("job index: %w", err)
	}
	x.r.SetMaxOpenConns(4)
	x.r.SetMaxIdleConns(4)
	if errors.Is(statErr, os.ErrNotExist) {
		x.fresh = true
	}
	var version int
	err = x.w.QueryRow(`PRAGMA user_version`).Scan(&version)
	if err != nil {
		return fmt.Errorf("job index: %w", err)
	}
	if version != 0 && version != schemaVersion {
		return errCorrupt{fmt.Errorf("job index of version %d, want %d", version, schemaVersion)}
	}
	if version == 0 {
		x.fresh = true
		for _, stmt := range schema {
			if _, err := x.w.Exec(stmt); err != nil {
				return fmt.Errorf("job index: create: %w", err)
			}
		}
		if _, err := x.w.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
			return fmt.Errorf("job index: create: %w", err)
		}
	}
	// A cheap read of every table: a file whose pages are garbage fails
	// here rather than at the first request.
	for _, q := range []string{`SELECT count(*) FROM meta`, `SELECT count(*) FROM counts`, `SELECT id FROM jobs ORDER BY id DESC LIMIT 1`} {
		rows, err := x.r.Query(q)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		if err != nil {
			return fmt.Errorf("job index: %w", err)
		}
	}
	return nil
}

var schema = []string{
	`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`,
	// summary is the job's JobSummary JSON, served as it is; seq is the
	// queue message that alone holds a job its store does not have yet;
	// archived is the history message that holds a finished job's record
	// once it left the store.
	`CREATE TABLE IF NOT EXISTS jobs (
		id TEXT PRIMARY KEY,
		algorithm TEXT NOT NULL,
		status TEXT NOT NULL,
		tenant TEXT NOT NULL,
		updated INTEGER NOT NULL,
		seq INTEGER NOT NULL,
		owes INTEGER NOT NULL,
		archived INTEGER NOT NULL,
		summary BLOB NOT NULL
	) WITHOUT ROWID`,
	// owes marks the final jobs whose completion callback is not
	// delivered yet: a gateway that starts picks them up.
	`CREATE INDEX IF NOT EXISTS jobs_owes ON jobs (id) WHERE owes = 1`,
	`CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, id)`,
	`CREATE INDEX IF NOT EXISTS jobs_algorithm ON jobs (algorithm, id)`,
	`CREATE INDEX IF NOT EXISTS jobs_tenant ON jobs (tenant, id)`,
	`CREATE TABLE IF NOT EXISTS labels (key TEXT NOT NULL, value TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (key, value, id)) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS labels_id ON labels (id)`,
	`CREATE TABLE IF NOT EXISTS counts (tenant TEXT NOT NULL, algorithm TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (tenant, algorithm, status)) WITHOUT ROWID`,
}

// errCorrupt marks an index to move aside and make anew.
type errCorrupt struct{ error }

func (e errCorrupt) Unwrap() error { return e.error }

// corrupt reports whether err says the file is not a usable index.
func corrupt(err error) bool {
	var c errCorrupt
	if errors.As(err, &c) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "malformed") || strings.Contains(s, "not a database") ||
		strings.Contains(s, "SQLITE_CORRUPT") || strings.Contains(s, "SQLITE_NOTADB") || strings.Contains(s, "no such table")
}

func (x *Index) readCursor() (Cursor, error) {
	var c Cursor
	rows, err := x.r.Query(`SELECT key, value FROM meta`)
	if err != nil {
		return c, fmt.Errorf("job index: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return c, fmt.Errorf("job index: %w", err)
		}
		switch k {
		case "store":
			fmt.Sscan(v, &c.Store)
		case "queue":
			fmt.Sscan(v, &c.Queue)
		case "history":
			fmt.Sscan(v, &c.History)
		case "origin":
			c.Origin = v
		}
	}
	return c, rows.Err()
}

// Cursor returns how far the index has applied changes, as of every Put
// so far (committed or not: Sync commits them).
func (x *Index) Cursor() Cursor {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.cur
}

// Reset empties the index and sets its origin: what to do when the index
// follows other streams than the broker has now (origin differs).
func (x *Index) Reset(ctx context.Context, origin string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for len(x.inflight) > 0 {
		x.done.Wait()
	}
	tx, err := x.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("job index: %w", err)
	}
	defer tx.Rollback()
	for _, t := range []string{"jobs", "labels", "counts", "meta"} {
		if _, err := tx.Exec(`DELETE FROM ` + t); err != nil {
			return fmt.Errorf("job index: reset: %w", err)
		}
	}
	if _, err := tx.Exec(`INSERT INTO meta (key, value) VALUES ('origin', ?)`, origin); err != nil {
		return fmt.Errorf("job index: reset: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("job index: reset: %w", err)
	}
	clear(x.pending)
	x.cur = Cursor{Origin: origin}
	x.fresh = true
	return nil
}

// Close commits what is queued and closes the index. Safe to call more
// than once.
func (x *Index) Close() error {
	var err error
	x.once.Do(func() {
		close(x.stop)
		<-x.stopped
		x.mu.Lock()
		err = x.err
		x.mu.Unlock()
		x.closeDBs()
		unlockFile(x.lock)
	})
	return err
}

func (x *Index) closeDBs() {
	if x.pointStmt != nil {
		x.pointStmt.Close()
	}
	if x.w != nil {
		x.w.Close()
	}
	if x.r != nil {
		x.r.Close()
	}
}

// statuses is every status, for the counts of a status with no jobs.
var statuses = conveyor.Statuses
