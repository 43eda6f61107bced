//! Webhook deliveries as Meta would send them for one customer: the sandbox chat (`lyo chat`),
//! the end-to-end tests and the benchmarks all play customers with it, so they speak exactly
//! the wire format the parser in this module reads.
//!
//! Invariant: every delivery carries a message id unique for this simulated customer (a random
//! prefix and a counter), so separate runs never collide with each other's deliveries.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// `sha256=` + hex HMAC-SHA256 of `body` under `app_secret`: the `X-Hub-Signature-256` value.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One customer writing to one business number.
#[derive(Debug, Clone)]
pub struct SimulatedCustomer {
    pub phone_number_id: String,
    /// The customer's phone number as Meta writes it (digits only).
    pub wa_id: String,
    pub name: String,
    prefix: String,
    sent: u64,
}

/// One delivery ready to post: its message id and the exact body to sign.
#[derive(Debug, Clone)]
pub struct SimulatedDelivery {
    pub message_id: String,
    pub body: Vec<u8>,
}

impl SimulatedCustomer {
    pub fn new(phone_number_id: &str, wa_id: &str, name: &str) -> Self {
        Self {
            phone_number_id: phone_number_id.to_string(),
            wa_id: wa_id.to_string(),
            name: name.to_string(),
            prefix: uuid::Uuid::new_v4().simple().to_string(),
            sent: 0,
        }
    }

    /// A text message sent at `sent_at` (Unix seconds).
    pub fn text(&mut self, body: &str, sent_at: i64) -> SimulatedDelivery {
        self.message(sent_at, json!({ "type": "text", "text": { "body": body } }))
    }

    /// A tap on an interactive reply button.
    pub fn button_reply(&mut self, id: &str, title: &str, sent_at: i64) -> SimulatedDelivery {
        self.message(
            sent_at,
            json!({ "type": "interactive", "interactive": {
                "type": "button_reply", "button_reply": { "id": id, "title": title } } }),
        )
    }

    /// A row chosen from an interactive list.
    pub fn list_reply(&mut self, id: &str, title: &str, sent_at: i64) -> SimulatedDelivery {
        self.message(
            sent_at,
            json!({ "type": "interactive", "interactive": {
                "type": "list_reply", "list_reply": { "id": id, "title": title } } }),
        )
    }

    /// A tap on a template's quick-reply button (reminders).
    pub fn quick_reply(&mut self, payload: &str, text: &str, sent_at: i64) -> SimulatedDelivery {
        self.message(
            sent_at,
            json!({ "type": "button", "button": { "payload": payload, "text": text } }),
        )
    }

    fn message(&mut self, sent_at: i64, content: Value) -> SimulatedDelivery {
        self.sent += 1;
        let message_id = format!("wamid.sim.{}.{}", self.prefix, self.sent);
        let mut message = content;
        message["from"] = json!(self.wa_id);
        message["id"] = json!(message_id);
        message["timestamp"] = json!(sent_at.to_string());
        let value = json!({
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550000000", "phone_number_id": self.phone_number_id },
            "contacts": [{ "profile": { "name": self.name }, "wa_id": self.wa_id }],
            "messages": [message],
        });
        let body = json!({
            "object": "whatsapp_business_account",
            "entry": [{ "id": "0", "changes": [{ "field": "messages", "value": value }] }],
        });
        SimulatedDelivery {
            message_id,
            body: body.to_string().into_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::whatsapp::{parse_delivery, verify_signature};

    #[test]
    fn simulated_deliveries_parse_and_verify() {
        let mut customer = SimulatedCustomer::new("123", "393330000001", "Giulia");
        for delivery in [
            customer.text("ciao", 1_763_800_000),
            customer.button_reply("confirm", "Conferma", 1_763_800_001),
            customer.list_reply("alt:1", "Sab 28/11 20:30", 1_763_800_002),
            customer.quick_reply("reminder:confirm", "Confermo", 1_763_800_003),
        ] {
            let header = sign(b"s", &delivery.body);
            assert!(verify_signature(b"s", Some(&header), &delivery.body).is_ok());
            let parsed = parse_delivery(&delivery.body).unwrap();
            assert_eq!(parsed.messages().count(), 1, "{delivery:?}");
        }
        let a = customer.text("x", 1);
        let b = customer.text("x", 1);
        assert_ne!(a.message_id, b.message_id);
    }
}
