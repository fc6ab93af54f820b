//! A chat (section "A chat program"): SmolLM2-Instruct's template turn by turn, one
//! KV cache kept across turns so that each turn runs only its new tokens, and a stated
//! policy for a conversation that outgrows the context: drop the oldest turns (never
//! the system prompt), say so, and rebuild the cache.

use ch09_decoder_only::exercises::{Role, chat_prompt};
use ch09_decoder_only::tokenizer::GgufTokenizer;
use thiserror::Error;

use crate::sampling::Sampler;
use crate::stopping::{CachedModel, GenerateError, Generated, StopConditions, generate};

/// SmolLM2-Instruct's default system prompt, which its template adds when none is given.
pub const DEFAULT_SYSTEM: &str =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

#[derive(Debug, Error)]
pub enum ChatError {
    #[error(
        "chat: the system prompt and this message take {need} tokens with room for a \
         {max_tokens}-token reply, more than the {context}-token context"
    )]
    TurnTooLong {
        need: usize,
        max_tokens: usize,
        context: usize,
    },
    #[error("chat: the tokenizer has no {0} token")]
    NoToken(&'static str),
    #[error(transparent)]
    Generate(#[from] GenerateError),
}

/// Turns as text, each with its speaker.
pub type Turns = Vec<(Role, String)>;

// ANCHOR: chat
/// A conversation with a model: its turns as text, the ids the model has seen, and
/// the cache that holds (a prefix of) them.
pub struct Chat<'a, M: CachedModel> {
    model: &'a M,
    tok: &'a GgufTokenizer,
    system: String,
    turns: Turns, // after the system prompt
    ids: Vec<u32>,
    cache: M::Cache,
    /// The most positions the conversation and the reply may take together.
    pub context: usize,
    pub stop: StopConditions,
}
// ANCHOR_END: chat

impl<'a, M: CachedModel> Chat<'a, M> {
    /// A new conversation; the end of a turn, `<|im_end|>`, is the end-of-sequence id.
    pub fn new(
        model: &'a M,
        tok: &'a GgufTokenizer,
        system: &str,
        context: usize,
        max_tokens: usize,
    ) -> Result<Self, ChatError> {
        let eos = tok
            .special("<|im_end|>")
            .ok_or(ChatError::NoToken("<|im_end|>"))?;
        let mut chat = Chat {
            model,
            tok,
            system: system.to_owned(),
            turns: Vec::new(),
            ids: Vec::new(),
            cache: model.new_cache(),
            context,
            stop: StopConditions {
                eos: Some(eos),
                stop_strings: vec![],
                max_tokens,
            },
        };
        chat.ids = tok.encode(&chat.render(&[], false));
        Ok(chat)
    }

    /// The conversation as the template writes it, the system prompt first.
    fn render(&self, turns: &[(Role, String)], generation_prompt: bool) -> String {
        let mut all = vec![(Role::System, self.system.as_str())];
        all.extend(turns.iter().map(|(r, t)| (*r, t.as_str())));
        chat_prompt(&all, generation_prompt)
    }

    /// The ids of the conversation so far, as the model sees them.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// The cache, holding a prefix of [`Chat::ids`].
    pub fn cache(&self) -> &M::Cache {
        &self.cache
    }

    pub fn turns(&self) -> &[(Role, String)] {
        &self.turns
    }
}

// ANCHOR: add_user
impl<M: CachedModel> Chat<'_, M> {
    /// Appends a user turn and opens the assistant's. If the conversation and a full
    /// reply would not fit in the context, the oldest turns go (see [`Chat::fit`]),
    /// `notice` hears how many, and the cache restarts. Returns how many ids the model
    /// has yet to run.
    pub fn add_user(
        &mut self,
        text: &str,
        notice: impl FnOnce(&str),
    ) -> Result<usize, ChatError> {
        let piece =
            format!("<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n");
        let new = self.tok.encode(&piece);
        if self.ids.len() + new.len() + self.stop.max_tokens > self.context {
            let (keep, ids) = self.fit(text)?;
            let dropped = self.turns.len() - keep.len();
            notice(&format!(
                "[the conversation outgrew the {}-token context: dropped the oldest \
                 {dropped} turn(s), kept the system prompt, rebuilt the cache]",
                self.context
            ));
            (self.turns, self.ids, self.cache) = (keep, ids, self.model.new_cache());
        } else {
            self.ids.extend(new);
        }
        self.turns.push((Role::User, text.to_owned()));
        Ok(self.ids.len() - self.model.cached(&self.cache))
    }
}
// ANCHOR_END: add_user

// ANCHOR: fit
impl<M: CachedModel> Chat<'_, M> {
    /// The most recent turns that fit with the new message `text` and a full reply,
    /// starting at a user turn, and the ids of the whole prompt they make. An error if
    /// even the system prompt and `text` alone do not fit.
    fn fit(&self, text: &str) -> Result<(Turns, Vec<u32>), ChatError> {
        let room = self.context.saturating_sub(self.stop.max_tokens);
        let mut keep = self.turns.clone();
        keep.push((Role::User, text.to_owned()));
        let mut ids = self.tok.encode(&self.render(&keep, true));
        while ids.len() > room && keep.len() > 1 {
            keep.remove(0);
            while keep.len() > 1 && keep[0].0 != Role::User {
                keep.remove(0); // a kept conversation opens with a user turn
            }
            ids = self.tok.encode(&self.render(&keep, true));
        }
        if ids.len() > room {
            let (need, max_tokens) =
                (ids.len() + self.stop.max_tokens, self.stop.max_tokens);
            return Err(ChatError::TurnTooLong {
                need,
                max_tokens,
                context: self.context,
            });
        }
        keep.pop(); // the new message: `add_user` appends it
        Ok((keep, ids))
    }
}
// ANCHOR_END: fit

// ANCHOR: respond
impl<M: CachedModel> Chat<'_, M> {
    /// The assistant's reply to the last user turn, streamed to `emit`. Its ids join
    /// the conversation, closed by `<|im_end|>` and a newline as the template closes a
    /// turn, so the next turn runs from where the cache stops.
    pub fn respond(
        &mut self,
        sampler: &mut Sampler,
        emit: impl FnMut(&str),
    ) -> Result<Generated, ChatError> {
        let g = generate(
            self.model,
            self.tok,
            (&mut self.cache, &self.ids),
            sampler,
            &self.stop,
            emit,
        )?;
        self.ids.extend(&g.ids);
        if g.ids.last().copied() != self.stop.eos {
            self.ids.extend(self.stop.eos); // a reply cut by the limit still ends its turn
        }
        self.ids.extend(self.tok.encode("\n"));
        self.turns.push((Role::Assistant, g.text.clone()));
        Ok(g)
    }
}
// ANCHOR_END: respond
