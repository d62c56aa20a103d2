"""Where events come from before bronze: event files (JSON, NDJSON, gzip) and GH Archive hours."""
