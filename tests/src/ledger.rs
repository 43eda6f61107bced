//! `Ledger`: a small aggregate for testing the event store, with one personal-data field.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use lyo_domain::personal::Personal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Ledger {
    pub owner: Option<Personal<String>>,
    pub balance: i64,
    pub deposits: u64,
}

#[derive(Debug, Clone)]
pub enum LedgerCommand {
    Open {
        owner: Personal<String>,
    },
    /// Deposits `amount` `times` times: one command, `times` events.
    Deposit {
        amount: i64,
        times: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LedgerEvent {
    Opened { owner: Personal<String> },
    Deposited { amount: i64 },
}

impl DomainEvent for LedgerEvent {
    fn event_type(&self) -> String {
        match self {
            LedgerEvent::Opened { .. } => "LedgerOpened".into(),
            LedgerEvent::Deposited { .. } => "LedgerDeposited".into(),
        }
    }

    fn event_version(&self) -> String {
        "1".into()
    }
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum LedgerError {
    #[error("the ledger is already open")]
    AlreadyOpen,
}

impl Aggregate for Ledger {
    const TYPE: &'static str = "Ledger";
    type Command = LedgerCommand;
    type Event = LedgerEvent;
    type Error = LedgerError;
    type Services = ();

    async fn handle(
        &mut self,
        command: LedgerCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), LedgerError> {
        match command {
            LedgerCommand::Open { owner } => {
                if self.owner.is_some() {
                    return Err(LedgerError::AlreadyOpen);
                }
                sink.write(LedgerEvent::Opened { owner }, self).await;
            }
            LedgerCommand::Deposit { amount, times } => {
                for _ in 0..times {
                    sink.write(LedgerEvent::Deposited { amount }, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: LedgerEvent) {
        match event {
            LedgerEvent::Opened { owner } => self.owner = Some(owner),
            LedgerEvent::Deposited { amount } => {
                self.balance += amount;
                self.deposits += 1;
            }
        }
    }
}
