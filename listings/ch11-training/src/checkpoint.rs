//! Checkpoints that resume exactly (section "Checkpoints that resume exactly"): the
//! chapter's `Trainer<Llama, AdamW>` as a folder of two safetensors files.
//!
//! - `model.safetensors`: Chapter 9's model checkpoint, written and read by
//!   `ch09_decoder_only::checkpoint` (every parameter under its dotted name, the config
//!   in the metadata), plus one metadata field `trainer_step`.
//! - `trainer.safetensors`: Adam's moments as tensors `m.<name>` and `v.<name>`, one
//!   pair per parameter, written with Chapter 7's `module_to_bytes`; the metadata holds
//!   the format name and version, the step, Adam's t and hyperparameters, the schedule,
//!   the peak learning rate, clipping, and the data position (`Batches` seed, t, epoch,
//!   cursor, and the length of the stream it indexes).
//!
//! The loop draws no random numbers but the batch order, which `Batches` derives from
//! (seed, epoch): the data position is the whole RNG state.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use ch01_foundations::module::{Module, Param};
use ch07_transformer::checkpoint::{
    CheckpointError, module_to_bytes, read_params, reject_extra_tensors,
};
use ch09_decoder_only::checkpoint::{llama_metadata, load_llama, save};
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig};
use ndarray::ArrayD;
use safetensors::SafeTensors;
use thiserror::Error;

use crate::optim::{AdamW, Moments, NamedParams, WeightDecay, decays};
use crate::schedule::Schedule;
use crate::trainer::{Batches, Trainer};

/// The trainer file's format name and the version this code writes and reads.
pub const FORMAT: &str = "transformers-deep-dive/ch11-trainer";
pub const VERSION: u32 = 1;

// ANCHOR: error
/// What can stop a resume, each naming the file and what it found. The file-level
/// problems (unreadable, not safetensors, a tensor missing, misshapen or extra, a bad
/// metadata field) are Chapter 7's `CheckpointError`.
#[derive(Debug, Error)]
pub enum ResumeError {
    #[error(transparent)]
    File(#[from] CheckpointError),
    #[error("{path}: format version {found}, this code reads version {expected}")]
    Version {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error(
        "{path}: the checkpoint's model has {field} = {found}, the run has {expected}"
    )]
    Config {
        path: PathBuf,
        field: String,
        found: String,
        expected: String,
    },
    #[error("{path}: {problem}")]
    Mismatch { path: PathBuf, problem: String },
}
// ANCHOR_END: error

// ANCHOR: save
/// Writes `trainer` into the folder `dir` (created if needed). Each file is written
/// under a temporary name and renamed, so a crash never leaves half a file; one
/// between the renames leaves files of two steps, which `load_trainer` refuses.
pub fn save_trainer(
    dir: &Path,
    trainer: &Trainer<Llama, AdamW>,
    stream_len: usize,
) -> Result<(), CheckpointError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| CheckpointError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut model_meta = llama_metadata(&trainer.model.cfg);
    model_meta.insert("trainer_step".into(), trainer.step.to_string());
    let (model_path, trainer_path) = paths(dir);
    let tmp = dir.join("model.safetensors.tmp");
    save(&tmp, &trainer.model, model_meta)?;
    std::fs::rename(&tmp, &model_path).map_err(io(&model_path))?;

    let bytes = module_to_bytes(&moments(trainer), trainer_metadata(trainer, stream_len))
        .map_err(|source| CheckpointError::Format {
            path: trainer_path.clone(),
            source,
        })?;
    let tmp = dir.join("trainer.safetensors.tmp");
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &trainer_path).map_err(io(&trainer_path))
}

// ANCHOR_END: save

