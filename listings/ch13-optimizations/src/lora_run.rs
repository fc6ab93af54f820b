//! The LoRA experiment (section "LoRA"): a small Llama pretrained to copy a sequence of
//! symbols is fine-tuned to encipher it instead, by full fine-tuning and by LoRA at
//! several ranks on W_q, W_v and on all four attention projections, with the same data,
//! steps and seed. Quality is exact-match accuracy on held-out sequences.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig};
use ch11_training::loss::CrossEntropy;
use ch11_training::optim::{AdamW, Optimizer, WeightDecay};
use ch11_training::schedule::Schedule;
use ndarray::{Array2, ArrayD, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::{Rng, RngExt};

use crate::lora::{
    LoraConfig, LoraError, Targets, Trainable, TrainingMemory, attach, everything,
    is_adapter, training_memory,
};

/// A transform of the frozen base's projection weights before fine-tuning: QLoRA's
/// quantize-then-dequantize plugs in here.
pub type BaseTransform<'a> = &'a dyn Fn(ArrayView2<f32>) -> Array2<f32>;

/// A target the loss skips: the input half of a sequence cannot be predicted.
const IGNORE: usize = usize::MAX;

// ANCHOR: task (long: the task and how one example is laid out, together)
/// Sequences x₁..x_n SEP y₁..y_n over `n_symbols` symbols. Pretraining copies
/// (yᵢ = xᵢ); the fine-tuning task enciphers (yᵢ = σ(xᵢ)) with a fixed random
/// permutation σ. The answer is exact: a sequence is right when all n symbols are.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub n_symbols: usize,
    pub len: usize,
    pub sigma: Vec<usize>,
}

impl Task {
    pub fn new(n_symbols: usize, len: usize, rng: &mut impl Rng) -> Self {
        let mut sigma: Vec<usize> = (0..n_symbols).collect();
        sigma.shuffle(rng);
        Task {
            n_symbols,
            len,
            sigma,
        }
    }

    /// The symbols and SEP.
    pub fn vocab(&self) -> usize {
        self.n_symbols + 1
    }

    /// The model's input (all but the last token) and its targets, IGNORE on the input
    /// half: position n (SEP) predicts y₁.
    // x: [n] -> (ids: [2n], targets: [2n])
    pub fn example(&self, x: &[usize], encipher: bool) -> (Vec<usize>, Vec<usize>) {
        let y = x.iter().map(|&s| if encipher { self.sigma[s] } else { s });
        let seq: Vec<usize> = (x.iter().copied())
            .chain([self.n_symbols])
            .chain(y)
            .collect();
        let n = self.len;
        let targets = (0..2 * n)
            .map(|t| if t >= n { seq[t + 1] } else { IGNORE })
            .collect();
        (seq[..2 * n].to_vec(), targets)
    }
}
// ANCHOR_END: task

impl Task {
    pub fn random_input(&self, rng: &mut impl Rng) -> Vec<usize> {
        (0..self.len)
            .map(|_| rng.random_range(0..self.n_symbols))
            .collect()
    }
}

// ANCHOR: step
/// The mean answer-token cross-entropy of a batch; gradients of the batch mean are
/// added into the model (each row's scaled by 1/B).
// xs: B inputs of [n] -> loss
fn train_step(model: &mut Llama, task: &Task, xs: &[Vec<usize>], encipher: bool) -> f32 {
    let ce = CrossEntropy {
        ignore_index: Some(IGNORE),
        ..CrossEntropy::default()
    };
    let mut total = 0.0;
    for x in xs {
        let (ids, targets) = task.example(x, encipher);
        let logits = model.forward(&ids); // [2n, vocab]
        let out = ce
            .forward_backward(&logits, &targets)
            .expect("in-range targets");
        model.backward(&(out.dlogits / xs.len() as f32));
        total += out.loss;
    }
    total / xs.len() as f32
}
// ANCHOR_END: step

// ANCHOR: evaluate
/// Exact-match accuracy and mean answer-token loss over held-out inputs. All n arg maxes
/// right under teacher forcing is the same event as greedy decoding writing the whole
/// answer: each greedy step then sees the same prefix.
pub fn evaluate(
    model: &mut Llama,
    task: &Task,
    xs: &[Vec<usize>],
    encipher: bool,
) -> (f32, f32) {
    let ce = CrossEntropy {
        ignore_index: Some(IGNORE),
        ..CrossEntropy::default()
    };
    let (mut right, mut loss) = (0usize, 0.0f64);
    for x in xs {
        let (ids, targets) = task.example(x, encipher);
        let logits = model.forward(&ids);
        loss += f64::from(
            ce.forward_backward(&logits, &targets)
                .expect("in range")
                .loss,
        );
        let answer = logits.slice(ndarray::s![task.len.., ..]);
        let all = (answer.axis_iter(Axis(0)).zip(&targets[task.len..]))
            .all(|(row, &y)| argmax(row.as_slice().expect("a contiguous row")) == y);
        right += usize::from(all);
    }
    let n = xs.len().max(1) as f64;
    ((right as f64 / n) as f32, (loss / n) as f32)
}
// ANCHOR_END: evaluate

