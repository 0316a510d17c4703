//! Clients of the systems a pipeline reads from and writes to (databases), shared by the source and sink
//! kinds that talk to them. Their libraries run only on a generator's own thread or on a sink's writer
//! thread, never on an engine thread.

pub mod postgres;
