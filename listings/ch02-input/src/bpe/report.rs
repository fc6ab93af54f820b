//! What the section prints.
