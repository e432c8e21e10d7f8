package client

import (
	"bufio"
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"strings"

	"github.com/conveyor-run/conveyor"
)

// errStreamEnded is the error of a stream the server closed before the end
// event: the caller may resume from the last event's ID.
var errStreamEnded = conveyor.Errorf(conveyor.EUNAVAILABLE, "the event stream ended before the job did")

// Event is one Server-Sent Event of a job's event stream: Type is status,
// progress, log or end; Data is its JSON (a job, a conveyor.Progress, a
// conveyor.LogLine, the final job); ID resumes the stream after it.
type Event struct {
	ID   string
	Type string
	Data json.RawMessage
}

// Events follows the job id's events, from after lastEventID ("" for all),
// until its end event, ctx ends or the connection drops. Errors — the
// job's absence, the server's — come as the iteration's error; stop
// iterating to stop following.
func (c *Client) Events(ctx context.Context, id, lastEventID string) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		path, err := jobPath(id, "/events")
		if err != nil {
			yield(Event{}, err)
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
		if err != nil {
			yield(Event{}, err)
			return
		}
		req.Header.Set("Accept", "text/event-stream")
		if lastEventID != "" {
			req.Header.Set("Last-Event-ID", lastEventID)
		}
		c.identify(req)
		resp, err := c.http.Do(req)
		if err != nil {
			yield(Event{}, err)
			return
		}
		defer closeBody(resp)
		if resp.StatusCode != http.StatusOK {
			yield(Event{}, responseError(resp))
			return
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		var ev Event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Type != "" {
					if !yield(ev, nil) || ev.Type == "end" {
						return
					}
				}
				ev = Event{}
			case strings.HasPrefix(line, ":"):
			default:
				field, value, _ := strings.Cut(line, ":")
				value = strings.TrimPrefix(value, " ")
				switch field {
				case "id":
					ev.ID = value
				case "event":
					ev.Type = value
				case "data":
					ev.Data = json.RawMessage(value)
				}
			}
		}
		if err := sc.Err(); err != nil {
			yield(Event{}, err)
		} else if ctx.Err() == nil {
			yield(Event{}, errStreamEnded)
		}
	}
}
