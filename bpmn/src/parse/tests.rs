//! Unit tests of the parser: XML layer, errors, structure.
