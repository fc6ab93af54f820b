//! What the section prints.

/// The section's demo.
pub fn demo() -> String {
    String::new()
}