// ANCHOR: moments
/// m and v of every parameter, in the model's order; zeros where Adam has not yet
/// stepped (its state starts at zero, so the two are the same state).
fn moments(trainer: &Trainer<Llama, AdamW>) -> NamedParams {
    let mut out = Vec::new();
    trainer.model.visit_params(&mut |name, p| {
        let zero = || ArrayD::zeros(p.value.raw_dim());
        let (m, v) = match trainer.opt.state.get(name) {
            Some(s) => (s.m.clone(), s.v.clone()),
            None => (zero(), zero()),
        };
        out.push((format!("m.{name}"), Param::new(m)));
        out.push((format!("v.{name}"), Param::new(v)));
    });
    NamedParams(out)
}
// ANCHOR_END: moments

fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (
        dir.join("model.safetensors"),
        dir.join("trainer.safetensors"),
    )
}

// ANCHOR: metadata
/// Everything but the tensors, as strings. Rust prints an f32 with the fewest digits
/// that parse back to the same bits, so the numbers round-trip exactly.
fn trainer_metadata(
    tr: &Trainer<Llama, AdamW>,
    stream_len: usize,
) -> HashMap<String, String> {
    let (kind, wd) = match tr.opt.weight_decay {
        WeightDecay::None => ("none", 0.0),
        WeightDecay::Coupled(wd) => ("coupled", wd),
        WeightDecay::Decoupled(wd) => ("decoupled", wd),
    };
    let mut fields = vec![
        ("format", FORMAT.to_owned()),
        ("version", VERSION.to_string()),
        ("step", tr.step.to_string()),
        ("peak_lr", tr.peak_lr.to_string()),
        ("clip", tr.clip.map_or("none".into(), |c| c.to_string())),
        ("adam.t", tr.opt.t.to_string()),
        ("adam.beta1", tr.opt.beta1.to_string()),
        ("adam.beta2", tr.opt.beta2.to_string()),
        ("adam.eps", tr.opt.eps.to_string()),
        ("adam.weight_decay", kind.to_owned()),
        ("adam.lambda", wd.to_string()),
        ("data.seed", tr.batches.seed.to_string()),
        ("data.t", tr.batches.t.to_string()),
        ("data.epoch", tr.batches.epoch.to_string()),
        ("data.cursor", tr.batches.cursor.to_string()),
        ("data.stream_len", stream_len.to_string()),
    ];
    fields.extend(schedule_fields(&tr.schedule));
    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
// ANCHOR_END: metadata

fn schedule_fields(s: &Schedule) -> Vec<(&'static str, String)> {
    let n = |k: &'static str, v: usize| (k, v.to_string());
    let kind = |k: &str| ("schedule", k.to_owned());
    match *s {
        Schedule::Constant => vec![kind("constant")],
        Schedule::WarmupCosine {
            warmup,
            total,
            floor,
        } => vec![
            kind("warmup_cosine"),
            n("schedule.warmup", warmup),
            n("schedule.total", total),
            ("schedule.floor", floor.to_string()),
        ],
        Schedule::WarmupLinear { warmup, total } => vec![
            kind("warmup_linear"),
            n("schedule.warmup", warmup),
            n("schedule.total", total),
        ],
        Schedule::InverseSqrt { warmup } => {
            vec![kind("inverse_sqrt"), n("schedule.warmup", warmup)]
        }
        Schedule::WarmupStableDecay {
            warmup,
            decay,
            total,
            floor,
        } => vec![
            kind("warmup_stable_decay"),
            n("schedule.warmup", warmup),
            n("schedule.decay", decay),
            n("schedule.total", total),
            ("schedule.floor", floor.to_string()),
        ],
    }
}

/// The trainer file's metadata, each field parsed or an error naming it.
struct Meta<'a> {
    path: &'a Path,
    map: HashMap<String, String>,
}

