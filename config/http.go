package config

// ServerTLS names a server's certificate and its key, PEM files.
type ServerTLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// validateHTTP checks the http section's limits and TLS.
func (c *Config) validateHTTP(add func(string, ...any)) {
	if c.HTTP.MaxWait < 0 || c.HTTP.MaxEventStreams < 0 || c.HTTP.BodyTimeout < 0 {
		add("http.max_wait, http.max_event_streams and http.body_timeout must not be negative")
	}
	if (c.HTTP.TLS.Cert == "") != (c.HTTP.TLS.Key == "") {
		add("http.tls: give both cert and key")
	}
}
