//! Chapter 1 — Introduction & Prerequisites.
//!
//! Everything later chapters build on: shapes and matmul ([`linalg`]), numerically stable
//! softmax ([`softmax`]), probability ([`probability`]), derivatives and the gradients of
//! matmul and softmax + cross-entropy ([`calculus`]), the finite-difference gradient
//! checker every later test uses ([`gradcheck`]), the parameter trait ([`module`]),
//! seeded randomness and initialisation ([`init`]). One module a section of the chapter.
//!
//! Conventions used in every chapter: `f32`, row-major; a shape comment on every
//! tensor-valued function (`// x: [T, C] -> [T, C]`); randomness only through a seeded
//! [`rand_chacha::ChaCha8Rng`] passed in explicitly.

pub mod calculus;
pub mod exercises;
pub mod figures;
pub mod gradcheck;
pub mod init;
pub mod linalg;
pub mod module;
pub mod plot;
pub mod probability;
pub mod regression;
pub mod report;
pub mod softmax;

pub use gradcheck::{GradCheck, GradCheckReport};
pub use init::seeded_rng;
pub use module::{Module, Param, ParamView, ParamViewMut};