impl Meta<'_> {
    fn get<T: std::str::FromStr>(&self, field: &str) -> Result<T, CheckpointError> {
        let err = |problem: String| CheckpointError::Metadata {
            path: self.path.to_owned(),
            field: field.to_owned(),
            problem,
        };
        let text = self.map.get(field).ok_or_else(|| err("missing".into()))?;
        text.parse()
            .map_err(|_| err(format!("{text:?} does not parse")))
    }

    fn schedule(&self) -> Result<Schedule, CheckpointError> {
        let kind: String = self.get("schedule")?;
        Ok(match kind.as_str() {
            "constant" => Schedule::Constant,
            "warmup_cosine" => Schedule::WarmupCosine {
                warmup: self.get("schedule.warmup")?,
                total: self.get("schedule.total")?,
                floor: self.get("schedule.floor")?,
            },
            "warmup_linear" => Schedule::WarmupLinear {
                warmup: self.get("schedule.warmup")?,
                total: self.get("schedule.total")?,
            },
            "inverse_sqrt" => Schedule::InverseSqrt {
                warmup: self.get("schedule.warmup")?,
            },
            "warmup_stable_decay" => Schedule::WarmupStableDecay {
                warmup: self.get("schedule.warmup")?,
                decay: self.get("schedule.decay")?,
                total: self.get("schedule.total")?,
                floor: self.get("schedule.floor")?,
            },
            other => {
                return Err(CheckpointError::Metadata {
                    path: self.path.to_owned(),
                    field: "schedule".into(),
                    problem: format!("{other:?} is not a schedule this code knows"),
                });
            }
        })
    }

    fn clip(&self) -> Result<Option<f32>, CheckpointError> {
        match self.get::<String>("clip")?.as_str() {
            "none" => Ok(None),
            _ => Ok(Some(self.get("clip")?)),
        }
    }

    fn weight_decay(&self) -> Result<WeightDecay, CheckpointError> {
        let lambda: f64 = self.get("adam.lambda")?;
        match self.get::<String>("adam.weight_decay")?.as_str() {
            "none" => Ok(WeightDecay::None),
            "coupled" => Ok(WeightDecay::Coupled(lambda)),
            "decoupled" => Ok(WeightDecay::Decoupled(lambda)),
            other => Err(CheckpointError::Metadata {
                path: self.path.to_owned(),
                field: "adam.weight_decay".into(),
                problem: format!("{other:?} is not none, coupled or decoupled"),
            }),
        }
    }
}

// ANCHOR: load
/// The trainer saved in `dir` by [`save_trainer`], for a run of model `cfg` over a
/// stream of `stream_len` tokens. Each file is checked before anything is built from
/// it; the first problem is the error.
pub fn load_trainer(
    dir: &Path,
    cfg: &LlamaTrainConfig,
    stream_len: usize,
) -> Result<Trainer<Llama, AdamW>, ResumeError> {
    let (model_path, path) = paths(dir);
    let bytes = read(&path)?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(format(&path))?;
    let file = SafeTensors::deserialize(&bytes).map_err(format(&path))?;
    let meta = Meta {
        path: &path,
        map: header.metadata().clone().unwrap_or_default(),
    };
    check_format(&meta)?;
    let model = load_model(&model_path, cfg)?;
    let step: usize = meta.get("step")?;
    let model_step: usize = model.1;
    if model_step != step {
        let problem = format!(
            "step {step}, but {} holds the model of step {model_step}",
            model_path.display()
        );
        return Err(ResumeError::Mismatch { path, problem });
    }
    let opt = load_adamw(&meta, &file, &model.0)?;
    let batches = load_batches(&meta, stream_len)?;
    Ok(Trainer {
        model: model.0,
        opt,
        schedule: meta.schedule()?,
        peak_lr: meta.get("peak_lr")?,
        clip: meta.clip()?,
        step,
        batches,
    })
}
// ANCHOR_END: load

fn read(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_owned(),
        source,
    })
}

fn format(path: &Path) -> impl Fn(safetensors::SafeTensorError) -> CheckpointError {
    let path = path.to_owned();
    move |source| CheckpointError::Format {
        path: path.clone(),
        source,
    }
}

