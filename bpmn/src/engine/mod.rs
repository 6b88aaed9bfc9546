//! The pure token interpreter.
