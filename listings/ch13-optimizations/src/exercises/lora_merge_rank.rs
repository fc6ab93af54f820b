//! Exercise (LoRA): placeholder replaced below.
