//! Customers chatting with a tenant through real, signed webhooks: the end-to-end harness of
//! the dialogue, the booking process manager and (later) the outbound queue.
//!
//! A [`Shop`] is a tenant created through the admin API on an in-process server. A [`Guest`]
//! posts deliveries as Meta would ([`SimulatedCustomer`]); [`Shop::step`] then runs the inbox
//! worker and the booking process manager until nothing is left, so each exchange is
//! deterministic. Replies are read back as the conversation's `ReplyQueued` events, opened.

use crate::{add_tenant, platform, spawn_app, TestDb};
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::EventStore;
use lyo_api::platform::Platform;
use lyo_domain::conversation::{Conversation, ConversationEvent};
use lyo_domain::reply::{Reply, ReplyBody};
use lyo_infrastructure::whatsapp::{sign, SimulatedCustomer, SimulatedDelivery};
use serde_json::Value;

pub const APP_SECRET: &str = "meta-app-secret";
pub const ADMIN: &str = "test-admin-token";

pub struct Shop {
    pub platform: Platform,
    pub base: String,
    pub tenant: String,
    pub phone_number_id: String,
}

/// Unix seconds now: Meta's timestamp of a message sent now.
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

impl Shop {
    /// Creates the tenant `body` (the JSON of `POST /api/v1/tenants`; its first phone number
    /// id routes the guests' deliveries) and serves the app on a loopback port.
    pub async fn open(db: &TestDb, body: Value) -> Shop {
        let platform = platform(
            db,
            &[
                ("WHATSAPP_APP_SECRET", APP_SECRET),
                ("LYO_ADMIN_TOKEN", ADMIN),
            ],
        )
        .await;
        let created = add_tenant(&platform, ADMIN, &body).await;
        crate::project_tenants(&platform).await;
        let base = spawn_app(&platform).await;
        Shop {
            base,
            tenant: created["id"].as_str().expect("an id").to_string(),
            phone_number_id: body["whatsapp"]["phone_number_ids"][0]
                .as_str()
                .expect("a phone number id")
                .to_string(),
            platform,
        }
    }

    pub fn guest(&self, wa_id: &str, name: &str) -> Guest<'_> {
        Guest {
            shop: self,
            customer: SimulatedCustomer::new(&self.phone_number_id, wa_id, name),
            subject: None,
            seen: 0,
        }
    }

    /// Posts one delivery, signed; panics unless Meta would get its 200.
    pub async fn post(&self, delivery: &SimulatedDelivery) {
        post_to(&self.base, delivery).await;
    }

    /// Processes what is pending: inbox deliveries, then the booking process manager's
    /// reactions (which answer through the conversations). Returns once everything it
    /// committed is readable in the log, so that the test's next read sees it.
    pub async fn step(&self) {
        self.platform
            .inbox_worker()
            .drain()
            .await
            .expect("the inbox drains");
        let process = self
            .platform
            .projector(lyo_application::booking::NAME)
            .expect("the booking process");
        self.platform
            .runner(process)
            .catch_up()
            .await
            .expect("the booking process catches up");
        crate::settle_log(self.platform.log.as_ref()).await;
    }

    /// Every stored event of `aggregate_type` named `event_type` (payloads still sealed).
    pub async fn events(&self, aggregate_type: &str, event_type: &str) -> Vec<Value> {
        crate::read_log(self.platform.log.as_ref(), 0)
            .await
            .into_iter()
            .filter(|e| e.aggregate_type == aggregate_type && e.event_type == event_type)
            .map(|e| e.payload)
            .collect()
    }

    /// How many events of `aggregate_type` named `event_type` are stored.
    pub async fn count(&self, aggregate_type: &str, event_type: &str) -> usize {
        self.events(aggregate_type, event_type).await.len()
    }

    pub async fn conversation(&self, subject: &str) -> Vec<ConversationEvent> {
        PersistedEventStore::<_, Conversation>::new_event_store(self.platform.repository.clone())
            .load_events(subject)
            .await
            .expect("the conversation loads")
            .into_iter()
            .map(|e| e.payload)
            .collect()
    }
}

