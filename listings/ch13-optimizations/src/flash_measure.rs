//! Measuring Flash Attention against Chapter 3's naive attention (section "Flash
//! Attention", "What it saves"): the peak bytes a call allocates, counted by a global
//! allocator, and its best-of-N time, at growing T. The `flash_measure` example runs it
//! and writes the figures and the table the page quotes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::{best_of, in_pool};
use ch03_attention::mask::Mask;
use ch03_attention::sdpa::{sdpa, sdpa_backward};
use ndarray::Array2;

use crate::flash::{Blocks, flash_backward, flash_forward};

// ANCHOR: counting_alloc (long: the whole allocator, every method of the trait)
/// The system allocator with two counters: the bytes live now and the most live since
/// the last [`peak_bytes_during`]. A program measures with it by declaring
/// `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
pub struct CountingAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        new
    }
}

// ANCHOR_END: counting_alloc

// ANCHOR: peak_bytes
/// Runs `f` and returns its result with the most bytes it had allocated at once, beyond
/// what was live when it started (its outputs count; its inputs, made before, do not).
/// Errors if [`CountingAlloc`] is not the program's global allocator.
pub fn peak_bytes_during<T>(f: impl FnOnce() -> T) -> Result<(T, usize), &'static str> {
    let before = LIVE.load(Ordering::Relaxed);
    let probe = std::hint::black_box(vec![0u8; 4096]);
    if LIVE.load(Ordering::Relaxed) < before + 4096 {
        return Err("peak_bytes_during needs #[global_allocator] CountingAlloc");
    }
    drop(probe);
    let start = LIVE.load(Ordering::Relaxed);
    PEAK.store(start, Ordering::Relaxed);
    let out = f();
    Ok((out, PEAK.load(Ordering::Relaxed) - start))
}
// ANCHOR_END: peak_bytes

/// The CPU time of the calling thread, in seconds. On a machine that other jobs share,
/// wall-clock time also counts their turns on the core; this counts only ours (what it
/// cannot remove is their effect on the shared caches).
pub fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to write into.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// One measured call: its peak allocation, its best wall-clock time and its best CPU
/// time (of the one thread that runs it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cost {
    pub bytes: usize,
    pub secs: f64,
    pub cpu_secs: f64,
}

/// Everything measured at one sequence length; `None` where naive attention's T × T
/// arrays would not fit the budget and it was not run.
#[derive(Clone, Debug)]
pub struct Row {
    pub t: usize,
    pub naive_fwd: Option<Cost>,
    pub flash_fwd: Cost,
    pub flash_causal_fwd: Cost,
    pub naive_fwd_bwd: Option<Cost>,
    pub flash_fwd_bwd: Cost,
}

/// How to measure: head width, repeats (the best time is kept), and the bytes of
/// T × T f32 arrays beyond which naive attention is not run (the forward keeps one,
/// P; forward + backward two, P and dS).
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    pub d: usize,
    pub budget: usize,
    pub blocks: Blocks,
}

/// `repeat` runs of `f`, each counted by the allocator; the best time and the peak.
fn cost(repeat: usize, mut f: impl FnMut()) -> Result<Cost, &'static str> {
    let (mut bytes, mut cpu_secs) = (0, f64::INFINITY);
    let (secs, ()) = best_of(0, repeat, || {
        let start = thread_cpu_secs();
        bytes = peak_bytes_during(&mut f)
            .map(|(_, b)| b)
            .unwrap_or(usize::MAX);
        cpu_secs = cpu_secs.min(thread_cpu_secs() - start);
    });
    if bytes == usize::MAX {
        return Err("peak_bytes_during needs #[global_allocator] CountingAlloc");
    }
    Ok(Cost {
        bytes,
        secs,
        cpu_secs,
    })
}

