//! Exercise: the softmax of a row in two passes over it instead of three.

// ANCHOR: online_softmax
/// Softmax of `x` reading it twice: one pass keeps the running max m and the running
/// sum l = Σ e^{x_j - m}, rescaling l by e^{m_old - m_new} whenever the max grows; the
/// second writes e^{x_i - m} / l. (The safe softmax reads x three times: max, sum,
/// write.) -inf entries get 0; a row of only -inf becomes all 0, as in Chapter 1.
// x: [n] -> [n]
pub fn online_softmax(x: &[f32]) -> Vec<f32> {
    let (mut m, mut l) = (f32::NEG_INFINITY, 0.0f32);
    for &x_j in x {
        let m_new = m.max(x_j);
        if m_new == f32::NEG_INFINITY {
            continue; // nothing seen yet but -inf
        }
        l = l * (m - m_new).exp() + (x_j - m_new).exp();
        m = m_new;
    }
    if l == 0.0 {
        return vec![0.0; x.len()]; // every entry -inf (or none at all)
    }
    x.iter().map(|&x_i| (x_i - m).exp() / l).collect()
}
// ANCHOR_END: online_softmax