/// Posts one delivery, signed with [`APP_SECRET`], to the server at `base`; panics unless
/// Meta would get its 200.
pub async fn post_to(base: &str, delivery: &SimulatedDelivery) {
    let response = reqwest::Client::new()
        .post(format!("{base}/webhooks/whatsapp"))
        .header(
            "x-hub-signature-256",
            sign(APP_SECRET.as_bytes(), &delivery.body),
        )
        .body(delivery.body.clone())
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 200, "the webhook acknowledges");
}

/// One customer of a [`Shop`].
pub struct Guest<'a> {
    shop: &'a Shop,
    pub customer: SimulatedCustomer,
    /// The conversation (subject id), known after the first message is processed.
    pub subject: Option<String>,
    seen: usize,
}

impl Guest<'_> {
    pub async fn say(&mut self, text: &str) -> Vec<Reply> {
        let delivery = self.customer.text(text, now());
        self.exchange(delivery).await
    }

    /// Taps the reply button `id` of an earlier reply.
    pub async fn tap(&mut self, id: &str) -> Vec<Reply> {
        let delivery = self.customer.button_reply(id, "", now());
        self.exchange(delivery).await
    }

    /// Chooses the list row `id` of an earlier reply.
    pub async fn pick(&mut self, id: &str) -> Vec<Reply> {
        let delivery = self.customer.list_reply(id, "", now());
        self.exchange(delivery).await
    }

    /// Posts without processing: for bursts that one [`Shop::step`] then handles together.
    pub async fn send_tap(&mut self, id: &str) {
        let delivery = self.customer.button_reply(id, "", now());
        self.shop.post(&delivery).await;
    }

    /// Posts a tap to another server on the same database (a `lyo serve` process).
    pub async fn send_tap_to(&mut self, base: &str, id: &str) {
        let delivery = self.customer.button_reply(id, "", now());
        post_to(base, &delivery).await;
    }

    async fn exchange(&mut self, delivery: SimulatedDelivery) -> Vec<Reply> {
        self.shop.post(&delivery).await;
        self.shop.step().await;
        if self.subject.is_none() {
            self.subject = Some(self.find_subject(&delivery.message_id).await);
        }
        self.new_replies().await
    }

    /// Replies queued since the last call.
    pub async fn new_replies(&mut self) -> Vec<Reply> {
        let all = self.replies().await;
        let new = all[self.seen.min(all.len())..].to_vec();
        self.seen = all.len();
        new
    }

    /// Every reply queued to this guest so far.
    pub async fn replies(&self) -> Vec<Reply> {
        let Some(subject) = &self.subject else {
            return Vec::new();
        };
        self.shop
            .conversation(subject)
            .await
            .into_iter()
            .filter_map(|event| match event {
                ConversationEvent::ReplyQueued { reply, .. } => reply.value().cloned(),
                _ => None,
            })
            .collect()
    }

    /// The conversation that recorded `message_id` (after [`Shop::step`], which leaves the log
    /// readable up to what it committed).
    async fn find_subject(&self, message_id: &str) -> String {
        crate::read_log(self.shop.platform.log.as_ref(), 0)
            .await
            .into_iter()
            .find(|e| {
                e.event_type == "MessageReceived"
                    && e.payload["MessageReceived"]["message_id"] == message_id
            })
            .map(|e| e.aggregate_id)
            .expect("the message was recorded on a conversation")
    }
}

/// The text of a reply, whatever its shape.
pub fn text(reply: &Reply) -> &str {
    reply.body.summary()
}

/// The ids of a reply's buttons or list rows.
pub fn choices(reply: &Reply) -> Vec<String> {
    match &reply.body {
        ReplyBody::Buttons { buttons, .. } => buttons.iter().map(|b| b.id.clone()).collect(),
        ReplyBody::List { sections, .. } => sections
            .iter()
            .flat_map(|s| s.rows.iter().map(|r| r.id.clone()))
            .collect(),
        _ => Vec::new(),
    }
}

/// The titles of a reply's buttons or list rows.
pub fn titles(reply: &Reply) -> Vec<String> {
    match &reply.body {
        ReplyBody::Buttons { buttons, .. } => buttons.iter().map(|b| b.title.clone()).collect(),
        ReplyBody::List { sections, .. } => sections
            .iter()
            .flat_map(|s| s.rows.iter().map(|r| r.title.clone()))
            .collect(),
        _ => Vec::new(),
    }
}
