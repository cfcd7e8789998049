//! Publica.la integration API v1. The simulator is here; the client is still to come.

pub mod sandbox;
