use std::time::Instant;
use ch01_foundations::init::{normal, seeded_rng};
use ch04_ffn_norms::linear::matmul_into;
use ndarray::Array2;
fn t(name: &str, f: &mut dyn FnMut()) { let mut best=f64::INFINITY; for _ in 0..10 { let s=Instant::now(); f(); best=best.min(s.elapsed().as_secs_f64()); } println!("{name}: {:.2} ms", best*1e3); }
fn main() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    pool.install(|| {
    let mut rng = seeded_rng(0);
    let x: Array2<f32> = normal((2048, 256), 1.0, &mut rng);
    let w1: Array2<f32> = normal((256, 1024), 1.0, &mut rng);
    let w2: Array2<f32> = normal((1024, 256), 1.0, &mut rng);
    let h: Array2<f32> = normal((2048, 1024), 1.0, &mut rng);
    let dy: Array2<f32> = normal((2048, 256), 1.0, &mut rng);
    let mut dw1: Array2<f32> = Array2::zeros((256, 1024));
    let mut dw2: Array2<f32> = Array2::zeros((1024, 256));
    let mut da: Array2<f32> = Array2::zeros((2048, 1024));
    let mut dx: Array2<f32> = Array2::zeros((2048, 256));
    t("fwd1 x@w1", &mut || matmul_into(1.0, x.view(), w1.view(), 0.0, da.view_mut()));
    t("fwd2 a@w2", &mut || matmul_into(1.0, h.view(), w2.view(), 0.0, dx.view_mut()));
    t("da = dy@w2t", &mut || matmul_into(1.0, dy.view(), w2.t(), 0.0, da.view_mut()));
    let w2t = w2.t().as_standard_layout().into_owned();
    t("da = dy@w2t contiguous", &mut || matmul_into(1.0, dy.view(), w2t.view(), 0.0, da.view_mut()));
    t("dw2 = at@dy", &mut || matmul_into(1.0, h.t(), dy.view(), 1.0, dw2.view_mut()));
    t("dw1 = xt@dh", &mut || matmul_into(1.0, x.t(), h.view(), 1.0, dw1.view_mut()));
    t("dx = dh@w1t", &mut || matmul_into(1.0, h.view(), w1.t(), 0.0, dx.view_mut()));
    let w1t = w1.t().as_standard_layout().into_owned();
    t("dx = dh@w1t contiguous", &mut || matmul_into(1.0, h.view(), w1t.view(), 0.0, dx.view_mut()));
    t("transpose copy w1", &mut || { std::hint::black_box(w1.t().as_standard_layout().into_owned()); });
    });
}
