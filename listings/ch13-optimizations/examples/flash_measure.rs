//! Peak memory and time of Chapter 3's naive attention against Flash Attention, one head
//! of width 64 on one thread, T = 256 to 32k; writes src/figures/ch13/flash.txt,
//! flash_memory.svg and flash_time.svg.
//!
//! cargo run --release -p ch13-optimizations --example flash_measure [-- MAX_T [B_R B_C]]

use std::error::Error;
use std::path::Path;

use ch01_foundations::linalg::load_average;
use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch13_optimizations::flash::Blocks;
use ch13_optimizations::flash_measure::{CountingAlloc, Row, Setup, measure_row, table};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// 2 GiB of T × T arrays: the forward runs to T = 16k (one 1 GiB array), forward +
/// backward to 16k too (two), on a 24 GiB machine that other jobs share.
const BUDGET: usize = 2 << 30;

fn main() -> Result<(), Box<dyn Error>> {
    let max_t: usize = std::env::args().nth(1).map_or(Ok(32_768), |a| a.parse())?;
    let arg = |n: usize, default: usize| {
        std::env::args().nth(n).map_or(Ok(default), |a| a.parse())
    };
    let blocks = Blocks {
        b_r: arg(2, Blocks::default().b_r)?,
        b_c: arg(3, Blocks::default().b_c)?,
    };
    let setup = Setup {
        d: 64,
        budget: BUDGET,
        blocks,
    };
    let load_start = load_average();
    let mut rows: Vec<Row> = Vec::new();
    let mut t = 256;
    while t <= max_t {
        // Best of 7 where a run takes milliseconds (noise from other jobs matters most
        // there), of 3 up to 4096, and one run above.
        let repeat = if t <= 1024 {
            7
        } else if t <= 4096 {
            3
        } else {
            1
        };
        let row = measure_row(t, setup, repeat)?;
        eprintln!(
            "{}",
            table(std::slice::from_ref(&row))
                .lines()
                .nth(1)
                .unwrap_or("")
        );
        rows.push(row);
        t *= 2;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/figures/ch13");
    std::fs::create_dir_all(&dir)?;
    let text = format!(
        "Chapter 3's naive attention against Flash Attention: one head, d = 64, f32, 1 thread, \
         blocks B_r = {} x B_c = {}, inputs from N(0, 1), no mask unless \"causal\"\n\
         memory: the most bytes allocated at once during the call beyond what was live before \
         it (a counting global allocator); its outputs count, its inputs do not\n\
         time: CPU time of the one thread that runs the call (clock_gettime), best of 7 for T <= 1024, of 3 up to 4096, one run above; wall-clock times of the same runs below\n\
         naive is not run where its T x T f32 arrays would pass {} GiB (forward: P; \
         forward + backward: P and dS)\n\
         load average at the start: {load_start}, at the end: {}\n\n{}",
        setup.blocks.b_r,
        setup.blocks.b_c,
        BUDGET >> 30,
        load_average(),
        table(&rows)
    );
    std::fs::write(dir.join("flash.txt"), &text)?;
    print!("{text}");
    figures(&dir, &rows)
}

fn figures(dir: &Path, rows: &[Row]) -> Result<(), Box<dyn Error>> {
    let x = |r: &Row| (r.t as f64).log2();
    let series = |label: &str, f: &dyn Fn(&Row) -> Option<f64>| {
        let points = rows
            .iter()
            .map(|r| (x(r), f(r).map_or(f64::NAN, f64::log10)))
            .collect();
        Series::new(label, points)
    };
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    let last_naive = rows
        .iter()
        .filter(|r| r.naive_fwd_bwd.is_some())
        .map(x)
        .next_back();
    let marker = |chart: &mut LineChart| {
        if let Some(at) = last_naive {
            chart
                .markers
                .push((at, "naive's last T in the budget".into()));
        }
    };
    let mut memory = LineChart::new(
        "Peak memory of one attention call (d = 64)",
        "log2 T",
        "log10 MiB",
    );
    memory.series = vec![
        series("naive forward", &|r| r.naive_fwd.map(|c| mib(c.bytes))),
        series("flash forward", &|r| Some(mib(r.flash_fwd.bytes))),
        series("naive forward + backward", &|r| {
            r.naive_fwd_bwd.map(|c| mib(c.bytes))
        }),
        series("flash forward + backward", &|r| {
            Some(mib(r.flash_fwd_bwd.bytes))
        }),
    ];
    memory.points = true;
    marker(&mut memory);
    write_line_chart(&dir.join("flash_memory.svg"), &memory)?;
    let mut time = LineChart::new(
        "CPU time of one attention call (d = 64, 1 thread)",
        "log2 T",
        "log10 ms",
    );
    time.series = vec![
        series("naive forward", &|r| r.naive_fwd.map(|c| c.secs * 1e3)),
        series("flash forward", &|r| Some(r.flash_fwd.secs * 1e3)),
        series("flash forward, causal", &|r| {
            Some(r.flash_causal_fwd.secs * 1e3)
        }),
        series("naive forward + backward", &|r| {
            r.naive_fwd_bwd.map(|c| c.secs * 1e3)
        }),
        series("flash forward + backward", &|r| {
            Some(r.flash_fwd_bwd.secs * 1e3)
        }),
    ];
    time.points = true;
    marker(&mut time);
    write_line_chart(&dir.join("flash_time.svg"), &time)?;
    Ok(())
}
