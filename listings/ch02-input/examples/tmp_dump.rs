use ch02_input::wordpiece::basic;
use std::io::Write;
fn main() {
    let b = basic::BasicTokenizer::default();
    let mut out =
        std::io::BufWriter::new(std::fs::File::create("/tmp/ours.tsv").unwrap());
    for cp in 0..0x110000u32 {
        if let Some(c) = char::from_u32(cp) {
            let dropped = c == '\0' || c == '\u{FFFD}' || basic::is_control(c);
            let n: Vec<String> = b
                .normalize(&c.to_string())
                .chars()
                .map(|c| format!("{:X}", c as u32))
                .collect();
            writeln!(
                out,
                "{cp}\t{}\t{}\t{}\t{}",
                dropped as u8,
                basic::is_whitespace(c) as u8,
                (basic::is_punctuation(c) && !c.is_whitespace()) as u8,
                n.join(" ")
            )
            .unwrap();
        }
    }
}
