package conveyor

// PayloadRef stands, in a job's record, for a large input or output kept
// in the broker's object store instead (see Job.InputRef): the record
// stays small, and the API returns the payload in its place, as it was.
// A client never sees one.
type PayloadRef struct {
	// File is the id of the stored file that holds the payload's JSON,
	// compact.
	File string `json:"file"`
	// Size is the payload's length in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of the payload's JSON.
	SHA256 string `json:"sha256"`
}
