//! Exercise solutions, one module each.