fn argmax(row: &[f32]) -> usize {
    (0..row.len()).fold(0, |best, i| if row[i] > row[best] { i } else { best })
}

/// How the experiment is run; `full()` makes the book's numbers, `tiny()` runs in tests.
#[derive(Clone, Debug, PartialEq)]
pub struct LoraSetup {
    pub model: LlamaTrainConfig,
    pub n_symbols: usize,
    pub len: usize,
    pub batch: usize,
    pub pretrain_steps: usize,
    pub pretrain_lr: f32,
    pub finetune_steps: usize,
    pub full_lr: f32,
    pub lora_lr: f32,
    pub alpha: f32,
    pub ranks: Vec<usize>,
    pub heldout: usize,
    pub seed: u64,
}

impl LoraSetup {
    pub fn full() -> Self {
        let model = LlamaTrainConfig {
            vocab_size: 17,
            d_model: 64,
            n_layers: 2,
            n_heads: 4,
            n_kv_heads: 2,
            d_ff: 128,
            rope_base: 10_000.0,
            norm_eps: 1e-6,
            tie_embeddings: false,
        };
        LoraSetup {
            model,
            n_symbols: 16,
            len: 6,
            batch: 16,
            pretrain_steps: 1500,
            pretrain_lr: 3e-3,
            finetune_steps: 300,
            full_lr: 1e-3,
            lora_lr: 1e-2,
            alpha: 16.0,
            ranks: vec![1, 2, 4, 8, 16],
            heldout: 256,
            seed: 13,
        }
    }

    pub fn tiny() -> Self {
        let mut s = LoraSetup::full();
        s.model.d_model = 16;
        s.model.d_ff = 32;
        s.model.n_layers = 1;
        s.model.vocab_size = 9;
        (s.n_symbols, s.len, s.batch) = (8, 3, 8);
        (s.pretrain_steps, s.finetune_steps) = (200, 60);
        s.ranks = vec![1, 4];
        s.heldout = 64;
        s
    }
}

/// How a model is fine-tuned.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    Full,
    Lora(LoraConfig),
}

/// One fine-tuning run's measurements.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub method: Method,
    pub memory: TrainingMemory,
    /// Bytes of AdamW's moments after training, read from its state.
    pub adam_state_bytes: usize,
    pub accuracy: f32,
    pub heldout_loss: f32,
    pub ms_per_step: f64,
}

/// The pretrained base, the task and the data every fine-tuning run shares.
pub struct Base {
    pub model: Llama,
    pub task: Task,
    pub heldout: Vec<Vec<usize>>,
    pub train: Vec<Vec<Vec<usize>>>, // the fine-tuning batches, step by step
    pub copy_accuracy: f32,
}

/// Training inputs never equal to a held-out one, so accuracy measures generalisation.
fn batches(
    task: &Task,
    steps: usize,
    b: usize,
    held: &HashSet<Vec<usize>>,
    rng: &mut impl Rng,
) -> Vec<Vec<Vec<usize>>> {
    let mut fresh = || loop {
        let x = task.random_input(rng);
        if !held.contains(&x) {
            return x;
        }
    };
    (0..steps)
        .map(|_| (0..b).map(|_| fresh()).collect())
        .collect()
}

// ANCHOR: pretrain
/// Pretrains the base to copy, with every parameter trained (AdamW, warmup then linear
/// decay), and draws the fine-tuning data.
pub fn pretrain(s: &LoraSetup) -> Base {
    let mut rng = seeded_rng(s.seed);
    let task = Task::new(s.n_symbols, s.len, &mut rng);
    let mut model = Llama::new(s.model.clone(), &mut rng).expect("a valid config");
    let heldout: Vec<Vec<usize>> = (0..s.heldout)
        .map(|_| task.random_input(&mut rng))
        .collect();
    let held: HashSet<Vec<usize>> = heldout.iter().cloned().collect();
    let pre = batches(&task, s.pretrain_steps, s.batch, &held, &mut rng);
    let mut opt = AdamW::new(WeightDecay::None);
    let sched = Schedule::WarmupLinear {
        warmup: s.pretrain_steps / 10,
        total: s.pretrain_steps,
    };
    for (step, xs) in pre.iter().enumerate() {
        model.zero_grad();
        train_step(&mut model, &task, xs, false);
        opt.step(&mut model, s.pretrain_lr * sched.factor(step));
    }
    let (copy_accuracy, _) = evaluate(&mut model, &task, &heldout, false);
    let train = batches(&task, s.finetune_steps, s.batch, &held, &mut rng);
    Base {
        model,
        task,
        heldout,
        train,
        copy_accuracy,
    }
}
// ANCHOR_END: pretrain

