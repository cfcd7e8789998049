//! BEdita 5: users, roles and the trash over its JSON:API, with a strict local simulator.

pub mod sandbox;
