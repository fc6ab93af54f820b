//! Reading the reference fixtures that `tools/golden` writes from PyTorch and friends.
//! Every later chapter's golden tests load their fixtures through this module.

use std::fmt;
use std::path::{Path, PathBuf};

use ndarray::{Array, ArrayD, Dimension, IxDyn};

use ch01_foundations::module::Module;
use serde_json::Value;

/// A fixture file: `{"cases": {case: {field: value}}}`, tensors as `{"shape", "data"}`.
pub struct Fixture {
    path: PathBuf,
    cases: Value,
}

/// What went wrong, naming the file and the case/field.
#[derive(Debug)]
pub struct FixtureError(String);

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FixtureError {}

impl Fixture {
    /// Reads and parses `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Fixture, FixtureError> {
        let path = path.as_ref().to_path_buf();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            FixtureError(format!("{}: cannot read fixture: {e}", path.display()))
        })?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| {
            FixtureError(format!("{}: not valid JSON: {e}", path.display()))
        })?;
        let cases = doc.get("cases").cloned().ok_or_else(|| {
            FixtureError(format!("{}: no \"cases\" object", path.display()))
        })?;
        Ok(Fixture { path, cases })
    }

    /// The fixture's `cases` object as JSON, for tests that walk it themselves.
    pub fn cases(&self) -> &Value {
        &self.cases
    }

    fn field(&self, case: &str, field: &str) -> Result<&Value, FixtureError> {
        self.cases
            .get(case)
            .and_then(|c| c.get(field))
            .ok_or_else(|| {
                FixtureError(format!("{}: no field {case}.{field}", self.path.display()))
            })
    }

    /// A tensor field, with "inf", "-inf" and "nan" strings read back as those floats.
    pub fn tensor(&self, case: &str, field: &str) -> Result<ArrayD<f32>, FixtureError> {
        let v = self.field(case, field)?;
        let err = |what: &str| {
            FixtureError(format!("{}: {case}.{field}: {what}", self.path.display()))
        };
        let shape: Vec<usize> = v
            .get("shape")
            .and_then(Value::as_array)
            .ok_or_else(|| err("no \"shape\" array"))?
            .iter()
            .map(|d| {
                d.as_u64()
                    .map(|d| d as usize)
                    .ok_or_else(|| err("shape entries must be integers"))
            })
            .collect::<Result<_, _>>()?;
        let data: Vec<f32> = v
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| err("no \"data\" array"))?
            .iter()
            .map(|x| match x {
                Value::Number(n) => n
                    .as_f64()
                    .map(|f| f as f32)
                    .ok_or_else(|| err("bad number")),
                Value::String(s) if s == "inf" => Ok(f32::INFINITY),
                Value::String(s) if s == "-inf" => Ok(f32::NEG_INFINITY),
                Value::String(s) if s == "nan" => Ok(f32::NAN),
                other => Err(err(&format!("unexpected value {other}"))),
            })
            .collect::<Result<_, _>>()?;
        let n = data.len();
        ArrayD::from_shape_vec(IxDyn(&shape), data)
            .map_err(|_| err(&format!("{n} values do not fill shape {shape:?}")))
    }

    /// A scalar field.
    pub fn scalar(&self, case: &str, field: &str) -> Result<f32, FixtureError> {
        self.field(case, field)?
            .as_f64()
            .map(|f| f as f32)
            .ok_or_else(|| {
                FixtureError(format!(
                    "{}: {case}.{field} is not a number",
                    self.path.display()
                ))
            })
    }

    /// A list-of-integers field (token ids, class targets).
    pub fn indices(&self, case: &str, field: &str) -> Result<Vec<usize>, FixtureError> {
        let err = || {
            FixtureError(format!(
                "{}: {case}.{field} is not a list of indices",
                self.path.display()
            ))
        };
        self.field(case, field)?
            .as_array()
            .ok_or_else(err)?
            .iter()
            .map(|v| v.as_u64().map(|i| i as usize).ok_or_else(err))
            .collect()
    }
}

impl Fixture {
    /// A tensor field of a known rank: `f.array::<Ix3>(case, "x")`.
    pub fn array<D: Dimension>(
        &self,
        case: &str,
        field: &str,
    ) -> Result<Array<f32, D>, FixtureError> {
        let t = self.tensor(case, field)?;
        let shape = t.shape().to_vec();
        t.into_dimensionality::<D>().map_err(|_| {
            FixtureError(format!(
                "{}: {case}.{field} has shape {shape:?}, not rank {}",
                self.path.display(),
                D::NDIM.map_or("any".to_owned(), |n| n.to_string())
            ))
        })
    }

