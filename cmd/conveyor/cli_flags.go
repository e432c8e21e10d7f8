package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/client"
)

// defaultServer is the server of client commands when neither --server nor
// $CONVEYOR_SERVER says otherwise: the default http.addr of conveyor serve.
const defaultServer = "http://127.0.0.1:8080"

// flagSet returns the flag set of cmd, printing its usage on e.stderr.
func (cmd *command) flagSet(e *env) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: conveyor %s [flags]\n\n", strings.TrimSpace(cmd.name+" "+cmd.args))
		text := cmd.help
		if text == "" {
			text = strings.ToUpper(cmd.summary[:1]) + cmd.summary[1:] + "."
		}
		fmt.Fprintf(w, "%s\n\nFlags:\n", strings.TrimSpace(text))
		fs.PrintDefaults()
	}
	return fs
}

// clientFlags are the flags every client command takes.
type clientFlags struct {
	server string
	cacert string
	json   bool
}

// addClientFlags defines --server and --json on fs.
func (e *env) addClientFlags(fs *flag.FlagSet) *clientFlags {
	cf := new(clientFlags)
	server := e.getenv("CONVEYOR_SERVER")
	if server == "" {
		server = defaultServer
	}
	fs.StringVar(&cf.server, "server", server, "the Conveyor server `URL` ($CONVEYOR_SERVER)")
	fs.StringVar(&cf.cacert, "cacert", e.getenv("CONVEYOR_CACERT"), "a PEM `file` of the CA certificates to trust for an https server ($CONVEYOR_CACERT)")
	fs.BoolVar(&cf.json, "json", false, "print the server's JSON instead of text")
	return cf
}

// client returns a client for the server of cf; a URL without a scheme
// ("localhost:8080") means http.
func (e *env) client(cf *clientFlags) (*client.Client, error) {
	server := cf.server
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	opts := []client.Option{client.WithToken(e.getenv("CONVEYOR_TOKEN")), client.WithUserAgent("conveyor-cli/" + conveyor.Version)}
	if cf.cacert != "" {
		pool, err := client.LoadCACert(cf.cacert)
		if err != nil {
			return nil, usagef("--cacert: %v", err)
		}
		opts = append(opts, client.WithRootCAs(pool))
	}
	c, err := client.New(server, opts...)
	if err != nil {
		return nil, usagef("--server: %s", conveyor.ErrorMessage(err))
	}
	return c, nil
}

// parseArgs parses args with fs, letting flags and positional arguments mix
// ("submit is_prime --wait" and "submit --wait is_prime" are the same; after
// "--" all are positional), and checks that there are between min and max
// positional arguments (max < 0: no limit). names are the positional
// arguments' names, for messages.
func parseArgs(fs *flag.FlagSet, args []string, min, max int, names ...string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{msg: err.Error(), printed: true}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	switch {
	case len(pos) < min:
		return nil, usagef("missing %s", names[len(pos)])
	case max >= 0 && len(pos) > max:
		return nil, usagef("unexpected argument %q", pos[max])
	}
	return pos, nil
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// retryAfter returns the Retry-After of the server's error err, or zero.
func retryAfter(err error) time.Duration {
	var ae *client.APIError
	if errors.As(err, &ae) {
		return ae.RetryAfter
	}
	return 0
}

// durationFlag is a flag.Value for a duration written like "30s", "1h30m",
// or a number of seconds ("90").
type durationFlag conveyor.Duration

func (d *durationFlag) String() string {
	if d == nil || *d == 0 {
		return "0"
	}
	return conveyor.Duration(*d).String()
}

func (d *durationFlag) Set(s string) error { return (*conveyor.Duration)(d).UnmarshalText([]byte(s)) }

// Std returns d as a time.Duration.
func (d durationFlag) Std() time.Duration { return time.Duration(d) }

// labelsFlag is a repeatable flag.Value for key=value labels.
type labelsFlag map[string]string

func (l labelsFlag) String() string {
	var parts []string
	for k, v := range l {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (l labelsFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, not %q", s)
	}
	l[k] = v
	return nil
}
