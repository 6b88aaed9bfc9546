//! Unit tests of extension elements.