// ANCHOR: copy_model
/// A fresh copy of `base`'s parameters (the trainable Llama is not `Clone`: it holds
/// caches), every projection weight passed through `transform` if one is given.
pub fn copy_model(base: &Llama, transform: Option<BaseTransform<'_>>) -> Llama {
    let mut values: BTreeMap<String, ArrayD<f32>> = BTreeMap::new();
    base.visit_params(&mut |name, p| {
        values.insert(name.to_owned(), p.value.to_owned());
    });
    let mut model =
        Llama::new(base.cfg.clone(), &mut seeded_rng(0)).expect("a valid config");
    model.visit_params_mut(&mut |name, mut p| {
        let v = &values[name];
        let projection = name.starts_with("blocks.") && v.ndim() == 2;
        match transform {
            Some(f) if projection => {
                let w = v.view().into_dimensionality().expect("2-D");
                p.value.assign(&f(w));
            }
            _ => p.value.assign(v),
        }
    });
    model
}
// ANCHOR_END: copy_model

// ANCHOR: finetune (long: one run from copy to measurement, read top to bottom)
/// Fine-tunes a copy of the base on the cipher task with `method`; the same batches in
/// the same order for every method. Returns the model and what was measured.
pub fn finetune(
    s: &LoraSetup,
    base: &Base,
    method: Method,
    transform: Option<BaseTransform<'_>>,
) -> Result<(Llama, Outcome), LoraError> {
    let mut model = copy_model(&base.model, transform);
    let (keep, lr): (fn(&str) -> bool, f32) = match method {
        Method::Full => (everything, s.full_lr),
        Method::Lora(cfg) => {
            attach(&mut model, cfg, &mut seeded_rng(s.seed + 1))?;
            (is_adapter, s.lora_lr)
        }
    };
    let mut opt = AdamW::new(WeightDecay::None);
    let sched = Schedule::WarmupLinear {
        warmup: s.finetune_steps / 10,
        total: s.finetune_steps,
    };
    let start = Instant::now();
    for (step, xs) in base.train.iter().enumerate() {
        model.zero_grad();
        train_step(&mut model, &base.task, xs, true);
        let mut trainable = Trainable {
            model: &mut model,
            keep,
        };
        opt.step(&mut trainable, lr * sched.factor(step));
    }
    let ms_per_step =
        start.elapsed().as_secs_f64() * 1e3 / base.train.len().max(1) as f64;
    let adam_state_bytes = (opt.state.values())
        .map(|m| 4 * (m.m.len() + m.v.len()))
        .sum();
    let (accuracy, heldout_loss) = evaluate(&mut model, &base.task, &base.heldout, true);
    let memory = training_memory(&model, keep);
    let outcome = Outcome {
        method,
        memory,
        adam_state_bytes,
        accuracy,
        heldout_loss,
        ms_per_step,
    };
    Ok((model, outcome))
}
// ANCHOR_END: finetune

/// The whole comparison: the base before fine-tuning, full fine-tuning, then LoRA at
/// every rank on q,v and on all four projections.
pub struct LoraReport {
    pub setup: LoraSetup,
    pub copy_accuracy: f32,
    pub base_cipher: (f32, f32), // (accuracy, loss) before any fine-tuning
    pub outcomes: Vec<Outcome>,
}

pub fn run(
    s: &LoraSetup,
    transform: Option<BaseTransform<'_>>,
    mut on_run: impl FnMut(&Outcome),
) -> Result<LoraReport, LoraError> {
    let base = pretrain(s);
    let mut probe = copy_model(&base.model, transform);
    let base_cipher = evaluate(&mut probe, &base.task, &base.heldout, true);
    let mut methods = vec![Method::Full];
    for targets in [Targets::QV, Targets::All] {
        for &rank in &s.ranks {
            methods.push(Method::Lora(LoraConfig {
                rank,
                alpha: s.alpha,
                targets,
            }));
        }
    }
    let mut outcomes = Vec::new();
    for m in methods {
        let (_, o) = finetune(s, &base, m, transform)?;
        on_run(&o);
        outcomes.push(o);
    }
    Ok(LoraReport {
        setup: s.clone(),
        copy_accuracy: base.copy_accuracy,
        base_cipher,
        outcomes,
    })
}

impl LoraReport {
    /// The table the text quotes.
    pub fn table(&self) -> String {
        let full = self.outcomes[0].memory.trainable as f64;
        let mut t = format!(
            "base (pretrained to copy): copy accuracy {:.3}; cipher accuracy before fine-tuning {:.3}, loss {:.3}\n\n",
            self.copy_accuracy, self.base_cipher.0, self.base_cipher.1
        );
        t += "| method | targets | rank | trainable params | % of full | AdamW state (bytes) | exact match | held-out loss | ms/step |\n|---|---|---|---|---|---|---|---|---|\n";
        for o in &self.outcomes {
            let (name, targets, rank) = match o.method {
                Method::Full => ("full".to_owned(), "all".to_owned(), "-".to_owned()),
                Method::Lora(c) => (
                    "LoRA".to_owned(),
                    c.targets.label().to_owned(),
                    c.rank.to_string(),
                ),
            };
            t += &format!(
                "| {name} | {targets} | {rank} | {} | {:.2} | {} | {:.3} | {:.3} | {:.2} |\n",
                o.memory.trainable,
                100.0 * o.memory.trainable as f64 / full,
                o.adam_state_bytes,
                o.accuracy,
                o.heldout_loss,
                o.ms_per_step
            );
        }
        t
    }
}
