pub mod lora_unmerge;
