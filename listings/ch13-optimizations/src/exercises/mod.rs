pub mod lora_merge_rank;
