//! The two tasks (section "Two tasks, one model"): T5 tells tasks apart by a prefix of
//! plain text. `translate dates:` is Chapter 7's task (a date in words to ISO 8601);
//! `summarize:` reads a short templated report of a few facts and writes the one line
//! that matters. The summaries' test set uses templates never trained on.

use std::collections::HashSet;

use ch07_transformer::data::{Date, Style};
use rand::seq::IndexedRandom;
use rand::{Rng, RngExt};

pub const DATES: &str = "translate dates: ";
pub const SUMMARIZE: &str = "summarize: ";

/// Which task an example belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Task {
    Dates,
    Summaries,
}

/// One example as text, its prefix included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextPair {
    pub task: Task,
    pub input: String,
    pub target: String,
}

// ANCHOR: dates
/// Chapter 7's source sentence behind the prefix; the target is the ISO date.
pub fn date_pair(date: Date, style: Style) -> TextPair {
    TextPair {
        task: Task::Dates,
        input: format!("{DATES}{}", date.words(style)),
        target: date.iso(),
    }
}
// ANCHOR_END: dates

const NAMES: [&str; 8] = [
    "anna", "ben", "carla", "david", "emma", "felix", "grace", "hugo",
];
const CITIES: [&str; 8] = [
    "paris", "oslo", "lima", "cairo", "tokyo", "quito", "delhi", "rome",
];
const ITEMS: [&str; 8] = [
    "bikes", "lamps", "books", "chairs", "clocks", "phones", "shoes", "tables",
];
const DAYS: [&str; 5] = ["monday", "tuesday", "wednesday", "thursday", "friday"];
const WEATHER: [&str; 4] = ["sunny", "rainy", "windy", "cold"];

// ANCHOR: report
/// The facts of one report. Only who sold how many of what, and where, belong in the
/// summary; the day and the weather are there to be left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Report {
    pub name: &'static str,
    pub city: &'static str,
    pub item: &'static str,
    pub count: u32, // 2..=99
    pub day: &'static str,
    pub weather: &'static str,
}

/// Templates trained on; the facts go where the braces are.
pub const TRAIN_TEMPLATES: [&str; 4] = [
    "{name} went to {city} on {day}. there {name} sold {count} {item}. it was {weather}.",
    "on {day} it was {weather} in {city}. {name} sold {count} {item} there.",
    "{count} {item} were sold in {city} by {name} on a {weather} {day}.",
    "in {city}, {name} sold {count} {item}. the {day} was {weather}.",
];

/// Templates only the test set uses: the same facts in orders never seen.
pub const HELDOUT_TEMPLATES: [&str; 2] = [
    "it was {weather} on {day}, and {name} sold {count} {item} in {city}.",
    "{name} was in {city} on {day}. it was {weather}. {count} {item} were sold by {name}.",
];

impl Report {
    /// "anna sold 12 lamps in oslo."
    pub fn summary(&self) -> String {
        format!(
            "{} sold {} {} in {}.",
            self.name, self.count, self.item, self.city
        )
    }
}
// ANCHOR_END: report

impl Report {
    pub fn random(rng: &mut impl Rng) -> Self {
        let pick = |xs: &[&'static str], rng: &mut _| *xs.choose(rng).expect("non-empty");
        Report {
            name: pick(&NAMES, rng),
            city: pick(&CITIES, rng),
            item: pick(&ITEMS, rng),
            count: rng.random_range(2..100),
            day: pick(&DAYS, rng),
            weather: pick(&WEATHER, rng),
        }
    }

    /// The template with every field filled in.
    pub fn fill(&self, template: &str) -> String {
        template
            .replace("{name}", self.name)
            .replace("{city}", self.city)
            .replace("{item}", self.item)
            .replace("{count}", &self.count.to_string())
            .replace("{day}", self.day)
            .replace("{weather}", self.weather)
    }

    pub fn pair(&self, template: &str) -> TextPair {
        TextPair {
            task: Task::Summaries,
            input: format!("{SUMMARIZE}{}", self.fill(template)),
            target: self.summary(),
        }
    }
}

// ANCHOR: split
/// `n` held-out examples of each task: distinct dates (never trained on), and reports
/// written with the held-out templates. Training draws either task with even odds.
pub struct TaskMix {
    pub heldout_dates: Vec<TextPair>,
    pub heldout_summaries: Vec<TextPair>,
    excluded: HashSet<(Date, Style)>,
}

impl TaskMix {
    pub fn new(n: usize, rng: &mut impl Rng) -> Self {
        let mut excluded = HashSet::new();
        let mut heldout_dates = Vec::with_capacity(n);
        while heldout_dates.len() < n {
            let (date, style) = random_date(rng);
            if excluded.insert((date, style)) {
                heldout_dates.push(date_pair(date, style));
            }
        }
        let heldout_summaries = (0..n)
            .map(|i| {
                Report::random(rng).pair(HELDOUT_TEMPLATES[i % HELDOUT_TEMPLATES.len()])
            })
            .collect();
        TaskMix {
            heldout_dates,
            heldout_summaries,
            excluded,
        }
    }
}
// ANCHOR_END: split

// ANCHOR: next
impl TaskMix {
    /// A training example: either task with even odds, never a test date, only the
    /// training templates.
    pub fn next(&self, rng: &mut impl Rng) -> TextPair {
        if rng.random::<bool>() {
            loop {
                let (date, style) = random_date(rng);
                if !self.excluded.contains(&(date, style)) {
                    return date_pair(date, style);
                }
            }
        }
        let template = TRAIN_TEMPLATES.choose(rng).expect("non-empty");
        Report::random(rng).pair(template)
    }
}
// ANCHOR_END: next

fn random_date(rng: &mut impl Rng) -> (Date, Style) {
    let date = Date::random(rng);
    let style = if rng.random::<bool>() {
        Style::DayFirst
    } else {
        Style::MonthFirst
    };
    (date, style)
}
