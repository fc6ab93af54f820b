//! Exercises (being written).
