//! The booking process manager: turns the conversation's decisions into schedule and
//! appointment commands, and their outcomes back into conversation commands (which render the
//! replies). It runs as a [`Reaction`] under the projection runner: one process at a time, from
//! a checkpoint (ADR 0004).
//!
//! Invariants:
//! - Idempotent. Every command it issues is keyed by ids the conversation derived from the
//!   causing message (`request_id`, `appointment_id`) or by ids derived here from those, and
//!   every aggregate treats a repeat as a no-op, so a replayed batch, a crash between two
//!   steps, or a second process issues nothing twice (ADR 0009).
//! - Deterministic. "Now" for lead times is the causing event's recorded time, not the clock,
//!   so a replay decides what the first run decided.
//! - The schedule of the slot's service date decides capacity; other schedules are only read
//!   to suggest alternatives, which are offers, decided again when one is chosen.
//! - Steps run in the order that never loses a customer's table: reserve first and tell the
//!   conversation last. A move on another date releases the old hold before the appointment
//!   records the move, so that a replay still knows which hold to release (ADR 0009).

/// The name of the booking process manager's checkpoint and lease.
pub const NAME: &str = "booking_process";
/// The conversation events the process acts on: the requests a customer confirmed. Its log
/// reader fetches the payloads of these alone among a conversation's events.
pub const CONVERSATION_EVENTS: &[&str] = &[
    "BookingRequested",
    "CancellationRequested",
    "RescheduleRequested",
];

use crate::event_log::{RecordedEvent, StoreError};
use crate::metadata::{Actor, EventMetadata};
use crate::projection::reactor::Reaction;
use crate::projection::ProjectionError;
use crate::tenants::{TenantConfig, TenantConfigs};
use async_trait::async_trait;
use cqrs_es::{Aggregate, AggregateContext, AggregateError, CqrsFramework, EventStore};
use jiff::Timestamp;
use lyo_domain::appointment::{
    Appointment, AppointmentCommand, AppointmentError, AppointmentEvent, AppointmentRequest,
    CancelledBy, ConfirmedBy, Status,
};
use lyo_domain::availability::{alternatives, Slot, Unavailable, ValidSettings, Wish};
use lyo_domain::conversation::{
    AppointmentChange, BookingOutcome, CancelRefusal, CancellationOutcome, Conversation,
    ConversationCommand, ConversationEvent, RescheduleOutcome,
};
use lyo_domain::dialogue::DialogueContext;
use lyo_domain::ids::{AppointmentId, SubjectId, TenantId};
use lyo_domain::personal::Personal;
use lyo_domain::schedule::{Answer, Reservation, Schedule, ScheduleCommand, ScheduleId};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Opens the sealed personal-data fields of stored payloads (the PII vault).
#[async_trait]
pub trait PayloadOpener: Send + Sync {
    async fn open(&self, payloads: &mut [Value]) -> Result<(), StoreError>;
}

/// How many alternatives a refusal offers (the dialogue shows at most 5 list rows).
pub const MAX_ALTERNATIVES: usize = 5;
/// How often a command is decided again after losing an optimistic-concurrency race (another
/// writer appended to the same stream first, e.g. the ingress worker to the conversation).
const CONFLICT_RETRIES: u32 = 20;

pub const PROCESS: &str = "booking-process";

/// The dialogue's view of a tenant, from its projected configuration.
pub fn dialogue_context(config: &TenantConfig) -> DialogueContext {
    DialogueContext {
        tenant_name: config.name.clone(),
        languages: config.languages.clone(),
        time_zone: config.time_zone.clone(),
        address: config.address.clone(),
        booking: config.booking.as_ref().map(|v| v.settings().clone()),
        auto_confirm: config.auto_confirm,
    }
}

pub struct BookingProcess<C, S, A>
where
    C: EventStore<Conversation>,
    S: EventStore<Schedule>,
    A: EventStore<Appointment>,
{
    conversations: CqrsFramework<Conversation, C>,
    schedules: CqrsFramework<Schedule, S>,
    schedule_store: S,
    appointments: CqrsFramework<Appointment, A>,
    appointment_store: A,
    configs: Arc<dyn TenantConfigs>,
    opener: Arc<dyn PayloadOpener>,
}

