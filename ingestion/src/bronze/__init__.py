"""Loading into bronze beyond the live listener: backfill of files and GH Archive hours, the DLQ tools."""
