pub mod nf4_block_size;
