//! crossforest's benchmarks (issue 8): the RBAC core side by side with Cedar
//! and casbin on the same generated organization and request stream, a load
//! generator against a resource forest node over mutual TLS, and a scale
//! curve. A workspace member of its own so that Cedar and casbin never enter
//! the product's dependency tree. See `BENCHMARKS.md`.

pub mod cluster;
pub mod cold_start;
pub mod compare;
pub mod engines;
pub mod hostile;
pub mod load;
pub mod model;
pub mod profile;
pub mod rules;
pub mod scale;
pub mod stats;
pub mod stream;
pub mod verify;