// ANCHOR: measure_row (long: every measured call of the table in one unit)
/// Measures naive and flash attention at one T on one thread (a pool of one: flash's
/// parallel loops then run on the thread that times them), one head of width d,
/// inputs from N(0, 1): forward alone and forward + backward (which keeps the forward's
/// outputs alive, as training does), and flash's causal forward (tiles skipped).
pub fn measure_row(t: usize, setup: Setup, repeat: usize) -> Result<Row, &'static str> {
    let mut rng = seeded_rng(13);
    let q: Array2<f32> = normal((t, setup.d), 1.0, &mut rng);
    let k: Array2<f32> = normal((t, setup.d), 1.0, &mut rng);
    let v: Array2<f32> = normal((t, setup.d), 1.0, &mut rng);
    let d_o: Array2<f32> = normal((t, setup.d), 1.0, &mut rng);
    let (q, k, v, d_o) = (q.view(), k.view(), v.view(), d_o.view());
    let (none, causal) = (
        Mask::default(),
        Mask {
            causal: true,
            ..Mask::default()
        },
    );
    let b = setup.blocks;
    let flash =
        |mask: &Mask<'_>| flash_forward(q, k, v, mask, b).expect("shapes checked");
    let square = t * t * std::mem::size_of::<f32>();
    in_pool(1, || {
        Ok(Row {
            t,
            naive_fwd: (square <= setup.budget)
                .then(|| cost(repeat, || drop(sdpa(q, k, v, &none))))
                .transpose()?,
            flash_fwd: cost(repeat, || drop(flash(&none)))?,
            flash_causal_fwd: cost(repeat, || drop(flash(&causal)))?,
            naive_fwd_bwd: (2 * square <= setup.budget)
                .then(|| {
                    cost(repeat, || {
                        let a = sdpa(q, k, v, &none);
                        drop(sdpa_backward(q, k, v, a.p.view(), d_o));
                    })
                })
                .transpose()?,
            flash_fwd_bwd: cost(repeat, || {
                let fwd = flash(&none);
                drop(
                    flash_backward(q, k, v, &none, &fwd, d_o, b).expect("shapes checked"),
                );
            })?,
        })
    })
}
// ANCHOR_END: measure_row

const MIB: f64 = 1024.0 * 1024.0;

/// The tables the page quotes: one line a T, " | "-separated, "-" where naive was not
/// run; memory in MiB, CPU time in ms and the ratios of each; then the wall-clock times.
pub fn table(rows: &[Row]) -> String {
    let mib = |c: Option<Cost>| {
        c.map_or("-".into(), |c| format!("{:.3}", c.bytes as f64 / MIB))
    };
    let ms =
        |c: Option<Cost>| c.map_or("-".into(), |c| format!("{:.2}", c.cpu_secs * 1e3));
    let wall = |c: Option<Cost>| c.map_or("-".into(), |c| format!("{:.2}", c.secs * 1e3));
    let mem_ratio = |n: Option<Cost>, f: Cost| {
        n.map_or("-".into(), |n| {
            format!("{:.1}", n.bytes as f64 / f.bytes as f64)
        })
    };
    let time_ratio = |n: Option<Cost>, f: Cost| {
        n.map_or("-".into(), |n| format!("{:.2}", f.cpu_secs / n.cpu_secs))
    };
    let mut out = String::from(
        "T | naive fwd MiB | flash fwd MiB | naive/flash memory | naive f+b MiB | flash f+b MiB \
         | naive/flash memory f+b | naive fwd ms | flash fwd ms | flash/naive time \
         | flash causal fwd ms | naive f+b ms | flash f+b ms | flash/naive time f+b\n",
    );
    for r in rows {
        let line = [
            r.t.to_string(),
            mib(r.naive_fwd),
            mib(Some(r.flash_fwd)),
            mem_ratio(r.naive_fwd, r.flash_fwd),
            mib(r.naive_fwd_bwd),
            mib(Some(r.flash_fwd_bwd)),
            mem_ratio(r.naive_fwd_bwd, r.flash_fwd_bwd),
            ms(r.naive_fwd),
            ms(Some(r.flash_fwd)),
            time_ratio(r.naive_fwd, r.flash_fwd),
            ms(Some(r.flash_causal_fwd)),
            ms(r.naive_fwd_bwd),
            ms(Some(r.flash_fwd_bwd)),
            time_ratio(r.naive_fwd_bwd, r.flash_fwd_bwd),
        ];
        out += &line.join(" | ");
        out.push('\n');
    }
    out += "\nwall-clock time of the same runs (best of each), ms\n\
            T | naive fwd | flash fwd | flash causal fwd | naive f+b | flash f+b\n";
    for r in rows {
        let line = [
            r.t.to_string(),
            wall(r.naive_fwd),
            wall(Some(r.flash_fwd)),
            wall(Some(r.flash_causal_fwd)),
            wall(r.naive_fwd_bwd),
            wall(Some(r.flash_fwd_bwd)),
        ];
        out += &line.join(" | ");
        out.push('\n');
    }
    out
}
