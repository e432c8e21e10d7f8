package broker

import (
	"bytes"
	"encoding/json"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/internal/jsonscan"
)

// spliceMin is the payload size (input, output or a stage's input) from
// which marshalJob writes a record by splicing its payloads in, rather
// than by json.Marshal — which writes into a buffer it grows by doubling
// and then copies out: for a 4.5 MB input, about 13 MB allocated per
// record written, against 4.5 MB.
const spliceMin = 64 << 10

// marshalJob is json.Marshal(j): the JSON of a job record, its payloads
// compacted. A record with a large payload is marshaled without its
// payloads, which are then copied into a buffer of the record's size. An
// payload kept in the object store (j.InputRef, OutputRef, the stage's
// InputRef) is not in the record, even if j still holds it: its input is
// null there, its output and its stage's input absent.
func marshalJob(j *conveyor.Job) ([]byte, error) {
	j = withoutStored(j)
	var stageInput json.RawMessage
	if j.Stage != nil {
		stageInput = j.Stage.Input
	}
	if max(len(j.Input), len(j.Output), len(stageInput)) < spliceMin {
		return json.Marshal(j)
	}
	// The payloads stand in as 0, a JSON value of one byte that
	// json.Marshal neither omits nor checks against anything.
	c := *j
	c.Input, c.Output = stand(j.Input), stand(j.Output)
	if j.Stage != nil {
		st := *j.Stage
		st.Input = stand(stageInput)
		c.Stage = &st
	}
	small, err := json.Marshal(&c)
	if err != nil {
		return nil, err
	}
	out := bytes.NewBuffer(make([]byte, 0, len(small)+len(j.Input)+len(j.Output)+len(stageInput)))
	done := 0
	put := func(start, end int, payload json.RawMessage) error {
		out.Write(small[done:start])
		done = end
		return json.Compact(out, payload)
	}
	// In the order json.Marshal writes them: input, output, stage.
	for _, f := range []struct {
		key     string
		payload json.RawMessage
	}{{"input", j.Input}, {"output", j.Output}} {
		if len(f.payload) == 0 {
			continue
		}
		start, end, ok := jsonscan.Find(small, f.key)
		if !ok {
			return json.Marshal(j)
		}
		if err := put(start, end, f.payload); err != nil {
			return json.Marshal(j) // its error says what is wrong
		}
	}
	if len(stageInput) > 0 {
		s, e, ok := jsonscan.Find(small, "stage")
		if !ok {
			return json.Marshal(j)
		}
		start, end, ok := jsonscan.Find(small[s:e], "input")
		if !ok || s+start < done {
			return json.Marshal(j)
		}
		if err := put(s+start, s+end, stageInput); err != nil {
			return json.Marshal(j)
		}
	}
	out.Write(small[done:])
	return out.Bytes(), nil
}

// stand is what stands in for payload p while the rest of a record is
// marshaled: nothing for none.
func stand(p json.RawMessage) json.RawMessage {
	if len(p) == 0 {
		return p
	}
	return json.RawMessage("0")
}

// withoutStored returns j without the payloads it keeps in the object
// store: j itself when it holds none of them.
func withoutStored(j *conveyor.Job) *conveyor.Job {
	in := j.InputRef != nil && j.Input != nil
	out := j.OutputRef != nil && j.Output != nil
	stage := j.Stage != nil && j.Stage.InputRef != nil && j.Stage.Input != nil
	if !in && !out && !stage {
		return j
	}
	c := *j
	if in {
		c.Input = nil
	}
	if out {
		c.Output = nil
	}
	if stage {
		st := *j.Stage
		st.Input = nil
		c.Stage = &st
	}
	return &c
}