    // ANCHOR: load_params
    /// Sets every parameter of `module` from the field `{prefix}{name}`, by the book's
    /// dotted name and in its layout (the fixture writer transposes PyTorch's weights),
    /// and returns how many it set. A missing field or a wrong shape is an error.
    pub fn load_params(
        &self,
        module: &mut dyn Module,
        case: &str,
        prefix: &str,
    ) -> Result<usize, FixtureError> {
        let (mut n, mut failed) = (0, None);
        module.visit_params_mut(&mut |name, mut p| {
            let field = format!("{prefix}{name}");
            match self.tensor(case, &field) {
                Ok(v) if v.shape() == p.value.shape() => {
                    p.value.assign(&v);
                    n += 1;
                }
                Ok(v) => {
                    let msg = format!(
                        "{}: {case}.{field} is {:?} but the parameter is {:?}",
                        self.path.display(),
                        v.shape(),
                        p.value.shape()
                    );
                    failed.get_or_insert(FixtureError(msg));
                }
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        });
        failed.map_or(Ok(n), Err)
    }
    // ANCHOR_END: load_params
}

/// Asserts |ours - reference| ≤ tol everywhere (same shapes), prints the largest
/// difference (seen with `-- --nocapture`) and returns it.
pub fn assert_close(what: &str, ours: &ArrayD<f32>, want: &ArrayD<f32>, tol: f32) -> f32 {
    assert_eq!(ours.shape(), want.shape(), "{what}: shape");
    let err = max_abs_diff(ours, want);
    eprintln!("{what}: max |ours - reference| = {err:.2e} (tolerance {tol:.0e})");
    assert!(
        err <= tol,
        "{what}: differs from the reference by {err:.2e} (tolerance {tol:.0e})"
    );
    err
}

/// Asserts that a gradient matches the reference relative to the reference's largest
/// entry (at least 1): a loss that sums many logits gives gradients of tens, where one
/// f32 ulp is already ~1e-6. Prints both numbers and returns error / scale.
pub fn assert_grad_close(
    name: &str,
    ours: &ArrayD<f32>,
    want: &ArrayD<f32>,
    tol: f32,
) -> f32 {
    let scale = want.iter().fold(1.0f32, |m, x| m.max(x.abs()));
    let e = max_abs_diff(ours, want);
    eprintln!(
        "grad {name}: max |ours - reference| = {e:.2e}, max |reference| = {scale:.1}"
    );
    assert!(
        e <= tol * scale,
        "grad {name}: error {e:.2e} > {tol:.0e} × {scale:.1}"
    );
    e / scale
}

/// Largest |a - b| over two same-shape tensors, treating equal infinities as equal.
pub fn max_abs_diff(a: &ArrayD<f32>, b: &ArrayD<f32>) -> f32 {
    assert_eq!(
        a.shape(),
        b.shape(),
        "max_abs_diff: shapes {:?} and {:?} differ",
        a.shape(),
        b.shape()
    );
    a.iter()
        .zip(b)
        .map(|(&x, &y)| if x == y { 0.0 } else { (x - y).abs() })
        .fold(
            0.0,
            |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) },
        )
}

/// A committed measurement under `src/figures/` (what `cargo xtask bench` writes and the
/// text includes), read by the tests that check the text's sentences about it: every
/// `|`-separated table row whose first cell is a number (a thread count), as trimmed cells.
pub fn measured_rows(figure: &str) -> Vec<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../src/figures")
        .join(figure);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| {
            l.split('|')
                .map(|c| c.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|cells| cells.len() > 2 && cells[0].parse::<usize>().is_ok())
        .collect()
}

/// A page of the book under `src/` with every run of whitespace made one space, so that
/// a test can find a sentence of it whatever the line breaks.
pub fn page_text(page: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../src")
        .join(page);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A table cell as a number, or a panic that shows the cell.
pub fn cell(c: &str) -> f64 {
    c.parse()
        .unwrap_or_else(|_| panic!("{c:?} is not a number"))
}

/// The number right after `key` in a report's `line` (its digits and decimal point), or a
/// panic that shows the line: how the training-run tests read the reports they check.
pub fn number_after(line: &str, key: &str) -> f64 {
    let at = line
        .find(key)
        .unwrap_or_else(|| panic!("no {key:?} in {line:?}"));
    let n: String = line[at + key.len()..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    n.parse()
        .unwrap_or_else(|e| panic!("{key:?} in {line:?}: {e}"))
}