fn failed(error: impl std::error::Error + Send + Sync + 'static) -> ProjectionError {
    ProjectionError::Store(StoreError::Unexpected(Box::new(error)))
}

#[derive(Debug, thiserror::Error)]
enum ProcessError {
    #[error("the schedule recorded no answer for a reservation it was just asked for")]
    NoAnswer,
    #[error("an appointment event for an appointment that was never requested")]
    UnknownAppointment,
    #[error("still conflicting after {0} attempts")]
    Contended(u32),
    #[error("{0}")]
    Rejected(String),
    #[error("the tenant's configuration is not projected yet")]
    TenantNotProjected,
    /// The message names the event only: serde's would quote the (personal) value.
    #[error("a {0} event does not decode")]
    Undecodable(String),
}

/// The causing event, as the commands it leads to need it.
struct Cause<'a> {
    event: &'a RecordedEvent,
    tenant: TenantId,
    correlation_id: String,
    now: Timestamp,
}

impl Cause<'_> {
    fn metadata(&self) -> HashMap<String, String> {
        EventMetadata {
            tenant_id: self.tenant,
            actor: Actor::system(PROCESS),
            correlation_id: self.correlation_id.clone(),
            causation_id: Some(self.event.event_id.to_string()),
            request_id: None,
        }
        .to_map()
    }

    /// An id derived from the causing event, stable across replays.
    fn derived(&self, purpose: &str) -> Uuid {
        Uuid::new_v5(&self.event.event_id, purpose.as_bytes())
    }
}

/// Runs `command` on `aggregate_id`, deciding again when another writer won the race.
/// Domain errors come back as `Ok(Err(_))`: they are answers, not failures of the process.
async fn execute<T: Aggregate, ES: EventStore<T>>(
    cqrs: &CqrsFramework<T, ES>,
    aggregate_id: &str,
    command: T::Command,
    metadata: HashMap<String, String>,
) -> Result<Result<(), T::Error>, ProjectionError>
where
    T::Command: Clone,
{
    for attempt in 0..CONFLICT_RETRIES {
        match cqrs
            .execute_with_metadata(aggregate_id, command.clone(), metadata.clone())
            .await
        {
            Ok(()) => return Ok(Ok(())),
            Err(AggregateError::UserError(error)) => return Ok(Err(error)),
            Err(AggregateError::AggregateConflict) => {
                tokio::time::sleep(Duration::from_millis(2 + u64::from(attempt) * 3)).await;
            }
            Err(AggregateError::DatabaseConnectionError(error)) => {
                return Err(ProjectionError::Store(StoreError::Unavailable(error)))
            }
            Err(other) => return Err(failed(ProcessError::Rejected(other.to_string()))),
        }
    }
    Err(failed(ProcessError::Contended(CONFLICT_RETRIES)))
}

/// The answer to a move that cannot happen at all (the booking is no longer movable, or the
/// tenant takes no bookings): nothing to offer instead.
fn cannot_move() -> RescheduleOutcome {
    RescheduleOutcome::Unavailable {
        reason: Unavailable::Closed,
        alternatives: vec![],
    }
}

/// [`execute`] for a command the aggregate must accept: a refusal fails the batch.
async fn must<T: Aggregate, ES: EventStore<T>>(
    cqrs: &CqrsFramework<T, ES>,
    aggregate_id: &str,
    command: T::Command,
    metadata: HashMap<String, String>,
) -> Result<(), ProjectionError>
where
    T::Command: Clone,
{
    execute(cqrs, aggregate_id, command, metadata)
        .await?
        .map_err(|error| failed(ProcessError::Rejected(error.to_string())))
}

async fn load<T: Aggregate + Clone, ES: EventStore<T>>(
    store: &ES,
    aggregate_id: &str,
) -> Result<T, ProjectionError> {
    match store.load_aggregate(aggregate_id).await {
        Ok(mut context) => Ok(context.aggregate().clone()),
        Err(AggregateError::DatabaseConnectionError(error)) => {
            Err(ProjectionError::Store(StoreError::Unavailable(error)))
        }
        Err(other) => Err(failed(ProcessError::Rejected(other.to_string()))),
    }
}

