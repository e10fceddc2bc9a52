//! Human input: the [`HumanInput`] trait an agent asks through when its
//! [`HumanInputMode`](crate::HumanInputMode) is `Always` or `Terminate`, what it asks
//! ([`HumanPrompt`], [`HumanMoment`]) and what the human answers ([`HumanReply`]);
//! [`ChannelHumanInput`], a human on the other end of two channels, for tests and programs.

use std::fmt;

use futures::future::BoxFuture;
use serde::Serialize;
use tokio::sync::Mutex;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use crate::error::AgentError;
use crate::event::StopReason;

/// When the human is asked.
///
/// It serializes tagged by `kind`: `{"kind":"before_reply"}`,
/// `{"kind":"before_end","reason":{"kind":"answered"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum HumanMoment {
    /// [`HumanInputMode::Always`](crate::HumanInputMode::Always): the agent is about to take its
    /// turn. [`HumanReply::Continue`] lets it reply; [`HumanReply::Text`] says something to it
    /// first.
    BeforeReply,
    /// The conversation would end for `reason` (the agent answered, a target ended it, the turn
    /// limit was reached). [`HumanReply::Continue`] and [`HumanReply::Exit`] end it;
    /// [`HumanReply::Text`] goes on with the text as the user's message.
    BeforeEnd {
        /// Why it would end.
        reason: StopReason,
    },
}

/// What an agent asks the human.
///
/// ```
/// use agent_core::{HumanMoment, HumanPrompt};
///
/// let prompt = HumanPrompt::new("assistant", HumanMoment::BeforeReply);
/// assert_eq!(
///     prompt.message,
///     "assistant is about to reply. Press enter to let it reply, type a message to say something first, or type 'exit' to end the conversation: "
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HumanPrompt {
    /// The agent that asks.
    pub agent: String,
    /// When.
    pub moment: HumanMoment,
    /// The question, for people (a terminal prints it as its prompt).
    pub message: String,
}

impl HumanPrompt {
    /// The prompt of `agent` at `moment`, with its question for people.
    pub fn new(agent: impl Into<String>, moment: HumanMoment) -> Self {
        let agent = agent.into();
        let message = match &moment {
            HumanMoment::BeforeReply => format!(
                "{agent} is about to reply. Press enter to let it reply, type a message to say something first, or type 'exit' to end the conversation: "
            ),
            HumanMoment::BeforeEnd { reason } => format!(
                "The conversation with {agent} would end ({}). Press enter or type 'exit' to end it, or type a message to go on: ",
                ending(reason)
            ),
        };
        HumanPrompt { agent, moment, message }
    }
}

/// Why a conversation would end, in words.
fn ending(reason: &StopReason) -> String {
    match reason {
        StopReason::Answered => "it answered".to_owned(),
        StopReason::MaxTurns => "the turn limit was reached".to_owned(),
        StopReason::HandedOff { to } => format!("it was handed to {to}"),
        StopReason::Terminated => "a tool ended it".to_owned(),
        StopReason::RevertedToUser => "it was handed back to you".to_owned(),
        StopReason::NoReply => "the model said nothing".to_owned(),
        StopReason::HumanExit => "you left".to_owned(),
    }
}

/// What the human answers.
///
/// It serializes tagged by `kind`: `{"kind":"text","text":"…"}`, `{"kind":"continue"}`,
/// `{"kind":"exit"}`.
///
/// ```
/// use agent_core::HumanReply;
///
/// assert_eq!(HumanReply::from_line("  \n"), HumanReply::Continue);
/// assert_eq!(HumanReply::from_line("exit\n"), HumanReply::Exit);
/// assert_eq!(HumanReply::from_line("Only papers from 2024\n"), HumanReply::Text("Only papers from 2024".into()));
/// assert_eq!(serde_json::to_string(&HumanReply::Exit)?, r#"{"kind":"exit"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "text", rename_all = "snake_case")]
#[non_exhaustive]
pub enum HumanReply {
    /// A message from the human, as the user's. A blank one counts as [`Continue`](Self::Continue).
    Text(String),
    /// Nothing (an empty line): before a reply, let the agent reply on its own; before the end,
    /// let the conversation end.
    Continue,
    /// End the conversation now ([`StopReason::HumanExit`]).
    Exit,
}

impl HumanReply {
    /// A line a person typed, as AG2 reads it: empty (or blank) is
    /// [`Continue`](Self::Continue), `exit` (any case) is [`Exit`](Self::Exit), anything else is
    /// [`Text`](Self::Text) without its surrounding white space.
    pub fn from_line(line: &str) -> HumanReply {
        let line = line.trim();
        if line.is_empty() {
            HumanReply::Continue
        } else if line.eq_ignore_ascii_case("exit") {
            HumanReply::Exit
        } else {
            HumanReply::Text(line.to_owned())
        }
    }
}

