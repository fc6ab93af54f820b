//! What the chapter prints (stub, filled in below).