impl<C, S, A> BookingProcess<C, S, A>
where
    C: EventStore<Conversation>,
    S: EventStore<Schedule>,
    A: EventStore<Appointment>,
    C::AC: Send,
    S::AC: Send,
    A::AC: Send,
{
    /// Each store comes twice (writer, reader) over the same repository, as cqrs-es's
    /// framework owns the store it writes with.
    pub fn new(
        conversations: C,
        schedules: (S, S),
        appointments: (A, A),
        configs: Arc<dyn TenantConfigs>,
        opener: Arc<dyn PayloadOpener>,
    ) -> Self {
        Self {
            conversations: CqrsFramework::new(conversations, vec![], ()),
            schedules: CqrsFramework::new(schedules.0, vec![], ()),
            schedule_store: schedules.1,
            appointments: CqrsFramework::new(appointments.0, vec![], ()),
            appointment_store: appointments.1,
            configs,
            opener,
        }
    }

    async fn tell(
        &self,
        cause: &Cause<'_>,
        subject: SubjectId,
        command: ConversationCommand,
    ) -> Result<(), ProjectionError> {
        must(
            &self.conversations,
            &subject.to_string(),
            command,
            cause.metadata(),
        )
        .await
    }

    /// Holds `wish` under `hold` on its schedule and returns the schedule's answer.
    async fn reserve(
        &self,
        cause: &Cause<'_>,
        settings: &ValidSettings,
        hold: AppointmentId,
        wish: &Wish,
        replacing: Option<AppointmentId>,
    ) -> Result<Answer, ProjectionError> {
        let schedule = ScheduleId::for_wish(cause.tenant, settings, wish);
        let command = ScheduleCommand::Reserve(Box::new(Reservation {
            schedule,
            appointment_id: hold,
            wish: wish.clone(),
            settings: settings.settings().clone(),
            now: cause.now,
            replacing,
        }));
        must(
            &self.schedules,
            &schedule.aggregate_id(),
            command,
            cause.metadata(),
        )
        .await?;
        let state: Schedule = load(&self.schedule_store, &schedule.aggregate_id()).await?;
        state
            .answer(hold)
            .cloned()
            .ok_or_else(|| failed(ProcessError::NoAnswer))
    }

    async fn release(
        &self,
        cause: &Cause<'_>,
        schedule: &ScheduleId,
        hold: AppointmentId,
    ) -> Result<(), ProjectionError> {
        let command = ScheduleCommand::Release {
            appointment_id: hold,
        };
        must(
            &self.schedules,
            &schedule.aggregate_id(),
            command,
            cause.metadata(),
        )
        .await
    }

    /// The nearest free slots from the wished date on, over the schedules of those dates.
    async fn alternatives(
        &self,
        cause: &Cause<'_>,
        settings: &ValidSettings,
        wish: &Wish,
        ignoring: Option<AppointmentId>,
    ) -> Result<Vec<Slot>, ProjectionError> {
        let mut bookings = Vec::new();
        // The evening before may reach past midnight into the wished date.
        let first = wish.date.yesterday().unwrap_or(wish.date);
        let days = lyo_domain::availability::ALTERNATIVE_DAYS + 1;
        for offset in 0..=days {
            let Ok(date) = first.checked_add(jiff::Span::new().days(offset)) else {
                break;
            };
            let id = ScheduleId::new(cause.tenant, date);
            let state: Schedule = load(&self.schedule_store, &id.aggregate_id()).await?;
            bookings.extend(
                state
                    .held()
                    .filter(|(hold, _, _)| Some(*hold) != ignoring)
                    .map(|(_, _, booking)| booking.clone()),
            );
        }
        Ok(alternatives(
            settings,
            &bookings,
            wish,
            cause.now,
            MAX_ALTERNATIVES,
        ))
    }

    /// The customer confirmed a booking: hold the slot, record the appointment, answer.
    async fn book(
        &self,
        cause: &Cause<'_>,
        config: &TenantConfig,
        subject: SubjectId,
        request: Booked,
    ) -> Result<(), ProjectionError> {
        let context = Box::new(dialogue_context(config));
        let Booked {
            request_id,
            appointment_id,
            wish,
            name,
            notes,
        } = request;
        let Some(settings) = &config.booking else {
            let outcome = BookingOutcome::Unavailable {
                reason: Unavailable::Closed,
                alternatives: vec![],
            };
            return self
                .tell(
                    cause,
                    subject,
                    ConversationCommand::RecordBookingOutcome {
                        request_id,
                        outcome,
                        context,
                    },
                )
                .await;
        };
        let outcome = match self
            .reserve(cause, settings, appointment_id, &wish, None)
            .await?
        {
            Answer::Held { slot, .. } => {
                let request = AppointmentRequest {
                    appointment_id,
                    tenant: cause.tenant,
                    subject: Some(subject),
                    request_id: Some(request_id),
                    slot: slot.clone(),
                    need: wish.need.clone(),
                    name,
                    notes,
                    auto_confirm: config.auto_confirm,
                };
                let command = AppointmentCommand::RequestAppointment(Box::new(request));
                match execute(
                    &self.appointments,
                    &appointment_id.to_string(),
                    command,
                    cause.metadata(),
                )
                .await?
                {
                    Ok(()) => {}
                    // Decided before this replay, perhaps with other settings: keep that.
                    Err(AppointmentError::AlreadyRequested) => {}
                    Err(error) => return Err(failed(ProcessError::Rejected(error.to_string()))),
                }
                // What the appointment says, not today's setting: a replay after a change of
                // `auto_confirm` must answer what was decided.
                let appointment: Appointment =
                    load(&self.appointment_store, &appointment_id.to_string()).await?;
                if appointment.status() != Some(Status::Requested) {
                    BookingOutcome::Confirmed {
                        appointment_id,
                        slot,
                    }
                } else {
                    BookingOutcome::AwaitingStaff {
                        appointment_id,
                        slot,
                    }
                }
            }
            Answer::Refused { reason } => BookingOutcome::Unavailable {
                reason,
                alternatives: self.alternatives(cause, settings, &wish, None).await?,
            },
            // Released before this replay reached it: the booking was made and cancelled.
            Answer::Released => return Ok(()),
        };
        self.tell(
            cause,
            subject,
            ConversationCommand::RecordBookingOutcome {
                request_id,
                outcome,
                context,
            },
        )
        .await
    }

    /// The customer confirmed a cancellation: cancel, free the slot, answer.
    async fn cancel(
        &self,
        cause: &Cause<'_>,
        config: &TenantConfig,
        subject: SubjectId,
        request_id: Uuid,
        appointment_id: AppointmentId,
    ) -> Result<(), ProjectionError> {
        let command = AppointmentCommand::CancelAppointment {
            by: CancelledBy::Customer,
            reason: None,
        };
        let outcome = match execute(
            &self.appointments,
            &appointment_id.to_string(),
            command,
            cause.metadata(),
        )
        .await?
        {
            Ok(()) => {
                self.free(cause, appointment_id).await?;
                CancellationOutcome::Cancelled
            }
            Err(error) => {
                tracing::info!(error = %error, "a cancellation the appointment refused");
                CancellationOutcome::Refused {
                    reason: CancelRefusal::NotActive,
                }
            }
        };
        self.tell(
            cause,
            subject,
            ConversationCommand::RecordCancellationOutcome {
                request_id,
                appointment_id,
                outcome,
                context: Box::new(dialogue_context(config)),
            },
        )
        .await
    }

    /// Releases the slot an appointment holds, if it holds one.
    async fn free(
        &self,
        cause: &Cause<'_>,
        appointment_id: AppointmentId,
    ) -> Result<(), ProjectionError> {
        let appointment: Appointment =
            load(&self.appointment_store, &appointment_id.to_string()).await?;
        if let (Some(schedule), Some(hold)) = (appointment.schedule(), appointment.held_as()) {
            self.release(cause, &schedule, hold).await?;
        }
        Ok(())
    }

    /// The customer asked to move a booking: hold the new slot (replacing the old one on the
    /// same schedule), move the appointment, release the old slot elsewhere, answer.
    async fn reschedule(
        &self,
        cause: &Cause<'_>,
        config: &TenantConfig,
        subject: SubjectId,
        request_id: Uuid,
        appointment_id: AppointmentId,
        wish: Wish,
    ) -> Result<(), ProjectionError> {
        let appointment: Appointment =
            load(&self.appointment_store, &appointment_id.to_string()).await?;
        let hold = AppointmentId::from_uuid(cause.derived("hold"));
        let movable = appointment.status().is_some_and(Status::can_move);
        let (Some(settings), Some(current), Some(old_schedule), true) = (
            &config.booking,
            appointment.held_as(),
            appointment.schedule(),
            movable,
        ) else {
            // A replay may find the appointment changed after this move reserved: give the
            // move's hold back (a no-op when nothing is held under it).
            if let Some(settings) = &config.booking {
                let target = ScheduleId::for_wish(cause.tenant, settings, &wish);
                if appointment.held_as() != Some(hold) {
                    self.release(cause, &target, hold).await?;
                }
            }
            let outcome = cannot_move();
            return self
                .tell(
                    cause,
                    subject,
                    ConversationCommand::RecordRescheduleOutcome {
                        request_id,
                        appointment_id,
                        outcome,
                        context: Box::new(dialogue_context(config)),
                    },
                )
                .await;
        };
        let target = ScheduleId::for_wish(cause.tenant, settings, &wish);
        let same_schedule = target == old_schedule;
        let answer = self
            .reserve(
                cause,
                settings,
                hold,
                &wish,
                same_schedule.then_some(current),
            )
            .await?;
        let outcome = if appointment.has_held(hold) {
            // Recorded before (a replay, perhaps after later moves): only the answer to the
            // conversation may be missing.
            let slot = match &answer {
                Answer::Held { slot, .. } => Some(slot.clone()),
                _ => appointment.slot().cloned(),
            };
            RescheduleOutcome::Moved {
                slot: slot.ok_or_else(|| failed(ProcessError::UnknownAppointment))?,
            }
        } else {
            match answer {
                Answer::Held { slot, .. } => {
                    // Release the old hold before recording the move: a crash in between replays
                    // with the appointment still naming the old hold, so nothing leaks, and the
                    // customer's new slot is held throughout. (On the same schedule the reserve
                    // already released it in the same append.)
                    if !same_schedule {
                        self.release(cause, &old_schedule, current).await?;
                    }
                    let command = AppointmentCommand::RescheduleAppointment {
                        to: slot.clone(),
                        held_as: hold,
                    };
                    match execute(
                        &self.appointments,
                        &appointment_id.to_string(),
                        command,
                        cause.metadata(),
                    )
                    .await?
                    {
                        Ok(()) => RescheduleOutcome::Moved { slot },
                        Err(error) => {
                            // Cancelled meanwhile: give the new hold back.
                            tracing::info!(error = %error, "a move lost to a change of the appointment");
                            self.release(cause, &target, hold).await?;
                            cannot_move()
                        }
                    }
                }
                Answer::Refused { reason } => RescheduleOutcome::Unavailable {
                    reason,
                    alternatives: self
                        .alternatives(cause, settings, &wish, Some(current))
                        .await?,
                },
                // Given back before this replay reached it (the appointment changed meanwhile).
                Answer::Released => cannot_move(),
            }
        };
        self.tell(
            cause,
            subject,
            ConversationCommand::RecordRescheduleOutcome {
                request_id,
                appointment_id,
                outcome,
                context: Box::new(dialogue_context(config)),
            },
        )
        .await
    }

    /// Staff changed an appointment: free its slot when it no longer holds one, and tell the
    /// customer what staff did.
    async fn appointment_changed(
        &self,
        cause: &Cause<'_>,
        config: &TenantConfig,
        appointment_id: AppointmentId,
        event: AppointmentEvent,
    ) -> Result<(), ProjectionError> {
        let change = match event {
            AppointmentEvent::AppointmentConfirmed {
                by: ConfirmedBy::Staff,
            } => Some(AppointmentChange::ConfirmedByStaff),
            AppointmentEvent::AppointmentRejected { reason } => {
                Some(AppointmentChange::RejectedByStaff {
                    reason: reason.as_ref().and_then(Personal::value).cloned(),
                })
            }
            AppointmentEvent::AppointmentCancelled {
                by: CancelledBy::Staff,
                reason,
            } => Some(AppointmentChange::CancelledByStaff {
                reason: reason.as_ref().and_then(Personal::value).cloned(),
            }),
            AppointmentEvent::AppointmentCancelled { .. }
            | AppointmentEvent::AppointmentNoShow {} => None,
            _ => return Ok(()),
        };
        let appointment: Appointment =
            load(&self.appointment_store, &appointment_id.to_string()).await?;
        if appointment.id().is_none() {
            return Err(failed(ProcessError::UnknownAppointment));
        }
        if !appointment.status().is_some_and(|s| s.holds_slot()) {
            if let (Some(schedule), Some(hold)) = (appointment.schedule(), appointment.held_as()) {
                self.release(cause, &schedule, hold).await?;
            }
        }
        match (change, appointment.subject()) {
            (Some(change), Some(subject)) => {
                self.tell(
                    cause,
                    subject,
                    ConversationCommand::NotifyAppointment {
                        appointment_id,
                        change,
                        context: Box::new(dialogue_context(config)),
                    },
                )
                .await
            }
            _ => Ok(()),
        }
    }

    async fn handle(&self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        let interesting = match event.aggregate_type.as_str() {
            "Conversation" => CONVERSATION_EVENTS.contains(&event.event_type.as_str()),
            "Appointment" => matches!(
                event.event_type.as_str(),
                "AppointmentConfirmed"
                    | "AppointmentRejected"
                    | "AppointmentCancelled"
                    | "AppointmentNoShow"
            ),
            _ => false,
        };
        if !interesting {
            return Ok(());
        }
        let metadata = EventMetadata::from_json(&event.metadata).map_err(failed)?;
        let cause = Cause {
            event,
            tenant: metadata.tenant_id,
            correlation_id: metadata.correlation_id,
            now: Timestamp::from_microsecond(event.recorded_at_micros).map_err(failed)?,
        };
        let Some(config) = self
            .configs
            .get(cause.tenant)
            .await
            .map_err(ProjectionError::Store)?
        else {
            // A tenant whose conversation asked for a booking has a configuration: it is not
            // projected here yet. Retry the batch rather than skip the request.
            return Err(ProjectionError::Store(StoreError::Unavailable(Box::new(
                ProcessError::TenantNotProjected,
            ))));
        };
        let mut payload = [event.payload.clone()];
        self.opener
            .open(&mut payload)
            .await
            .map_err(ProjectionError::Store)?;
        let [payload] = payload;
        if event.aggregate_type == "Appointment" {
            let id: AppointmentId = event.aggregate_id.parse().map_err(failed)?;
            let decoded: AppointmentEvent = serde_json::from_value(payload)
                .map_err(|_| failed(ProcessError::Undecodable(event.event_type.clone())))?;
            return self.appointment_changed(&cause, &config, id, decoded).await;
        }
        let subject: SubjectId = event.aggregate_id.parse().map_err(failed)?;
        let decoded = serde_json::from_value(payload)
            .map_err(|_| failed(ProcessError::Undecodable(event.event_type.clone())))?;
        match decoded {
            ConversationEvent::BookingRequested {
                request_id,
                appointment_id,
                wish,
                name,
                notes,
            } => {
                let request = Booked {
                    request_id,
                    appointment_id,
                    wish,
                    name,
                    notes,
                };
                self.book(&cause, &config, subject, request).await
            }
            ConversationEvent::CancellationRequested {
                request_id,
                appointment_id,
            } => {
                self.cancel(&cause, &config, subject, request_id, appointment_id)
                    .await
            }
            ConversationEvent::RescheduleRequested {
                request_id,
                appointment_id,
                wish,
            } => {
                self.reschedule(&cause, &config, subject, request_id, appointment_id, wish)
                    .await
            }
            _ => Ok(()),
        }
    }
}

/// A `BookingRequested`, opened.
struct Booked {
    request_id: Uuid,
    appointment_id: AppointmentId,
    wish: Wish,
    name: Personal<String>,
    notes: Option<Personal<String>>,
}

#[async_trait]
impl<C, S, A> Reaction for BookingProcess<C, S, A>
where
    C: EventStore<Conversation>,
    S: EventStore<Schedule>,
    A: EventStore<Appointment>,
    C::AC: Send,
    S::AC: Send,
    A::AC: Send,
{
    async fn react(&self, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        for event in events {
            self.handle(event).await?;
        }
        Ok(())
    }
}
