//! The sandbox sender (`LYO_SENDER=sandbox`, the embedded default): nothing leaves the
//! machine. Each reply is validated as the Cloud API adapter would, recorded in a bounded
//! in-memory log (oldest dropped first) and announced to subscribers, and answered with a fake
//! `wamid`. `lyo chat` and tests read what would have been sent from here.

use lyo_application::outbound::{
    OutboundMessage, Recipient, ReplySender, SendError, SenderAccount, Sent,
};
use lyo_domain::reply::{Reply, ReplyLimitError};
use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::sync::broadcast;
use uuid::Uuid;

/// What the sandbox was asked to do.
#[derive(Clone, PartialEq)]
pub enum SandboxRecord {
    Sent {
        /// Position in this sender's log, from 1, never reused.
        seq: u64,
        phone_number_id: String,
        reply_id: Uuid,
        recipient: Recipient,
        reply: Reply,
        wamid: String,
    },
    Read {
        seq: u64,
        phone_number_id: String,
        message_id: String,
    },
}

impl SandboxRecord {
    pub fn seq(&self) -> u64 {
        match self {
            Self::Sent { seq, .. } | Self::Read { seq, .. } => *seq,
        }
    }
}

/// Holds replies (personal data): ids only.
impl std::fmt::Debug for SandboxRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sent {
                seq,
                reply_id,
                wamid,
                ..
            } => f
                .debug_struct("SandboxRecord::Sent")
                .field("seq", seq)
                .field("reply_id", reply_id)
                .field("wamid", wamid)
                .finish_non_exhaustive(),
            Self::Read { seq, .. } => f
                .debug_struct("SandboxRecord::Read")
                .field("seq", seq)
                .finish_non_exhaustive(),
        }
    }
}

pub struct SandboxSender {
    capacity: usize,
    log: Mutex<Log>,
    announce: broadcast::Sender<SandboxRecord>,
}

#[derive(Default)]
struct Log {
    next_seq: u64,
    records: VecDeque<SandboxRecord>,
}

impl std::fmt::Debug for SandboxSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxSender")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl Default for SandboxSender {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl SandboxSender {
    /// Records kept by [`Default`].
    pub const DEFAULT_CAPACITY: usize = 1_000;
    /// Records a subscriber may fall behind by before it loses the oldest.
    const ANNOUNCE_CAPACITY: usize = 256;

    /// A sandbox keeping the last `capacity` records (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (announce, _) = broadcast::channel(Self::ANNOUNCE_CAPACITY);
        Self {
            capacity,
            log: Mutex::new(Log::default()),
            announce,
        }
    }

    /// The records still held, oldest first.
    pub fn records(&self) -> Vec<SandboxRecord> {
        self.lock().records.iter().cloned().collect()
    }

    /// The records after `seq`, oldest first: a reader polls with the last `seq` it saw.
    pub fn records_after(&self, seq: u64) -> Vec<SandboxRecord> {
        self.lock()
            .records
            .iter()
            .filter(|r| r.seq() > seq)
            .cloned()
            .collect()
    }

    /// Every record from now on, as it happens. A receiver that falls behind loses the
    /// oldest (see `tokio::sync::broadcast`) and can catch up with [`Self::records_after`].
    pub fn subscribe(&self) -> broadcast::Receiver<SandboxRecord> {
        self.announce.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        // A panic while holding the lock leaves the log consistent (every change is one push
        // or pop), so a poisoned lock is still usable.
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, make: impl FnOnce(u64) -> SandboxRecord) -> SandboxRecord {
        let record = {
            let mut log = self.lock();
            log.next_seq += 1;
            let record = make(log.next_seq);
            if log.records.len() >= self.capacity {
                log.records.pop_front();
            }
            log.records.push_back(record.clone());
            record
        };
        // No subscriber is not an error.
        let _ = self.announce.send(record.clone());
        record
    }
}

#[async_trait::async_trait]
impl ReplySender for SandboxSender {
    async fn send(
        &self,
        account: &SenderAccount,
        message: &OutboundMessage,
    ) -> Result<Sent, SendError> {
        message.reply.body.validate()?;
        let wamid = format!("wamid.sandbox.{}", Uuid::now_v7().simple());
        self.push(|seq| SandboxRecord::Sent {
            seq,
            phone_number_id: account.phone_number_id.clone(),
            reply_id: message.reply_id,
            recipient: message.recipient.clone(),
            reply: message.reply.clone(),
            wamid: wamid.clone(),
        });
        tracing::debug!(reply_id = %message.reply_id, "reply recorded by the sandbox sender");
        Ok(Sent { wamid })
    }

    async fn mark_read(&self, account: &SenderAccount, message_id: &str) -> Result<(), SendError> {
        if message_id.trim().is_empty() {
            return Err(SendError::Invalid(ReplyLimitError {
                field: "message_id".into(),
                problem: "blank".into(),
            }));
        }
        self.push(|seq| SandboxRecord::Read {
            seq,
            phone_number_id: account.phone_number_id.clone(),
            message_id: message_id.to_string(),
        });
        Ok(())
    }
}