/// A human an agent can ask, when its [`HumanInputMode`](crate::HumanInputMode) is `Always` or
/// `Terminate`. Give it with [`AgentBuilder::human_input`](crate::AgentBuilder::human_input) (for
/// every run of the agent, and in [`run_group`](crate::run_group)) or
/// [`RunOptions::human_input`](crate::RunOptions::human_input) (for one run; it wins).
///
/// A terminal reads a line and makes it a reply with [`HumanReply::from_line`];
/// [`ChannelHumanInput`] answers from a channel.
///
/// ```
/// use agent_core::{AgentError, HumanInput, HumanPrompt, HumanReply};
/// use futures::future::BoxFuture;
///
/// /// A human who always lets the agent go on.
/// #[derive(Debug)]
/// struct Absent;
///
/// impl HumanInput for Absent {
///     fn ask<'a>(&'a self, _prompt: &'a HumanPrompt) -> BoxFuture<'a, Result<HumanReply, AgentError>> {
///         Box::pin(async { Ok(HumanReply::Continue) })
///     }
/// }
///
/// let agent = agent_core::ConversableAgent::builder("assistant")
///     .human_input_mode(agent_core::HumanInputMode::Terminate)
///     .human_input(std::sync::Arc::new(Absent))
///     .build();
/// # let _ = agent;
/// ```
pub trait HumanInput: Send + Sync + fmt::Debug {
    /// Asks the human `prompt` and waits for the answer. There is no deadline: people take
    /// their time. Dropping the run's future cancels the wait.
    ///
    /// # Errors
    /// [`AgentError::HumanInput`] when the human cannot be asked (the input is closed); the run
    /// ends with it.
    fn ask<'a>(&'a self, prompt: &'a HumanPrompt) -> BoxFuture<'a, Result<HumanReply, AgentError>>;
}

/// A human on the other end of two channels: each [`HumanPrompt`] goes out on one, and each
/// [`HumanReply`] is read from the other, in order. Replies may be sent before the prompts that
/// they answer (a script of answers), or one by one after reading each prompt.
///
/// ```
/// use std::sync::Arc;
///
/// use agent_core::{ChannelHumanInput, ConversableAgent, HumanInputMode, HumanReply, ModelConfig, LLMConfig, RunOptions};
///
/// # async fn demo() -> Result<(), agent_core::AgentError> {
/// let (human, mut person) = ChannelHumanInput::new();
/// let agent = ConversableAgent::builder("assistant")
///     .llm_config(LLMConfig::new(ModelConfig::offline()))
///     .human_input_mode(HumanInputMode::Always)
///     .human_input(Arc::new(human))
///     .build();
/// // A script: let it reply once, then leave.
/// person.reply(HumanReply::Continue);
/// person.reply(HumanReply::Exit);
/// let response = agent.run(RunOptions::new("hello")).await?;
/// assert_eq!(response.stop_reason, agent_core::StopReason::HumanExit);
/// let first = person.prompts.recv().await.expect("a prompt");
/// assert_eq!(first.agent, "assistant");
/// # Ok(())
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug)]
pub struct ChannelHumanInput {
    prompts: UnboundedSender<HumanPrompt>,
    replies: Mutex<UnboundedReceiver<HumanReply>>,
}

/// The human's end of a [`ChannelHumanInput`]: the prompts it receives and where it replies.
#[derive(Debug)]
#[non_exhaustive]
pub struct HumanChannel {
    /// Every prompt, in the order asked.
    pub prompts: UnboundedReceiver<HumanPrompt>,
    /// Where the replies go, one per prompt.
    pub replies: UnboundedSender<HumanReply>,
}

impl HumanChannel {
    /// Sends one reply (ignored when the [`ChannelHumanInput`] is gone).
    pub fn reply(&self, reply: HumanReply) {
        let _ = self.replies.send(reply);
    }
}

impl ChannelHumanInput {
    /// A human input and the human's end of it.
    pub fn new() -> (ChannelHumanInput, HumanChannel) {
        let (prompt_sender, prompts) = mpsc::unbounded_channel();
        let (replies, reply_receiver) = mpsc::unbounded_channel();
        let input =
            ChannelHumanInput { prompts: prompt_sender, replies: Mutex::new(reply_receiver) };
        (input, HumanChannel { prompts, replies })
    }
}

impl HumanInput for ChannelHumanInput {
    /// Sends `prompt` (a receiver that went away is fine: the replies may be a script), then
    /// waits for the next reply.
    ///
    /// # Errors
    /// [`AgentError::HumanInput`] when the replies' sender is gone and no reply is left.
    fn ask<'a>(&'a self, prompt: &'a HumanPrompt) -> BoxFuture<'a, Result<HumanReply, AgentError>> {
        Box::pin(async move {
            let _ = self.prompts.send(prompt.clone());
            self.replies.lock().await.recv().await.ok_or_else(|| AgentError::HumanInput {
                message: "the channel of human replies closed with no reply left".to_owned(),
            })
        })
    }
}
