//! Exercise solutions, one module each.
pub mod q4_0;