fn check_format(meta: &Meta<'_>) -> Result<(), ResumeError> {
    let found: String = meta.get("format")?;
    if found != FORMAT {
        return Err(CheckpointError::Metadata {
            path: meta.path.to_owned(),
            field: "format".into(),
            problem: format!("{found:?}, expected {FORMAT:?}"),
        }
        .into());
    }
    let found: u32 = meta.get("version")?;
    if found != VERSION {
        return Err(ResumeError::Version {
            path: meta.path.to_owned(),
            found,
            expected: VERSION,
        });
    }
    Ok(())
}

// ANCHOR: load_model
/// Chapter 9's model file, then its config compared field by field with the run's.
fn load_model(
    path: &Path,
    cfg: &LlamaTrainConfig,
) -> Result<(Llama, usize), ResumeError> {
    let bytes = read(path)?;
    let model = load_llama(&bytes, path)?;
    let (found, expected) = (llama_metadata(&model.cfg), llama_metadata(cfg));
    let mut fields: Vec<&String> = expected.keys().collect();
    fields.sort();
    if let Some(field) = fields
        .into_iter()
        .find(|f| found.get(*f) != expected.get(*f))
    {
        return Err(ResumeError::Config {
            path: path.to_owned(),
            field: field.clone(),
            found: found[field].clone(),
            expected: expected[field].clone(),
        });
    }
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(format(path))?;
    let meta = Meta {
        path,
        map: header.metadata().clone().unwrap_or_default(),
    };
    Ok((model, meta.get("trainer_step")?))
}
// ANCHOR_END: load_model

// ANCHOR: load_adamw
/// Adam's moments: one m and one v of each parameter's shape, nothing else.
fn load_adamw(
    meta: &Meta<'_>,
    file: &SafeTensors<'_>,
    model: &Llama,
) -> Result<AdamW, CheckpointError> {
    let mut slots = Vec::new();
    model.visit_params(&mut |name, p| {
        for which in ["m", "v"] {
            let zeros = ArrayD::zeros(p.value.raw_dim());
            slots.push((format!("{which}.{name}"), Param::new(zeros)));
        }
    });
    let mut tensors = NamedParams(slots);
    read_params(&mut tensors, file, meta.path)?;
    reject_extra_tensors(&tensors, file, meta.path)?;
    let mut state = BTreeMap::new();
    let mut pairs = tensors.0.into_iter();
    while let (Some((m_name, m)), Some((_, v))) = (pairs.next(), pairs.next()) {
        let name = m_name["m.".len()..].to_owned();
        state.insert(
            name,
            Moments {
                m: m.value,
                v: v.value,
            },
        );
    }
    let (beta1, beta2, eps) = (
        meta.get("adam.beta1")?,
        meta.get("adam.beta2")?,
        meta.get("adam.eps")?,
    );
    Ok(AdamW {
        t: meta.get("adam.t")?,
        state,
        decays, // the parameter-group rule is code, not state: the default one
        ..AdamW::with_betas(beta1, beta2, eps, meta.weight_decay()?)
    })
}
// ANCHOR_END: load_adamw

/// The data position, checked against the stream it indexes.
fn load_batches(meta: &Meta<'_>, stream_len: usize) -> Result<Batches, ResumeError> {
    let saved: usize = meta.get("data.stream_len")?;
    let (t, cursor): (usize, usize) = (meta.get("data.t")?, meta.get("data.cursor")?);
    let mismatch = |problem: String| ResumeError::Mismatch {
        path: meta.path.to_owned(),
        problem,
    };
    if saved != stream_len {
        return Err(mismatch(format!(
            "the data position indexes a stream of {saved} tokens, this run's has {stream_len}"
        )));
    }
    if t == 0 || t > stream_len || cursor > stream_len / t {
        return Err(mismatch(format!(
            "data.t = {t}, data.cursor = {cursor} is no position in {stream_len} tokens"
        )));
    }
    Ok(Batches::at(
        stream_len,
        t,
        meta.get("data.seed")?,
        meta.get("data.epoch")?,
        cursor,
    ))
}
