//! Case documents: metadata, object storage, integrity and retention.

pub mod facts;
