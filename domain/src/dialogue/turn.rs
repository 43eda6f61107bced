//! One decision in the making: the events it emits, the replies it queues, and where the draft
//! and the awaited answer end up. `finish` adds `BookingDraftChanged` / `AwaitingChanged` only
//! when they differ from what the emitted events already imply.

use uuid::Uuid;

use super::catalogue::{say, Msg};
use super::draft::BookingDraft;
use super::render::checked;
use super::state::{Awaiting, DialogueState};
use super::Env;
use crate::conversation::ConversationEvent;
use crate::personal::Personal;
use crate::reply::{Reply, ReplyBody, ReplyPurpose};

pub(crate) struct Turn<'a> {
    pub state: &'a DialogueState,
    pub env: Env<'a>,
    /// What caused this decision (a message id, a request id): the seed of derived ids.
    cause: String,
    /// The state as the emitted events leave it.
    sim: DialogueState,
    pub draft: BookingDraft,
    pub awaiting: Awaiting,
    events: Vec<ConversationEvent>,
    replies: Vec<ConversationEvent>,
    /// Opted out or handed off: decide, but queue no reply.
    silent: bool,
}

impl<'a> Turn<'a> {
    pub fn new(state: &'a DialogueState, env: Env<'a>, cause: String) -> Self {
        Turn {
            state,
            env,
            cause,
            sim: state.clone(),
            draft: state.draft.clone(),
            awaiting: state.awaiting.clone(),
            events: Vec::new(),
            replies: Vec::new(),
            silent: state.opted_out || state.handed_off,
        }
    }

    /// A uuid v5 of the subject, this turn's cause, a purpose and an index.
    pub fn derive(&self, what: &str, index: usize) -> Uuid {
        derive(self.env.subject.as_uuid(), &self.cause, what, index)
    }

    pub fn emit(&mut self, event: ConversationEvent) {
        self.sim.apply(&event);
        self.draft = self.sim.draft.clone();
        self.awaiting = self.sim.awaiting.clone();
        self.events.push(event);
    }

    /// Whether replies are dropped from here on (an opt-out's own confirmation, or the
    /// opt-in's, are the only replies that cross the silence).
    pub fn set_silent(&mut self, silent: bool) {
        self.silent = silent;
    }

    pub fn reply(&mut self, purpose: ReplyPurpose, body: ReplyBody) {
        if self.silent {
            return;
        }
        let reply_id = self.derive("reply", self.replies.len());
        let reply = Reply {
            purpose,
            body: checked(body),
            context: None,
        };
        self.replies.push(ConversationEvent::ReplyQueued {
            reply_id,
            reply: Personal::new(self.env.subject, reply),
        });
    }

    /// A plain text answer.
    pub fn say(&mut self, msg: Msg<'_>) {
        let body = super::render::text(&say(self.env.lang, msg));
        self.reply(ReplyPurpose::Answer, body);
    }

    pub fn text(&self, msg: Msg<'_>) -> String {
        say(self.env.lang, msg)
    }

    pub fn finish(mut self) -> Vec<ConversationEvent> {
        if self.sim.draft != self.draft {
            let draft = self.draft.clone();
            self.events
                .push(ConversationEvent::BookingDraftChanged { draft });
        }
        if self.sim.awaiting != self.awaiting {
            let awaiting = self.awaiting.clone();
            self.events
                .push(ConversationEvent::AwaitingChanged { awaiting });
        }
        self.events.extend(self.replies);
        self.events
    }
}

pub(crate) fn derive(namespace: Uuid, cause: &str, what: &str, index: usize) -> Uuid {
    Uuid::new_v5(&namespace, format!("{cause}|{what}|{index}").as_bytes())
}
