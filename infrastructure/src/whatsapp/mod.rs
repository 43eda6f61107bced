//! The WhatsApp Cloud API webhook, pure part (issue 3): verifying `X-Hub-Signature-256` and
//! normalising Meta's delivery envelopes into typed, storable values.
//!
//! Invariants:
//! - [`verify_signature`] runs over the raw body bytes exactly as received (Meta signs its
//!   `\u`-escaped bytes; re-serialised JSON would not verify) and compares in constant time.
//! - [`parse_delivery`] fails only when the body is not JSON or not an envelope (an object with a
//!   string `object` and an array `entry`). Everything inside is lenient: unknown fields, message
//!   types, status values and extra keys are kept, never an error, so Meta never gets a 4xx for
//!   something it may send.
//! - Nothing here does I/O, reads the clock or logs. Types holding personal data (numbers, names,
//!   texts) print no personal data through `Debug`.
//!
//! What each input maps to, and which HTTP status the handler gives, is in
//! `docs/whatsapp-webhook.md`.

mod contact;
mod content;
mod content_parts;
mod envelope;
mod json;
mod message;
mod shape;
mod signature;
mod simulate;
mod status;

pub use contact::{Contact, CustomerKey, GraphError, IdentityLink};
pub use content::Content;
pub use content_parts::{Location, Media, Order, ProductItem, SharedContact, SharedPhone, System};
pub use envelope::{parse_delivery, Change, Delivery, EnvelopeError};
pub use message::{Context, InboundMessage, Referral, ReferredProduct};
pub use shape::envelope_phone_number_ids;
pub use signature::{verify_signature, SignatureError, SIGNATURE_HEADER};
pub use simulate::{sign, SimulatedCustomer, SimulatedDelivery};
pub use status::{Conversation, Pricing, Status, StatusUpdate};
